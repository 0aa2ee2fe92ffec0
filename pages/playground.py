"""Playground: pick a 2-D dataset and a network in the sidebar, press Play, watch it learn."""

import streamlit as st

from nncore.training import Trainer
from ui import panels, state
from ui.sidebar import changed_fields, playground_sidebar

# Speed: optimizer steps per frame, or "max" = as many as fit in a time slice.
SPEEDS = {"1 step": 1, "10 steps": 10, "100 steps": 100, "max": None}
FRAME_SECONDS = 0.25      # a new frame every 0.25 s while playing (>= 4 frames/s)
TRAIN_SLICE_SECONDS = 0.12  # training time per frame at "max", leaving the rest for drawing

session = state.playground()
cfg, error = playground_sidebar()
if error:
    st.sidebar.error(error)
    cfg = session.trainer.cfg if session.trainer else None


def _reset(reason: str = "") -> None:
    session.trainer = Trainer(cfg)
    session.notice = reason


if cfg is not None:
    if session.trainer is None:
        _reset()
    else:
        old = session.trainer.cfg
        changed = changed_fields(old.data, cfg.data) + changed_fields(old.model, cfg.model)
        if changed:
            _reset(f"{', '.join(changed)} changed: the run was reset (new data or network).")
        elif cfg.train != old.train:
            session.trainer.update_train(cfg.train)


def _play():
    session.playing = True
    session.notice = ""


def _pause():
    session.playing = False


def _step():
    session.playing = False
    session.trainer.run(steps=1)


def _reset_clicked():
    session.playing = False
    session.trainer = Trainer(session.trainer.cfg)
    session.notice = ""


st.title("Playground")
st.caption("A real network trains on 2-D data while you watch. Settings are in the sidebar; learning rate and "
           "other training settings apply mid-run, data or network changes start a new run.")
play, pause, step, reset, speed = st.columns([1, 1, 1, 1, 3], vertical_alignment="bottom")
play.button("Play", on_click=_play, type="primary", disabled=session.trainer is None, width="stretch")
pause.button("Pause", on_click=_pause, width="stretch")
step.button("Step", on_click=_step, disabled=session.trainer is None, width="stretch",
            help="one optimizer step on one mini-batch")
reset.button("Reset", on_click=_reset_clicked, disabled=session.trainer is None, width="stretch")
speed_choice = speed.select_slider("Speed (steps per frame)", list(SPEEDS), "max", key="pg.speed",
                                   persist_state="session")
if session.notice:
    st.info(session.notice)


def live() -> None:
    trainer = session.trainer
    if trainer is None:
        st.warning("Fix the settings in the sidebar to start.")
        return
    if session.playing and trainer.running:
        steps = SPEEDS[speed_choice]
        snap = trainer.run(steps=steps) if steps else trainer.run(seconds=TRAIN_SLICE_SECONDS)
    else:
        snap = trainer.snapshot()
    session.snapshot = snap
    task = trainer.dataset.task
    panels.status_line(snap, task, trainer.engine.name, session.playing)
    left, right = st.columns([1, 1])
    with left:
        panels.boundary(snap, trainer.dataset, key="pg.boundary")
    with right:
        panels.curves(snap, task, key="pg.curves")
    panels.internals(snap, key="pg.internals")
    if session.playing and not trainer.running:  # finished, diverged or stopped early: stop the timer
        session.playing = False
        st.rerun()


st.fragment(live, run_every=FRAME_SECONDS if session.playing else None)()
