"""Chart builders: pure functions from snapshot data to Vega-Lite specs (no Streamlit calls here).

Each chart's shape is authored once with Altair against named datasets and cached; a frame only fills in
the data (``{"datasets": ...}``). Building an Altair chart costs 20–150 ms of schema work, filling a cached
template well under a millisecond, which is what keeps live training at several frames a second.
Dense pictures (the decision boundary, histograms over time) are small PNGs placed with ``mark_image`` on
real axes, so a frame costs kilobytes, not one JSON row per cell.
"""

from __future__ import annotations

import base64
import functools
import io

import altair as alt
import numpy as np
from PIL import Image

# Class colours (colour-blind-safe Tableau 10 order); the boundary shading uses the same ones.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]
MAX_CURVE_POINTS = 500


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def png_data_uri(rgb: np.ndarray) -> str:
    """Encode an (H, W, 3|4) uint8 array, row 0 at the top, as a PNG data URI."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def boundary_rgb(values: np.ndarray, task: str) -> np.ndarray:
    """Colour an (R, R, K) probability grid: each cell is the probability-weighted class colour, faded
    towards white where the network is unsure (max probability near 1/K). Regression: (R, R) values on a
    blue–white–orange scale. Returns (R, R, 3) uint8 with row 0 = lowest y (flip before encoding)."""
    if task == "regression":
        v = values / (np.abs(values).max() + 1e-12)
        lo, hi, white = _rgb(PALETTE[0]), _rgb(PALETTE[1]), np.full(3, 255.0)
        t = np.abs(v)[..., None]
        rgb = np.where(v[..., None] < 0, white + (lo - white) * t, white + (hi - white) * t)
        return rgb.clip(0, 255).astype(np.uint8)
    k = values.shape[-1]
    colours = np.stack([_rgb(c) for c in PALETTE[:k]])
    mixed = values @ colours
    confidence = ((values.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k)).clip(0, 1)[..., None]
    strength = 0.15 + 0.55 * confidence
    return (255.0 - (255.0 - mixed) * strength).clip(0, 255).astype(np.uint8)


# Fixed-size charts keep their plot area and add room for axes and legends around it (Streamlit's default
# "fit" would squeeze everything, titles included, into the given box).
FIXED_SIZE = {"autosize": {"type": "pad"}}


def _with_data(template: dict, **datasets) -> dict:
    """A copy of a cached template with its named datasets filled in (records: lists of dicts)."""
    return {**template, "datasets": datasets}


@functools.lru_cache(maxsize=32)
def _boundary_template(task: str, class_names: tuple[str, ...], title: str, size: int,
                       axes: tuple[str, str] = ("x1", "x2")) -> dict:
    free = alt.Scale(nice=False, zero=False)
    background = alt.Chart(alt.NamedData("image")).mark_image(aspect=False).encode(
        x=alt.X("x:Q", scale=free, title=axes[0]), x2="x2:Q", y=alt.Y("y:Q", scale=free, title=axes[1]),
        y2="y2:Q", url="url:N")
    if task == "regression":
        colour = alt.Color("label:Q", scale=alt.Scale(scheme="blueorange"), title="target")
    else:
        colour = alt.Color("label:N", scale=alt.Scale(domain=list(class_names),
                                                      range=PALETTE[:len(class_names)]), title="class")
    dots = alt.Chart(alt.NamedData("points")).mark_point(size=28, strokeWidth=1.5).encode(
        x=alt.X("x1:Q", scale=free), y=alt.Y("x2:Q", scale=free), color=colour,
        fill=alt.condition(alt.datum.split == "train", colour, alt.value("transparent")),
        shape=alt.Shape("split:N", scale=alt.Scale(domain=["train", "test"], range=["circle", "circle"]),
                        title="filled = train, ring = test"),
        tooltip=["x1:Q", "x2:Q", "label:Q" if task == "regression" else "label:N", "split:N"])
    return (background + dots).properties(width=size, height=size, title=title).configure_legend(
        orient="bottom", direction="horizontal").to_dict() | FIXED_SIZE


def boundary_chart(grid, points: list[dict], task: str, class_names: list[str], title: str = "",
                   size: int = 320, axes: tuple[str, str] = ("x1", "x2")) -> dict:
    """Decision boundary under the data points. ``points``: records with x1, x2, label, split
    ("train"/"test"); train points are filled, test points hollow rings."""
    image = png_data_uri(boundary_rgb(np.asarray(grid.values), task)[::-1])
    corners = {"x": float(grid.xs[0]), "x2": float(grid.xs[-1]), "y": float(grid.ys[-1]),
               "y2": float(grid.ys[0]), "url": image}
    template = _boundary_template(task, tuple(class_names), title, size, tuple(axes))
    return _with_data(template, image=[corners], points=points)


@functools.lru_cache(maxsize=32)
def _curves_template(metric: str, title: str, log_y: bool, height: int) -> dict:
    scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    return alt.Chart(alt.NamedData("curves")).mark_line().encode(
        x=alt.X("epoch:Q", title="epoch"), y=alt.Y("value:Q", scale=scale, title=title),
        color=alt.Color("split:N", scale=alt.Scale(domain=["train", "validation"], range=PALETTE[:2])),
        tooltip=["epoch:Q", "split:N", alt.Tooltip("value:Q", format=".4f")],
    ).properties(height=height, title=title).to_dict()


def _records(x: np.ndarray, x_name: str, series: dict[str, np.ndarray], key: str, positive: bool) -> list[dict]:
    """Long-format records {x_name, key, value}, downsampled to MAX_CURVE_POINTS, dropping non-finite
    values (and non-positive ones for log axes)."""
    idx = np.arange(len(x))
    if len(x) > MAX_CURVE_POINTS:
        idx = np.unique(np.linspace(0, len(x) - 1, MAX_CURVE_POINTS).round().astype(int))
    out = []
    for name, values in series.items():
        v = np.asarray(values, dtype=np.float64)[idx]
        ok = np.isfinite(v) & ((v > 0) if positive else True)
        out.extend({x_name: float(a), key: name, "value": float(b)} for a, b in zip(np.asarray(x)[idx][ok], v[ok]))
    return out


def curves_chart(history, metric: str, title: str, log_y: bool = False, height: int = 200) -> dict:
    """Train and validation curves of ``metric`` ("loss" or "acc") against epochs."""
    records = _records(history["epoch"], "epoch", {"train": history[f"train_{metric}"],
                                                    "validation": history[f"val_{metric}"]}, "split", log_y)
    return _with_data(_curves_template(metric, title, log_y, height), curves=records)


@functools.lru_cache(maxsize=32)
def _grad_norm_template(layer_names: tuple[str, ...], height: int) -> dict:
    return alt.Chart(alt.NamedData("norms")).mark_line().encode(
        x="epoch:Q", y=alt.Y("value:Q", scale=alt.Scale(type="log", nice=False), title="‖∇W‖ (log)"),
        color=alt.Color("layer:N", sort=list(layer_names)), tooltip=["epoch:Q", "layer:N", "value:Q"],
    ).properties(height=height, title="Gradient norm per layer").to_dict()


def grad_norm_chart(grad_norms: np.ndarray, epochs: np.ndarray, layer_names, height: int = 200) -> dict:
    """Mean L2 norm of each layer's weight gradient per epoch, on a log axis (vanishing = falling apart)."""
    norms = np.asarray(grad_norms).reshape(len(epochs), len(layer_names))
    records = _records(epochs, "epoch", {name: norms[:, i] for i, name in enumerate(layer_names)}, "layer", True)
    return _with_data(_grad_norm_template(tuple(layer_names), height), norms=records)


