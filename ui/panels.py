"""Streamlit panels that draw one Snapshot: status line, and the pictures of ``ui.frame`` (boundary, curves,
gradient norms, histograms), drawn on the server so that a live frame costs the browser one image swap.
"""

from __future__ import annotations

import streamlit as st

from nncore.datasets import Dataset
from nncore.training import Snapshot

from . import charts, frame

STATUS_LABELS = {"ready": "ready", "running": "training", "done": "finished", "early_stopped": "stopped early",
                 "diverged": "diverged"}


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if pct else f"{value:.4f}"


def status_text(snap: Snapshot, task: str, engine: str, playing: bool = True) -> str:
    """One line: state, epoch, step, speed, and loss/accuracy (R² for regression) per split, of the weights
    the run holds (the best epoch's once early stopping restored them, which the line then says)."""
    score, pct = ("acc", True) if task != "regression" else ("R²", False)
    label = "paused" if snap.status == "running" and not playing else STATUS_LABELS[snap.status]
    parts = [f"**{label}**", f"engine {engine}", snap.kept_note or f"epoch {snap.epoch}", f"Step {snap.step}",
             f"{snap.steps_per_sec:.0f} steps/s", f"lr {snap.lr:.3g}"]
    for split in ("train", "val", "test"):
        parts.append(f"{split} loss {_fmt(snap.final(f'{split}_loss'))} · {score} "
                     f"{_fmt(snap.final(f'{split}_acc'), pct)}")
    return " | ".join(p for p in parts if p)


def status_line(snap: Snapshot, task: str, engine: str, playing: bool) -> None:
    st.markdown(status_text(snap, task, engine, playing))
    if snap.status == "diverged":
        st.error(snap.message, icon="⚠️")
    elif snap.status in ("done", "early_stopped"):
        st.info(snap.message)


def _score_title(task: str) -> str:
    return "Accuracy" if task != "regression" else "R²"


def _show(picture: frame.Picture) -> None:
    st.image(charts.png_bytes(picture.rgb), caption=picture.caption, output_format="PNG")


def live_frame(snap: Snapshot, dataset: Dataset) -> None:
    """The decision boundary beside the loss, score and gradient-norm curves, histograms below: one picture,
    so that a frame costs the browser one image swap."""
    _show(frame.live_picture(snap, dataset, _score_title(dataset.task)))


def boundary(snap: Snapshot, dataset: Dataset) -> None:
    """The decision boundary (or regression surface) under the data points."""
    if snap.grid is None:
        st.info("No decision boundary for this data (image inputs, or fewer than 2 features).")
        return
    _show(frame.boundary_picture(snap.grid, dataset))
