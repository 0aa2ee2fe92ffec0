"""Panels for lessons and diagnostics: plain-language callouts, variant comparisons, loading a variant into
the Playground."""

from __future__ import annotations

import altair as alt
import numpy as np
import streamlit as st

from nncore.inspect.diagnostics import Finding, diagnose
from nncore.errors import ConfigError
from nncore.inspect.grid import has_plane
from nncore.lessons.catalog import RunResult, final_metrics, make_lesson_dataset
from nncore.train.trainer import Trainer

from ui.session import gate, live
from ui.session.state import LiveState
from ui.panels import common as panels
from ui.safe import server_text
from ui.controls.sidebar import PLAYGROUND, check_hidden, load_config

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
    st.caption(panels.status_text(snap, trainer.engine_label, playing=False))
    if has_plane(trainer.dataset):
        panels.view(f"{key}.view", snap, trainer.engine, trainer.dataset, panels=("diagram", "boundary"))
    callouts(diagnose(trainer, snapshot=snap))
    reason = playground_fit(trainer.cfg, transform)
    if st.button("Open in Playground", key=f"{key}.open", disabled=bool(reason), help=reason or None):
        load_config(PLAYGROUND, trainer.cfg)
        st.switch_page("app_pages/playground.py")


LESSON_SLICE_SECONDS = 0.25  # training between progress updates while a lesson runs


def run_lesson(lesson) -> dict[str, RunResult] | None:
    """Train the lesson's variants through the server's gate, one slice of the live loop at a time: their
    settings within its limits, one training slot, and NNPLAY_MAX_RUN_SECONDS for all variants together.
    Returns the results, or None with the reason shown (the settings, a full server, or the time limit). The
    lesson trains within the click that asked for it, with a progress bar, so it needs no frame timer."""
    try:
        for cfg in lesson.configs.values():
            gate.check(cfg)
    except ConfigError as e:
        st.error(f"This lesson cannot run on this server: {server_text(e)}")
        return None
    session = LiveState(playing=True)  # the lesson's training as the gate sees it
    if not gate.may_train(session, "lesson"):
        st.caption("Press Run the lesson again in a moment.")
        return None
    bar = st.progress(0.0, text="starting…")
    results = {}
    try:
        for i, (name, cfg) in enumerate(lesson.configs.items()):
            trainer = Trainer(cfg, dataset=make_lesson_dataset(cfg, lesson.dataset_transform))
            gate.check(cfg, trainer.dataset)
            snap = trainer.snapshot()
            while trainer.running:
                bar.progress((i + min(trainer.epoch / cfg.train.epochs, 1.0)) / len(lesson.configs),
                             text=f"training {name}…")
                left = gate.limits().max_run_seconds - session.trained_seconds
                trained, frame = live.train_slice(session, lambda _, seconds: trainer.run(seconds=seconds),
                                                  seconds=min(LESSON_SLICE_SECONDS, left), what="lesson",
                                                  restart="it stopped before its variants finished")
                if not trained:
                    st.error(session.notice)
                    return None
                snap = frame
            results[name] = RunResult(trainer, snap, final_metrics(trainer))
    except ConfigError as e:
        st.error(f"This lesson cannot run on this server: {server_text(e)}")
        return None
    finally:
        gate.release()
    bar.progress(1.0, text="done")
    return results