# A perceptual dark-to-light colour ramp for histogram counts (viridis-like stops).
_RAMP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64)


def _ramp(t: np.ndarray) -> np.ndarray:
    pos = t.clip(0, 1) * (len(_RAMP) - 1)
    i = np.minimum(pos.astype(int), len(_RAMP) - 2)
    frac = (pos - i)[..., None]
    return _RAMP[i] * (1 - frac) + _RAMP[i + 1] * frac


def _bin_axis(edges: np.ndarray, title: bool = True) -> alt.Axis:
    """Y axis over bin indices, labelled with the values at decade edges (the bins are log-spaced)."""
    values, labels = [], {}
    for i, e in enumerate(edges):
        mag = np.log10(abs(e))
        if abs(mag - round(mag)) < 1e-9 and round(mag) % 2 == 0:
            values.append(i)
            labels[i] = ("-" if e < 0 else "") + (f"1e{int(round(mag))}" if round(mag) != 0 else "1")
    zero = (len(edges) - 1) / 2
    values.append(zero)
    labels[zero] = "0"
    expr = "".join(f"datum.value == {k} ? '{v}' : " for k, v in labels.items()) + "''"
    return alt.Axis(values=values, labelExpr=expr, title="value (log-spaced bins)" if title else None)


@functools.lru_cache(maxsize=32)
def _histograms_template(layer_names: tuple[str, ...], n_bins: int, edges: tuple[float, ...], width: int,
                         height: int) -> dict:
    rows = []
    for kind in ("gradients", "weights"):
        panels = []
        for i, name in enumerate(layer_names):
            panels.append(alt.Chart(alt.NamedData(f"{kind}{i}")).mark_image(aspect=False).encode(
                x=alt.X("x:Q", title="step", scale=alt.Scale(nice=False, zero=False)), x2="x2:Q",
                y=alt.Y("y:Q", scale=alt.Scale(domain=[0, n_bins], nice=False),
                        axis=_bin_axis(np.array(edges), title=i == 0)),
                y2="y2:Q", url="url:N").properties(width=width, height=height, title=f"{name}: {kind} of W"))
        rows.append(alt.hconcat(*panels, spacing=12))
    return alt.vconcat(*rows, spacing=16).to_dict() | FIXED_SIZE


