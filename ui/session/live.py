"""Live training on a page: keep the run in step with the sidebar, the Play/Pause/Step/Reset controls, and
the fragment that trains a slice and draws a frame while playing.

Buttons only flip flags (``on_click``); the fragment re-runs every FRAME_SECONDS while playing, trains for a
time slice (or a number of steps), takes one snapshot and hands it to the page's ``draw`` function.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import streamlit as st

from nncore.config import RunConfig
from nncore.errors import ConfigError
from nncore.limits import training_slots
from nncore.train.trainer import Snapshot, Trainer

from ui.session import gate, state
from ui.controls.sidebar import changed_fields
from ui.safe import server_text
from ui.session.state import RunSession

# Speed: optimizer steps per frame, or "max" = as many as fit in a time slice.
SPEEDS = {"1 step": 1, "10 steps": 10, "100 steps": 100, "max": None}
FRAME_SECONDS = 0.05        # a new frame every 0.05 s while playing (20 frames/s; the browser eases between them)
SLOW_FRAME_SECONDS = 2.0    # heavier views (per-epoch evaluations) refresh at this pace while playing
TRAIN_SLICE_SECONDS = 0.035  # training time per frame at "max", leaving the rest for building and sending it
FULL_RUN_SLICE_SECONDS = 0.01  # training in a whole-page run (a click or a setting changed): the answer comes first
CORES = os.cpu_count() or 1


def pace(active: int, cores: int = CORES) -> tuple[float, float]:
    """(seconds between frames, training seconds per frame) for a session while ``active`` sessions train on
    this server. Up to one training per core runs at full pace; beyond that (``share`` sessions per core) every
    session's frames come ``share`` times less often and train for a slice ``share``² times shorter: the
    server's work per second then falls as sessions are added, leaving room for what users wait on (frames
    and the answers to their clicks) rather than for more training steps. Measured with four Chromium tabs
    and the server on 2 cores: slices only ``share`` times shorter kept the machine 96% busy and let the
    slowest clicks take over a second."""
    share = max(1, math.ceil(active / max(cores, 1)))
    return FRAME_SECONDS * share, TRAIN_SLICE_SECONDS / share ** 2


def sync(session: RunSession, cfg: RunConfig | None, make_trainer: Callable[[RunConfig], Trainer]) -> None:
    """Bring the run in line with the sidebar: start one, reset it (data or network changed, and say so), or
    pass new training settings to it mid-run. ``cfg`` None (invalid settings) keeps the run as it is."""
    if cfg is None:
        return
    trainer = session.trainer
    if trainer is None:
        _start(session, cfg, make_trainer, "")
        return
    changed = changed_fields(trainer.cfg.data, cfg.data) + changed_fields(trainer.cfg.model, cfg.model)
    if changed:
        _start(session, cfg, make_trainer, f"{', '.join(changed)} changed: the run was reset (new data or network).")
    elif cfg.train != trainer.cfg.train:
        try:
            gate.check(cfg, trainer.dataset)  # e.g. Epochs raised mid-run beyond NNPLAY_MAX_EPOCHS
            trainer.update_train(cfg.train)
        except ConfigError as e:
            st.sidebar.error(server_text(e))


def _start(session: RunSession, cfg: RunConfig, make_trainer, notice: str) -> None:
    try:
        gate.check(cfg)  # this server's limits (NNPLAY_* variables), before any data is generated
        trainer = make_trainer(cfg)
        gate.check(cfg, trainer.dataset)
    except ConfigError as e:  # e.g. a model the chosen engine cannot train, or a dataset that cannot load
        st.error(server_text(e))
        return
    state.archive_run(session.page, session.trainer)  # the replaced run stays comparable
    session.trainer = trainer
    session.trained_seconds = 0.0
    session.notice = session.event_notice or notice or session.notice  # keep a message about why it was reset
    session.event_notice = ""
    session.cache.clear()


def controls(session: RunSession, key: str) -> str:
    """Play / Pause / Step / Reset and the speed control; returns the chosen speed."""

    def play():
        session.playing = True
        session.notice = ""

    def pause():
        session.playing = False
        training_slots().release(state.session_id())

    def step():
        session.playing = False
        session.trainer.run(steps=1)

    def reset():
        session.playing = False
        training_slots().release(state.session_id())
        state.archive_run(session.page, session.trainer)
        session.trained_seconds = 0.0
        session.trainer = Trainer(session.trainer.cfg, session.trainer.dataset)
        session.notice = ""
        session.cache.clear()

    missing = session.trainer is None
    play_col, pause_col, step_col, reset_col, speed_col = st.columns([1, 1, 1, 1, 3], vertical_alignment="bottom")
    play_col.button("Play", on_click=play, type="primary", disabled=missing, width="stretch", key=f"{key}.play")
    pause_col.button("Pause", on_click=pause, width="stretch", key=f"{key}.pause")
    step_col.button("Step", on_click=step, disabled=missing, width="stretch", key=f"{key}.step",
                    help="one optimizer step on one mini-batch")
    reset_col.button("Reset", on_click=reset, disabled=missing, width="stretch", key=f"{key}.reset",
                     help="start the same run again from its initial weights")
    speed = speed_col.select_slider("Speed (steps per frame)", list(SPEEDS), "max", key=f"{key}.speed",
                                    persist_state="session")
    notice = st.container()  # always there, so a message does not move the live view (which would remount it)
    if session.notice:
        notice.info(session.notice)
    return speed


def run_fragment(session: RunSession, speed: str, draw: Callable[[Snapshot, Trainer], None],
                 slow_draw: Callable[[Snapshot, Trainer], None] | None = None) -> None:
    """Train one slice per timer tick while playing, then ``draw(snapshot, trainer)``. ``slow_draw`` (if any)
    draws below it in its own fragment at a slower pace, from the latest snapshot."""

    def frame():
        if session.app_rerun:  # an event of the live view changed the page's settings (network, inputs, data)
            session.app_rerun = False
            st.rerun()
        trainer = session.trainer
        if trainer is None:
            st.warning("Fix the settings in the sidebar to start.")
            return
        full_run, session.full_run = session.full_run, False
        if session.playing and trainer.running and gate.may_train(session):
            steps = SPEEDS[speed]
            _, train_slice = pace(training_slots().busy)
            if full_run:  # the page was redrawn for a click: answer it quickly, the next tick trains in full
                train_slice = min(train_slice, FULL_RUN_SLICE_SECONDS)
            started = time.perf_counter()
            snap = trainer.run(steps=steps) if steps else trainer.run(seconds=train_slice)
            session.trained_seconds += time.perf_counter() - started
        else:
            snap = trainer.snapshot()
        session.snapshot = snap
        draw(snap, trainer)
        if not session.playing or not trainer.running:
            training_slots().release(state.session_id())
        if session.playing and not trainer.running:  # finished, diverged or stopped early: stop the timer
            session.playing = False
            st.rerun()
        if session.playing and pace(training_slots().busy)[0] != session.frame_seconds:
            st.rerun()  # the server got busier or quieter: start the timer again at the new pace

    session.frame_seconds = pace(training_slots().busy)[0] if session.playing else None
    session.full_run = True  # this call runs the fragment inline, as part of the whole page's run
    st.fragment(frame, run_every=session.frame_seconds)()
    if slow_draw is None:
        return

    def slow_frame():
        if session.trainer is not None and session.snapshot is not None:
            slow_draw(session.snapshot, session.trainer)

    # the slower views slow down with the frames when the server is busy (each refresh redraws the page)
    slow_seconds = SLOW_FRAME_SECONDS * session.frame_seconds / FRAME_SECONDS if session.playing else None
    st.fragment(slow_frame, run_every=slow_seconds)()

