"""From scratch: the Playground's current network taken apart: one sample forward and backward with the
equations, a finite-difference gradient check, and the same step taken by both engines."""

import numpy as np
import streamlit as st

from nncore.errors import ConfigError
from nncore.engines.numpy_gradcheck import gradcheck
from nncore.engines.numpy_walkthrough import explain_sample, step_both_engines
from ui.panels import scratch as scratch_panels
from ui.session import state
from ui.safe import plain

st.title("From scratch")
st.caption("Backpropagation by hand, on the network the Playground is training right now: the NumPy engine's "
           "numbers for one sample, checked against finite differences and against PyTorch.")
trainer = state.run_session("playground").trainer
if trainer is None:
    st.info("Start a run on the Playground first; this page takes that network apart.")
    st.stop()
cfg, ds = trainer.cfg, trainer.dataset
params = trainer.engine.get_params()
st.markdown(f"Network **{cfg.model.describe(ds)}**, activation **{cfg.model.activation}**, "
            f"loss **{trainer.engine.loss_name}**, step **{trainer.step}** of the Playground's run "
            f"(engine {trainer.engine.name}). Float64, eval mode (dropout off, batch norm with running statistics).")

index = int(st.number_input("Training sample #", 0, len(ds.y_train) - 1, 0, key="scratch.sample"))
x, label = ds.unscale(ds.X_train[index:index + 1])[0], ds.y_train[index]
target = ds.class_names[int(label)] if ds.task != "regression" else f"{label:.3f}"
st.markdown(f"Input x = ({', '.join(f'{v:.3f}' for v in x)}), target **{plain(target)}**")
try:
    layers = explain_sample(cfg, ds, params, index)
except ConfigError as e:
    st.warning(str(e))
    st.stop()

results = state.space().setdefault("scratch", {})  # results of this network at this step only
moment = (id(trainer), trainer.step)
tab_pass, tab_check, tab_engines = st.tabs(["Forward and backward", "Check gradients", "Torch vs NumPy step"])
with tab_pass:
    for i, (name, layer) in enumerate(zip(trainer.engine.layer_names, layers)):
        scratch_panels.layer_walkthrough(name, layer, i == len(layers) - 1, ds.task, cfg.model.activation,
                                         key=f"scratch.{i}")
with tab_check:
    st.markdown("Central differences of the total loss (data loss + L1/L2) along random directions of every "
                "parameter tensor, against the hand-written backward pass. Passes below 1e-6 relative error.")
    if st.button("Check gradients", type="primary", key="scratch.check"):
        with st.spinner("Checking every layer…"):
            results["gradcheck"] = (moment, gradcheck(cfg, ds, params=params))
    if results.get("gradcheck", (None,))[0] == moment:
        scratch_panels.gradcheck_result(results["gradcheck"][1])
with tab_engines:
    st.markdown("Both engines start from the same weights and take one optimizer step "
                f"({cfg.train.optimizer}, lr {cfg.train.learning_rate:g}) on the same batch of "
                f"{min(cfg.train.batch_size, len(ds.y_train))} training samples.")
    if st.button("Take the step in both engines", key="scratch.step"):
        batch = np.arange(min(cfg.train.batch_size, len(ds.y_train)))
        results["engines"] = (moment, step_both_engines(cfg, ds, params, batch))
    if results.get("engines", (None,))[0] == moment:
        scratch_panels.engines_step_result(results["engines"][1])