def _histogram_frame(steps: np.ndarray, counts: np.ndarray, n_bins: int) -> dict:
    """One layer's histograms through time as an image record: x = training step, y = value bin, colour =
    share of the layer's values in that bin at that moment (each column normalized, log-compressed; empty
    bins white). counts: (T, B)."""
    counts = np.asarray(counts, dtype=np.float64)
    shares = np.log1p(counts) / np.log1p(counts.max(axis=1, keepdims=True)).clip(min=1e-12)
    img = _ramp(shares.T[::-1])  # rows = bins, highest value on top
    img[(counts.T[::-1] == 0)] = 250.0
    rgb = np.repeat(img.astype(np.uint8), 3, axis=0)  # taller pixels keep bins crisp when scaled
    x0, x1 = float(steps[0]), float(max(steps[-1], steps[0] + 1))
    return {"x": x0, "x2": x1, "y": float(n_bins), "y2": 0.0, "url": png_data_uri(rgb)}


def histograms_chart(steps: np.ndarray, grad_counts: np.ndarray, weight_counts: np.ndarray, edges: np.ndarray,
                     layer_names, width: int = 200, height: int = 130) -> dict:
    """TensorBoard-style histograms over time for every layer: gradients on top, weights below, one panel per
    layer, in one chart (one browser view, not one per layer). counts: (T, L, B)."""
    n_bins = len(edges) - 1
    data = {}
    for kind, counts in (("gradients", grad_counts), ("weights", weight_counts)):
        for i in range(len(layer_names)):
            data[f"{kind}{i}"] = [_histogram_frame(steps, np.asarray(counts)[:, i], n_bins)]
    template = _histograms_template(tuple(layer_names), n_bins, tuple(float(e) for e in edges), width, height)
    return _with_data(template, **data)


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
