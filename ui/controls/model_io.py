"""Model files on every training page: save the run as a checkpoint, export it (ONNX, a runnable PyTorch
script), or load a checkpoint to evaluate it or train on. Checkpoints are safetensors with a JSON header: a
file can carry weights and settings, never code."""

from __future__ import annotations

import dataclasses

import streamlit as st

from nncore.io.checkpoint import check_compatible, load_checkpoint, save_checkpoint, trainer_from_checkpoint
from nncore.errors import ConfigError
from nncore.io.export import FILES, export_from_trainer

from ui.session import gate, state
from ui.safe import plain, server_text
from ui.controls.sidebar import SidebarSpec, fit_config, load_config
from ui.session.state import RunSession


def model_files(session: RunSession, spec: SidebarSpec, key: str) -> None:
    """The "Model file" expander of a training page."""
    with st.expander("Model file: save, export, or load a checkpoint"):
        trainer = session.trainer
        if trainer is None:
            st.caption("No run yet.")
        elif session.playing:
            st.caption("Pause to save or export: files hold the weights of the moment you pause.")
        else:
            name = f"{trainer.dataset.name}-step{trainer.step}"
            save, onnx, script = st.columns(3)
            save.download_button("Checkpoint (.safetensors)", lambda: save_checkpoint(trainer),
                                 file_name=f"{name}.safetensors", key=f"{key}.save",
                                 help="weights + every setting + metrics; load it here later")
            for column, fmt in ((onnx, "onnx"), (script, "python")):
                filename, mime = FILES[fmt]
                column.download_button(f"Export {'ONNX' if fmt == 'onnx' else 'PyTorch script'}",
                                       lambda fmt=fmt: export_from_trainer(trainer, fmt), mime=mime,
                                       file_name=f"{name}-{filename}", key=f"{key}.{fmt}",
                                       help="takes raw features, returns class probabilities or values")
        upload = st.file_uploader("Load a checkpoint", type=["safetensors"], key=f"{key}.upload",
                                  help="continue training it, or evaluate it on this page's data")
        if upload is not None:
            _load(session, spec, upload.getvalue(), key)


def _load(session: RunSession, spec: SidebarSpec, data: bytes, key: str) -> None:
    try:
        checkpoint = load_checkpoint(data)
    except ConfigError as e:
        st.error(server_text(e))
        return
    try:  # the sidebar must be able to show its settings; the network's shape is kept, the rest fitted
        config, fitted = fit_config(spec, checkpoint.config)
    except ConfigError as e:
        st.error(f"This checkpoint cannot be loaded on this page: {plain(e)}")
        return
    checkpoint = dataclasses.replace(checkpoint, config=config)
    if fitted:
        st.info(_fitted_text(fitted))
    st.caption(f"{checkpoint.config.data.dataset}, step {checkpoint.step}, epoch {checkpoint.epoch}; "
               + (f"test R² {checkpoint.metrics.get('test_r2', '–')}" if checkpoint.signature.task == "regression"
                  else f"test accuracy {checkpoint.metrics.get('test_acc', '–')}"))
    try:  # this server's limits (NNPLAY_* variables) hold for a loaded file too, before any data is built
        gate.check(checkpoint.config)
    except ConfigError as e:
        st.error(f"This checkpoint cannot be trained here: {server_text(e)}")
        return
    current = session.trainer
    problem = ""
    if current is not None:
        try:
            check_compatible(checkpoint, current.cfg, current.dataset)
        except ConfigError as e:
            problem = str(e)
    if problem:
        st.warning(plain(problem))
    dataset = current.dataset if current is not None and not problem else None
    st.button("Use these weights and settings", key=f"{key}.use", type="primary",
              on_click=_use, args=(session, spec, checkpoint, dataset, fitted))


def _fitted_text(fitted: list[str]) -> str:
    return f"Settings fitted to this page's controls: {'; '.join(fitted)}."


def _use(session: RunSession, spec: SidebarSpec, checkpoint, dataset, fitted: list[str]) -> None:
    """Button callback (it runs before the sidebar is drawn, so the sidebar can show the loaded settings)."""
    try:
        gate.check(checkpoint.config, dataset)
        if dataset is None:
            gate.check_data_on_disk(checkpoint.config)
        trainer = trainer_from_checkpoint(checkpoint, dataset, limits=gate.limits(), download=False)
    except ConfigError as e:
        session.notice = f"Could not load the checkpoint: {server_text(e)}"
        return
    state.archive_run(session.page, session.trainer)  # the replaced run stays comparable
    session.trainer = trainer
    session.trained_seconds = 0.0
    session.playing = False
    session.cache.clear()
    session.notice = ("Loaded the checkpoint's weights and settings: press Play to train on, or look at it as is."
                      + (f" {_fitted_text(fitted)}" if fitted else ""))
    load_config(spec, checkpoint.config)
