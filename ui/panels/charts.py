"""Chart builders: pure functions from data to Vega-Lite specs or pixels (no Streamlit calls here).

The evaluation views (confusion matrix, per-class bars, ROC, PCA) are Vega-Lite charts, authored once with
Altair against named datasets and cached, so that a refresh only fills in the data. The live views are drawn
in the browser by the live-view component (``ui.liveview``); this module holds what both share: the class
palette and curve thinning.
"""

from __future__ import annotations

import functools

import altair as alt
import numpy as np

# Class colours (colour-blind-safe Tableau 10 order); the boundary shading uses the same ones.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]
# Points per curve series by default: per bucket of epochs the lowest and the highest value survive, so spikes
# and dips are never hidden by the thinning.
MAX_CURVE_POINTS = 100


# Fixed-size charts keep their plot area and add room for axes and legends around it (Streamlit's default
# "fit" would squeeze everything, titles included, into the given box).
FIXED_SIZE = {"autosize": {"type": "pad"}}

# Every chart draws on a canvas without ARIA attributes: the default SVG renderer rebuilds and restyles a DOM
# node per mark at each update, which costs the browser more time (docs/measurements.md).
CANVAS = {"usermeta": {"embedOptions": {"renderer": "canvas"}}}


def _with_data(template: dict, **datasets) -> dict:
    """A copy of a cached template with its named datasets filled in (records: lists of dicts), drawn on a
    canvas."""
    return {**template, **CANVAS, "config": {**template.get("config", {}), "aria": False}, "datasets": datasets}


