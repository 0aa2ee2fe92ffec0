"""Streamlit panels that draw one Snapshot: status line, boundary, curves, histograms, gradient norms.

Every chart has a fixed key so the browser updates it in place from frame to frame.
"""

from __future__ import annotations

import streamlit as st

from nncore.datasets import Dataset
from nncore.training import Snapshot

from . import charts

STATUS_LABELS = {"ready": "ready", "running": "training", "done": "finished", "early_stopped": "stopped early",
                 "diverged": "diverged"}


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if pct else f"{value:.4f}"


def status_text(snap: Snapshot, task: str, engine: str, playing: bool = True) -> str:
    """One line: state, epoch, step, speed, and loss/accuracy (R² for regression) per split."""
    score, pct = ("acc", True) if task != "regression" else ("R²", False)
    label = "paused" if snap.status == "running" and not playing else STATUS_LABELS[snap.status]
    parts = [f"**{label}**", f"engine {engine}", f"epoch {snap.epoch}", f"Step {snap.step}",
             f"{snap.steps_per_sec:.0f} steps/s", f"lr {snap.lr:.3g}"]
    for split in ("train", "val", "test"):
        parts.append(f"{split} loss {_fmt(snap.last(f'{split}_loss'))} · {score} "
                     f"{_fmt(snap.last(f'{split}_acc'), pct)}")
    return " | ".join(p for p in parts if p)


def status_line(snap: Snapshot, task: str, engine: str, playing: bool) -> None:
    st.markdown(status_text(snap, task, engine, playing))
    if snap.status == "diverged":
        st.error(snap.message, icon="⚠️")
    elif snap.status in ("done", "early_stopped"):
        st.info(snap.message)


def _points(dataset: Dataset, grid, max_points: int = 1500) -> list[dict]:
    """Train and test points in the boundary's plane (original units, or PCA coordinates for tables with
    more features), as chart records (at most ``max_points`` of each)."""
    records = []
    for split in ("train", "test"):
        X, y = dataset.split(split)
        X, y = X[:max_points], y[:max_points]
        coords = grid.project(X, dataset)
        if dataset.task == "regression":
            labels = [float(v) for v in y]
        else:
            labels = [dataset.class_names[int(k)] for k in y]
        records.extend({"x1": a, "x2": b, "label": lab, "split": split}
                       for (a, b), lab in zip(coords.tolist(), labels))
    return records


def boundary(snap: Snapshot, dataset: Dataset, key: str) -> None:
    grid = snap.grid
    if grid is None:
        st.info("No decision boundary for this data (image inputs, or fewer than 2 features).")
        return
    title = "Regression surface" if dataset.task == "regression" else "Decision boundary (class probabilities)"
    if grid.is_projection:
        title += f" in the 2-D PCA plane of {dataset.n_features} features"
    spec = charts.boundary_chart(grid, _points_cached(dataset, grid), dataset.task, list(dataset.class_names),
                                 title, axes=grid.axes)
    st.vega_lite_chart(spec, key=key, width="content")


_POINTS_ATTR = "_chart_points"


def _points_cached(dataset: Dataset, grid) -> list[dict]:
    """The point records never change during a run: build them once per dataset object."""
    cached = dataset.__dict__.get(_POINTS_ATTR)
    if cached is None:
        cached = _points(dataset, grid)
        object.__setattr__(dataset, _POINTS_ATTR, cached)
    return cached


def curves(snap: Snapshot, task: str, key: str) -> None:
    if len(snap.history["epoch"]) == 0:
        st.caption("Curves appear after the first epoch.")
        return
    st.vega_lite_chart(charts.curves_chart(snap.history, "loss", "Loss", log_y=True), key=f"{key}.loss")
    title = "Accuracy" if task != "regression" else "R²"
    st.vega_lite_chart(charts.curves_chart(snap.history, "acc", title), key=f"{key}.acc")


def internals(snap: Snapshot, key: str, width: int = 200) -> None:
    """Gradient and weight histograms per layer over time (one chart), and gradient norms per layer."""
    st.markdown("**Histograms per layer over time** — x: step, y: value (log-spaced bins, 0 in the middle), "
                "colour: share of the layer's values in each bin")
    st.vega_lite_chart(charts.histograms_chart(snap.hist_steps, snap.grad_hist, snap.weight_hist, snap.hist_edges,
                                               snap.layer_names, width=width), key=f"{key}.histograms",
                       width="content")
    if len(snap.history["epoch"]):
        st.vega_lite_chart(charts.grad_norm_chart(snap.grad_norms, snap.history["epoch"], snap.layer_names),
                           key=f"{key}.norms")
