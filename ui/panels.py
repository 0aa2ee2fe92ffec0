"""Streamlit panels that draw one Snapshot: status line, boundary, curves, histograms, gradient norms.

Every chart has a fixed key so the browser updates it in place from frame to frame.
"""

from __future__ import annotations

import streamlit as st

from nncore.datasets import Dataset
from nncore.training import Snapshot

from . import charts, histograms

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


def _boundary_title(dataset: Dataset, grid) -> str:
    title = "Regression surface" if dataset.task == "regression" else "Decision boundary (class probabilities)"
    if grid.is_projection:
        title += f" in the 2-D PCA plane of {dataset.n_features} features"
    return title


def boundary(snap: Snapshot, dataset: Dataset, key: str) -> None:
    grid = snap.grid
    if grid is None:
        st.info("No decision boundary for this data (image inputs, or fewer than 2 features).")
        return
    spec = charts.boundary_chart(grid, _points_cached(dataset, grid), dataset.task, list(dataset.class_names),
                                 _boundary_title(dataset, grid), axes=grid.axes)
    st.vega_lite_chart(spec, key=key, width="content")


def _score_title(task: str) -> str:
    return "Accuracy" if task != "regression" else "R²"


def boundary_and_curves(snap: Snapshot, dataset: Dataset, key: str) -> None:
    """The decision boundary beside the loss, score and gradient-norm curves, as one chart (one view for the
    browser to update per frame); the boundary alone until the first epoch has finished."""
    if snap.grid is None or len(snap.history["epoch"]) == 0:
        left, right = st.columns(2)
        with left:
            boundary(snap, dataset, key=f"{key}.boundary")
        with right:
            curves(snap, dataset.task, key=f"{key}.curves")
        return
    grid = snap.grid
    spec = charts.live_chart(grid, _points_cached(dataset, grid), dataset.task, list(dataset.class_names),
                             _boundary_title(dataset, grid), snap.history, snap.grad_norms, snap.layer_names,
                             _score_title(dataset.task), axes=grid.axes)
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
    """Loss, accuracy (R² for regression) and gradient norms per layer, per epoch, in one chart."""
    if len(snap.history["epoch"]) == 0:
        st.caption("Curves appear after the first epoch.")
        return
    st.vega_lite_chart(charts.curves_chart(snap.history, snap.grad_norms, snap.layer_names, _score_title(task)),
                       key=key, width="content")


HISTOGRAMS_CAPTION = ("Histograms per layer over time ({layers}). x: training step; y: value (log-spaced bins, 0 in "
                      "the middle); colour: share of the layer's values in each bin (dark = few, yellow = most, "
                      "white = none). Top row: gradients of the weights; bottom row: the weights.")


def internals(snap: Snapshot, max_width: int = 1000) -> None:
    """Gradient and weight histograms per layer over time, as one picture."""
    if len(snap.hist_steps) == 0:
        st.caption("Histograms per layer over time appear after the first epoch.")
        return
    picture = histograms.histograms_image(snap.hist_steps, snap.grad_hist, snap.weight_hist, snap.hist_edges,
                                          snap.layer_names, max_width=max_width)
    st.image(charts.png_bytes(picture), caption=HISTOGRAMS_CAPTION.format(layers=", ".join(snap.layer_names)))