def envelope_indices(values: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` entries of ``values`` that keep its shape: the first and last, and
    in each of about ``max_points // 2`` consecutive equal buckets the lowest and the highest finite value (a
    bucket without finite values keeps its first entry). Vectorized: it runs for every curve of every frame."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    size = -(-n // max(max_points // 2 - 1, 1))  # entries per bucket (ceil), so at most max_points // 2 - 1
    rows = -(-n // size)
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    low = np.full(rows * size, np.inf)
    high = np.full(rows * size, -np.inf)
    low[:n] = np.where(finite, v, np.inf)
    high[:n] = np.where(finite, v, -np.inf)
    offsets = np.arange(rows) * size
    picked = np.concatenate([offsets + low.reshape(rows, size).argmin(axis=1),
                             offsets + high.reshape(rows, size).argmax(axis=1), [0, n - 1]])
    return np.unique(picked)


# --- image-classifier evaluation -------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _confusion_template(class_names: tuple[str, ...], size: int) -> dict:
    order = list(class_names)
    base = alt.Chart(alt.NamedData("cells")).encode(
        x=alt.X("predicted:N", sort=order, title="predicted"), y=alt.Y("true:N", sort=order, title="true"))
    cells = base.mark_rect().encode(color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                                                    title="share of true class"),
                                    tooltip=["true:N", "predicted:N", "count:Q", alt.Tooltip("share:Q", format=".1%")])
    text = base.mark_text(fontSize=10).encode(text="count:Q", color=alt.condition(
        alt.datum.share > 0.5, alt.value("white"), alt.value("black")))
    return (cells + text).properties(width=size, height=size, title="Confusion matrix (test)").to_dict() | FIXED_SIZE


def confusion_chart(confusion: np.ndarray, class_names, size: int = 320) -> dict:
    """Heatmap of a (K, K) confusion matrix, rows = true class; colour = share of the true class."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1, keepdims=True).clip(min=1)
    cells = [{"true": class_names[i], "predicted": class_names[j], "count": int(confusion[i, j]),
              "share": float(confusion[i, j] / totals[i, 0])}
             for i in range(len(class_names)) for j in range(len(class_names))]
    return _with_data(_confusion_template(tuple(class_names), size), cells=cells)


@functools.lru_cache(maxsize=16)
def _bars_template(title: str, value_title: str, class_names: tuple[str, ...], height: int) -> dict:
    return alt.Chart(alt.NamedData("bars")).mark_bar().encode(
        x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), title=value_title),
        y=alt.Y("class:N", sort=list(class_names), title=None),
        color=alt.Color("class:N", scale=alt.Scale(domain=list(class_names), range=PALETTE[:len(class_names)]),
                        legend=None),
        tooltip=["class:N", alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=height, title=title).to_dict()


def class_bars_chart(values: np.ndarray, class_names, title: str, value_title: str, height: int = 220) -> dict:
    """One horizontal bar per class with a value in [0, 1] (per-class accuracy, predicted probabilities)."""
    bars = [{"class": c, "value": float(v)} for c, v in zip(class_names, np.asarray(values))]
    return _with_data(_bars_template(title, value_title, tuple(class_names), height), bars=bars)


@functools.lru_cache(maxsize=16)
def _roc_template(class_names: tuple[str, ...], height: int) -> dict:
    curves = alt.Chart(alt.NamedData("roc")).mark_line().encode(
        x=alt.X("fpr:Q", title="false positive rate"), y=alt.Y("tpr:Q", title="true positive rate"),
        color=alt.Color("class:N", scale=alt.Scale(domain=list(class_names), range=PALETTE[:len(class_names)])),
        order="order:Q", tooltip=["class:N", "fpr:Q", "tpr:Q"])
    chance = alt.Chart(alt.NamedData("chance")).mark_line(strokeDash=[4, 4], color="gray").encode(x="fpr:Q", y="tpr:Q")
    return (curves + chance).properties(height=height, title="ROC, one class vs rest (legend: AUC)").to_dict()


def roc_chart(roc: dict, aucs: np.ndarray, class_names, height: int = 300) -> dict:
    """One-vs-rest ROC curves; each class is labelled with its AUC."""
    labels = [f"{name} (AUC {aucs[i]:.3f})" for i, name in enumerate(class_names)]
    records = [{"class": labels[c], "fpr": float(f), "tpr": float(t), "order": k}
               for c, (fpr, tpr) in roc.items() for k, (f, t) in enumerate(zip(fpr, tpr))]
    return _with_data(_roc_template(tuple(labels), height), roc=records,
                      chance=[{"fpr": 0.0, "tpr": 0.0}, {"fpr": 1.0, "tpr": 1.0}])


@functools.lru_cache(maxsize=16)
def _pca_template(class_names: tuple[str, ...], title: str, height: int) -> dict:
    return alt.Chart(alt.NamedData("points")).mark_circle(size=18, opacity=0.7).encode(
        x=alt.X("pc1:Q", title="component 1"), y=alt.Y("pc2:Q", title="component 2"),
        color=alt.Color("class:N", scale=alt.Scale(domain=list(class_names), range=PALETTE[:len(class_names)])),
        tooltip=["class:N"]).properties(height=height, title=title).to_dict()


def pca_chart(projected: np.ndarray, labels: np.ndarray, class_names, variance, height: int = 300) -> dict:
    """The last hidden layer of test images projected on its two principal components."""
    title = (f"Last hidden layer, PCA of test images ({variance[0]:.0%} + {variance[1]:.0%} of variance)")
    records = [{"pc1": float(a), "pc2": float(b), "class": class_names[int(k)]}
               for (a, b), k in zip(np.asarray(projected), labels)]
    return _with_data(_pca_template(tuple(class_names), title, height), points=records)


def image_tile(row: np.ndarray, shape: tuple[int, int], pixel_max: float, scale: int) -> np.ndarray:
    """One flattened raw image → (H·scale, W·scale) uint8 greyscale, dark ink on white, nearest-neighbour
    enlarged so small images stay crisp."""
    img = np.asarray(row, dtype=np.float64).reshape(shape) / pixel_max
    img = (255 * (1.0 - img.clip(0, 1))).astype(np.uint8)
    return np.kron(img, np.ones((scale, scale), dtype=np.uint8))
