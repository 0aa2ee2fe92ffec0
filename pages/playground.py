"""Playground: pick a 2-D dataset and a network in the sidebar, press Play, watch it learn."""

import streamlit as st

from nncore.training import Trainer
from ui import live, panels, state
from ui.sidebar import PLAYGROUND, training_sidebar

session = state.run_session("playground")
cfg, error = training_sidebar(PLAYGROUND)
if error:
    st.sidebar.error(error)
live.sync(session, cfg, Trainer)

st.title("Playground")
st.caption("A real network trains on 2-D data while you watch. Settings are in the sidebar; learning rate and "
           "other training settings apply mid-run, data or network changes start a new run.")
speed = live.controls(session, key="pg")


def draw(snap, trainer):
    task = trainer.dataset.task
    panels.status_line(snap, task, trainer.engine.name, session.playing)
    left, right = st.columns([1, 1])
    with left:
        panels.boundary(snap, trainer.dataset, key="pg.boundary")
    with right:
        panels.curves(snap, task, key="pg.curves")
    panels.internals(snap, key="pg.internals")


live.run_fragment(session, speed, draw)
