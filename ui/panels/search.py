"""Search page helpers: the search-space form, the search's session and its slices of training (through the
server's training gate), and the charts of a running study."""

from __future__ import annotations

from dataclasses import dataclass, field

import altair as alt
import streamlit as st

from nncore import registry, settings
from nncore.config import RunConfig
from nncore.errors import ConfigError
from nncore.search.space import KNOBS, SearchSpace, config_from_params
from nncore.search.study import SteppedSearch

from ui.session import gate, live, state
from ui.safe import server_text

FRAME_SECONDS = 0.5   # the search's progress refreshes this often while it runs
SLICE_SECONDS = 0.3   # training per refresh (shorter when the server is busy, as for every run)


@dataclass
class SearchSession(state.LiveState):
    """This browser session's search: the study under way, its share of the server's training time (the live
    loop keeps its flags), and the training time it was given."""

    search: SteppedSearch | None = None
    seconds: float = 0.0             # the training time it was given, in seconds
    error: str = ""                  # why it could not start
    charts: dict = field(default_factory=dict)  # the study's charts, redrawn when a trial ends

    def close(self) -> None:
        """A closed tab: the search stops now (its trial under way is set aside); the study stays resumable."""
        if self.search is None:
            return
        if not self.search.finished:
            self.search.stop("stopped: its browser tab was closed")
        self.search, self.playing = None, False
        self.notice = "The connection was lost, so the search was stopped; pick its study to resume it."


def search_session() -> SearchSession:
    return state.space().setdefault("search", SearchSession())


def stop(session: SearchSession, note: str = "stopped by the Stop button") -> None:
    """End the search now (its trial under way is set aside) and give the training slot back."""
    if session.search is not None and not session.search.finished:
        session.search.stop(note)
    live.pause(session)


def start(session: SearchSession, base: RunConfig, space: SearchSpace, *, trials: int, minutes: float,
          study: str | None, **settings) -> None:
    """Start (or resume, when ``study`` names a stored one) a search of ``trials`` more trials, within this
    server's limits; a message in ``session.error`` says why not."""
    stop(session)
    session.error, session.notice, session.charts = "", "", {}
    try:
        widest = {k: max(v) for k, v in (("depth", space.depth), ("width", space.width)) if v}
        gate.check(config_from_params(base, widest))  # every trial within NNPLAY_* limits, before any data
        gate.check(base)
        search = SteppedSearch(base, space, n_trials=1, study_name=study, **settings)
        search.run_more(trials)
    except ConfigError as e:
        session.error = f"The search cannot start: {server_text(e)}"
        return
    session.search = search
    session.trained_seconds, session.seconds = 0.0, minutes * 60
    live.play(session)


def search_work(session: SearchSession) -> live.Work:
    """The search as the live loop's work: each frame trains a slice of the trial under way (starting trials as
    needed), within the search's own minutes and the server's time for one run."""

    def within_minutes():
        if session.playing and session.search is not None and session.trained_seconds >= session.seconds:
            stop(session, "stopped: the search used its minutes")
            session.notice = (f"The search used its {session.seconds / 60:g} minutes of training: resume the study "
                              "to search on.")

    def slice_seconds(busy):  # a busier server gives every training a shorter slice
        return FRAME_SECONDS, SLICE_SECONDS * live.pace(busy)[1] / live.TRAIN_SLICE_SECONDS

    def advance(steps, seconds):
        return session.search.advance(min(seconds, session.seconds - session.trained_seconds))

    return live.Work(advance=advance, still=lambda: None,
                     running=lambda: session.search is not None and not session.search.finished,
                     what="search", restart="resume the study to search on", pace=slice_seconds,
                     before=within_minutes,  # out of the server's time: the trial under way is set aside
                     time_up=lambda: stop(session, "stopped: the search used the server's time for one run"))


# The searchable knobs' labels: a config setting's is the settings table's; depth and width make up "hidden".
KNOB_LABELS = {k: settings.label(k) if k in settings.SETTINGS else {"depth": "Depth (hidden layers)",
                                                                    "width": "Width"}[k] for k in KNOBS}


def range_steps(knob: str) -> list:
    """The values a search range of ``knob`` may start and end at (or, for batch sizes, pick from): the settings
    table's listed values, the positive ones (a log range cannot start at 0), the same the Playground offers."""
    return [v for v in settings.get(knob).options if v > 0]


def space_form() -> SearchSpace:
    """Widgets for which knobs to search and their ranges; returns the SearchSpace (may raise ConfigError)."""
    chosen = st.multiselect("Settings to search", list(KNOB_LABELS), ["learning_rate", "depth", "width", "activation"],
                            format_func=KNOB_LABELS.get, key="search.knobs")
    values = {k: None for k in KNOB_LABELS}
    columns = st.columns(3)
    most_layers, widest = settings.layer_bounds(images=False)  # this server's NNPLAY_* limits, read now
    widths = [2 ** i for i in range(1, 13) if 2 ** i <= widest]
    widgets = {
        "learning_rate": lambda: st.select_slider("Learning rate range", range_steps("learning_rate"), (1e-3, 0.3),
                                                    key="search.lr"),
        "depth": lambda: st.slider("Depth range", 0, most_layers, (1, min(3, most_layers)), key="search.depth"),
        "width": lambda: tuple(st.multiselect("Widths", widths, [w for w in (4, 8, 16, 32) if w in widths],
                                              key="search.width")),
        "activation": lambda: tuple(st.multiselect("Activations", list(registry.ACTIVATIONS), ["relu", "tanh"],
                                                   key="search.activation")),
        "optimizer": lambda: tuple(st.multiselect("Optimizers", list(registry.OPTIMIZERS), ["adam", "momentum"],
                                                  key="search.optimizer")),
        "l2": lambda: st.select_slider("L2 range", range_steps("l2"), (1e-5, 0.01), key="search.l2"),
        "dropout": lambda: st.slider("Dropout range", *settings.widget_bounds("dropout"), (0.0, 0.3),
                                     key="search.dropout"),
        "batch_size": lambda: tuple(st.multiselect("Batch sizes", range_steps("batch_size"), [16, 32, 64],
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
