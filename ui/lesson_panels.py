"""Panels for lessons and diagnostics: plain-language callouts, variant comparisons, loading a variant into
the Playground."""

from __future__ import annotations

import altair as alt
import numpy as np
import streamlit as st

from nncore.diagnostics import Finding, diagnose
from nncore.errors import ConfigError

from . import panels
from .sidebar import PLAYGROUND, check_hidden, load_config

ICONS = {"info": "ℹ️", "warning": "⚠️", "problem": "🛑"}


def callouts(findings: list[Finding], empty: str = "") -> None:
    """Each finding as a callout: what was measured, what to try, and which chart shows it."""
    if not findings and empty:
        st.caption(empty)
    for f in findings:
        box = {"info": st.info, "warning": st.warning, "problem": st.error}[f.severity]
        box(f"**{f.title}** — {f.detail}  \n**Try:** {f.fix}  \n*See the {f.chart} chart.*", icon=ICONS[f.severity])


def diagnostics(trainer, snap) -> None:
    """The live run's diagnostics (computed from the run itself, a few hundred samples)."""
    st.markdown("**Diagnostics**")
    callouts(diagnose(trainer, snapshot=snap), empty="Nothing unusual so far: no dead or saturated units, "
                                                    "gradients and learning rate look healthy.")


def compare_chart(results: dict, metric: str, title: str, log_y: bool = False) -> dict:
    """One curve per variant of ``metric`` (e.g. "val_loss") against epochs."""
    rows = []
    for name, r in results.items():
        history = r.snapshot.history
        for epoch, value in zip(history["epoch"], history[metric]):
            if np.isfinite(value) and (value > 0 or not log_y):
                rows.append({"epoch": float(epoch), "variant": name, "value": float(value)})
    scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    return alt.Chart(alt.Data(values=rows)).mark_line().encode(
        x="epoch:Q", y=alt.Y("value:Q", scale=scale, title=title), color="variant:N",
        tooltip=["variant:N", "epoch:Q", alt.Tooltip("value:Q", format=".4f")]).properties(
        title=title, height=240).to_dict()


def playground_fit(cfg, transform) -> str:
    """Why a lesson variant cannot be opened in the Playground ("" when it can)."""
    if transform:
        return "uses specially scaled inputs that only this page builds"
    try:
        check_hidden(cfg.model.hidden, PLAYGROUND.max_layers, PLAYGROUND.max_width)
    except ConfigError as e:
        return str(e)
    return ""


def variant(name: str, result, transform, key: str) -> None:
    st.markdown(f"**{name}**")
    snap, trainer = result.snapshot, result.trainer
    st.caption(panels.status_text(snap, trainer.dataset.task, trainer.engine_label, playing=False))
    if snap.grid is not None:
        panels.boundary(snap, trainer.dataset)
    callouts(diagnose(trainer, snapshot=snap))
    reason = playground_fit(trainer.cfg, transform)
    if st.button("Open in Playground", key=f"{key}.open", disabled=bool(reason), help=reason or None):
        load_config(PLAYGROUND, trainer.cfg)
        st.switch_page("pages/playground.py")
