"""Playground: pick a 2-D dataset and a network in the sidebar, press Play, watch it learn."""

import streamlit as st

from nncore.train.trainer import Trainer
from ui.panels import lessons as lesson_panels, common as panels
from ui.session import live, state
from ui.controls import model_io, tables
from ui.controls.sidebar import PLAYGROUND, training_sidebar
from ui.panels.time_travel import time_travel

session = state.run_session("playground")
# the sidebar shows any problem; its training settings steer the run by themselves (live.steer)
cfg, _ = training_sidebar(PLAYGROUND, apply=lambda c: live.steer(session, c))
live.sync(session, cfg, lambda c: Trainer(c, tables.dataset_for(c)))

st.title("Playground")
st.caption("A real network trains on 2-D data while you watch. Settings are in the sidebar; learning rate and "
           "other training settings apply mid-run, data or network changes start a new run.")
speed = live.controls(session, key="pg")
model_io.model_files(session, PLAYGROUND, key="pg.model")


def draw(snap, trainer):
    panels.status_line(snap, trainer.engine_label, session.playing)
    panels.live_view(session, snap, trainer.engine, trainer.dataset, "pg.live", editable=True,
                     version=trainer.edits, limits=(PLAYGROUND.max_layers, PLAYGROUND.max_width),
                     engine_label=trainer.engine_label)


def explain(snap, trainer):
    lesson_panels.diagnostics(trainer, snap)
    time_travel(session, trainer, key="pg.travel")


live.run_fragment(session, speed, draw, slow_draw=explain)
