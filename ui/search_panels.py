"""Search page helpers: the search-space form, and the charts of a running study."""

from __future__ import annotations

import altair as alt
import streamlit as st

from nncore import registry
from nncore.search import SearchSpace

KNOB_LABELS = {"learning_rate": "Learning rate", "depth": "Depth (hidden layers)", "width": "Width",
               "activation": "Activation", "optimizer": "Optimizer", "l2": "L2", "dropout": "Dropout",
               "batch_size": "Batch size", "init": "Initialization"}
LOG_STEPS = [1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]


def space_form() -> SearchSpace:
    """Widgets for which knobs to search and their ranges; returns the SearchSpace (may raise ConfigError)."""
    chosen = st.multiselect("Settings to search", list(KNOB_LABELS), ["learning_rate", "depth", "width", "activation"],
                            format_func=KNOB_LABELS.get, key="search.knobs")
    values = {k: None for k in KNOB_LABELS}
    columns = st.columns(3)
    widgets = {
        "learning_rate": lambda: st.select_slider("Learning rate range", LOG_STEPS, (1e-3, 0.3), key="search.lr"),
        "depth": lambda: st.slider("Depth range", 0, 6, (1, 3), key="search.depth"),
        "width": lambda: tuple(st.multiselect("Widths", [2, 4, 8, 16, 32, 64], [4, 8, 16, 32], key="search.width")),
        "activation": lambda: tuple(st.multiselect("Activations", list(registry.ACTIVATIONS), ["relu", "tanh"],
                                                   key="search.activation")),
        "optimizer": lambda: tuple(st.multiselect("Optimizers", list(registry.OPTIMIZERS), ["adam", "momentum"],
                                                  key="search.optimizer")),
        "l2": lambda: st.select_slider("L2 range", LOG_STEPS, (1e-6, 0.01), key="search.l2"),
        "dropout": lambda: st.slider("Dropout range", 0.0, 0.8, (0.0, 0.3), key="search.dropout"),
        "batch_size": lambda: tuple(st.multiselect("Batch sizes", [8, 16, 32, 64, 128, 256], [16, 32, 64],
                                                   key="search.batch_size")),
        "init": lambda: tuple(st.multiselect("Initializations", list(registry.INITIALIZERS),
                                             ["xavier_uniform", "he_uniform"], key="search.init")),
    }
    for i, knob in enumerate(chosen):
        with columns[i % 3]:
            values[knob] = widgets[knob]()
    return SearchSpace(**values)


def history_chart(rows: list[dict]) -> dict:
    points = alt.Chart(alt.Data(values=rows)).mark_circle(size=50).encode(
        x=alt.X("trial:Q"), y=alt.Y("value:Q", title="validation score", scale=alt.Scale(zero=False)),
        tooltip=["trial:Q", alt.Tooltip("value:Q", format=".4f")])
    best = alt.Chart(alt.Data(values=rows)).mark_line(interpolate="step-after", color="#e15759").encode(
        x="trial:Q", y="best:Q")
    return (points + best).properties(title="Optimization history (red: best so far)", height=260).to_dict()


def importance_chart(rows: list[dict]) -> dict:
    return alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=alt.X("importance:Q", title="share of the score's variance (fANOVA)"),
        y=alt.Y("param:N", sort="-x", title=None), tooltip=["param:N", alt.Tooltip("importance:Q", format=".2f")],
    ).properties(title="Parameter importance", height=260).to_dict()
