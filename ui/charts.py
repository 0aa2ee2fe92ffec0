"""Chart builders: pure functions from snapshot data to Vega-Lite specs (no Streamlit calls here).

Each chart's shape is authored once with Altair against named datasets and cached; a frame only fills in
the data (``{"datasets": ...}``). Building an Altair chart costs 20–150 ms of schema work, filling a cached
template well under a millisecond, which is what keeps live training at several frames a second.
The decision boundary is a small PNG placed with ``mark_image`` on real axes, so a frame costs kilobytes,
not one JSON row per cell (the histograms over time are one picture of their own: ``ui.histograms``).
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
# Points per curve series sent to the browser. The browser's chart library costs ~50 µs per data row per
# frame (measured), so a live frame keeps each series short: per bucket of epochs the lowest and the highest
# value survive, so spikes and dips are never hidden by the thinning.
MAX_CURVE_POINTS = 100


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3|4) uint8 array, row 0 at the top, as PNG (fast, light compression)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def png_data_uri(rgb: np.ndarray) -> str:
    """Encode an (H, W, 3|4) uint8 array, row 0 at the top, as a PNG data URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


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


# Live charts have a fixed plot width: a chart stretched to its column re-measured and re-laid itself out
# on every frame, which cost the browser ~35 ms per chart per frame (measured).
LIVE_WIDTH = 380

# Every chart draws on a canvas without ARIA attributes: the default SVG renderer rebuilt and restyled a DOM
# node per mark each frame, which cost the browser ~40% more time per live frame (measured in Chromium).
CANVAS = {"usermeta": {"embedOptions": {"renderer": "canvas"}}}


def _with_data(template: dict, **datasets) -> dict:
    """A copy of a cached template with its named datasets filled in (records: lists of dicts), drawn on a
    canvas."""
    return {**template, **CANVAS, "config": {**template.get("config", {}), "aria": False}, "datasets": datasets}


def _without_legend(channel: alt.Color) -> dict:
    """The same colour encoding without a legend of its own (the fill repeats the stroke's classes)."""
    return channel.copy(deep=True).to_dict() | {"legend": None}


def _boundary_layers(task: str, class_names: tuple[str, ...], title: str, size: int, axes: tuple[str, str],
                     x_domain: tuple[float, float], y_domain: tuple[float, float]) -> alt.LayerChart:
    # Scales fixed to the grid's extent: a new frame only swaps the picture, so the browser does not
    # recompute the scales and re-place every point (it did when the domain came from the data).
    x_scale = alt.Scale(domain=list(x_domain), nice=False, zero=False)
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False)
    background = alt.Chart(alt.NamedData("image")).mark_image(aspect=False).encode(
        x=alt.X("x:Q", scale=x_scale, title=axes[0]), x2="x2:Q", y=alt.Y("y:Q", scale=y_scale, title=axes[1]),
        y2="y2:Q", url="url:N")
    legend = alt.Legend(orient="bottom", direction="horizontal")
    if task == "regression":
        colour = alt.Color("label:Q", scale=alt.Scale(scheme="blueorange"), title="target", legend=legend)
    else:
        colour = alt.Color("label:N", scale=alt.Scale(domain=list(class_names), range=PALETTE[:len(class_names)]),
                           title="class", legend=legend)
    dots = alt.Chart(alt.NamedData("points")).mark_point(size=28, strokeWidth=1.5, clip=True).encode(
        x=alt.X("x1:Q", scale=x_scale), y=alt.Y("x2:Q", scale=y_scale), color=colour,
        fill=alt.condition(alt.datum.split == "train", _without_legend(colour), alt.value("transparent")),
        shape=alt.Shape("split:N", scale=alt.Scale(domain=["train", "test"], range=["circle", "circle"]),
                        title="filled = train, ring = test", legend=legend),
        tooltip=["x1:Q", "x2:Q", "label:Q" if task == "regression" else "label:N", "split:N"])
    return (background + dots).properties(width=size, height=size, title=title)


@functools.lru_cache(maxsize=32)
def _boundary_template(*args) -> dict:
    return _boundary_layers(*args).to_dict() | FIXED_SIZE


def _boundary_data(grid, points: list[dict], task: str) -> tuple[dict, tuple, tuple]:
    """The boundary's datasets (the shaded picture on the grid's extent, and the points) and its extent."""
    image = png_data_uri(boundary_rgb(np.asarray(grid.values), task)[::-1])
    x_domain, y_domain = (float(grid.xs[0]), float(grid.xs[-1])), (float(grid.ys[0]), float(grid.ys[-1]))
    corners = {"x": x_domain[0], "x2": x_domain[1], "y": y_domain[1], "y2": y_domain[0], "url": image}
    return {"image": [corners], "points": points}, x_domain, y_domain


def boundary_chart(grid, points: list[dict], task: str, class_names: list[str], title: str = "",
                   size: int = 320, axes: tuple[str, str] = ("x1", "x2")) -> dict:
    """Decision boundary under the data points. ``points``: records with x1, x2, label, split
    ("train"/"test"); train points are filled, test points hollow rings."""
    data, x_domain, y_domain = _boundary_data(grid, points, task)
    template = _boundary_template(task, tuple(class_names), title, size, tuple(axes), x_domain, y_domain)
    return _with_data(template, **data)


def envelope_indices(values: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` entries of ``values`` that keep its shape: the first and last, and
    in each of ``max_points // 2`` consecutive buckets the lowest and the highest finite value."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    v = np.where(np.isfinite(values), values, np.nan)
    keep = {0, n - 1}
    for bucket in np.array_split(np.arange(n), max(max_points // 2 - 1, 1)):
        chunk = v[bucket]
        if np.isnan(chunk).all():
            keep.add(int(bucket[0]))
            continue
        keep.update((int(bucket[np.nanargmin(chunk)]), int(bucket[np.nanargmax(chunk)])))
    return np.array(sorted(keep))


def _records(x: np.ndarray, x_name: str, series: dict[str, np.ndarray], key: str, positive: bool) -> list[dict]:
    """Long-format records {x_name, key, value}, each series thinned to about MAX_CURVE_POINTS (keeping its
    lows and highs), dropping non-finite values (and non-positive ones for log axes)."""
    x = np.asarray(x, dtype=np.float64)
    out = []
    for name, values in series.items():
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v) & ((v > 0) if positive else True)
        xs, vs = x[ok], v[ok]
        idx = envelope_indices(vs)
        out.extend({x_name: float(a), key: name, "value": float(b)} for a, b in zip(xs[idx], vs[idx]))
    return out


def _line_panel(dataset: str, series: str, title: str, y_title: str, log_y: bool, domain, width: int,
                height: int) -> alt.Chart:
    scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    # splits take the first two colours; layers the others (so a layer never looks like "train")
    colours = PALETTE[:2] if series == "split" else [PALETTE[2 + i % (len(PALETTE) - 2)] for i in range(len(domain))]
    colour = alt.Color(f"{series}:N", scale=alt.Scale(domain=list(domain), range=colours), title=series)
    return alt.Chart(alt.NamedData(dataset)).mark_line().encode(
        x=alt.X("epoch:Q", title="epoch"), y=alt.Y("value:Q", scale=scale, title=y_title), color=colour,
        tooltip=["epoch:Q", f"{series}:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(width=width, height=height, title=title)


SPLITS = ("train", "validation")


def _curve_panels(score_title: str, layer_names: tuple[str, ...], width: int, height: int) -> alt.VConcatChart:
    return alt.vconcat(_line_panel("loss", "split", "Loss", "loss (log)", True, SPLITS, width, height),
                       _line_panel("score", "split", score_title, score_title, False, SPLITS, width, height),
                       _line_panel("norms", "layer", "Gradient norm per layer", "‖∇W‖ (log)", True, layer_names,
                                   width, height), spacing=14).resolve_scale(color="independent")


@functools.lru_cache(maxsize=32)
def _curves_template(score_title: str, layer_names: tuple[str, ...], width: int, height: int) -> dict:
    return _curve_panels(score_title, layer_names, width, height).to_dict() | FIXED_SIZE


def _curves_data(history, grad_norms: np.ndarray, layer_names) -> dict:
    epochs = history["epoch"]
    norms = np.asarray(grad_norms).reshape(len(epochs), len(layer_names))
    return {
        "loss": _records(epochs, "epoch", {"train": history["train_loss"], "validation": history["val_loss"]},
                         "split", True),
        "score": _records(epochs, "epoch", {"train": history["train_acc"], "validation": history["val_acc"]},
                          "split", False),
        "norms": _records(epochs, "epoch", {name: norms[:, i] for i, name in enumerate(layer_names)}, "layer",
                          True)}


def curves_chart(history, grad_norms: np.ndarray, layer_names, score_title: str = "Accuracy",
                 width: int = LIVE_WIDTH, height: int = 130) -> dict:
    """Loss and score (accuracy or R²) for train and validation, and the mean L2 norm of each layer's weight
    gradient, per epoch, stacked in one chart (one browser view, not three). Loss and norms are on log axes
    (vanishing gradients = lines falling apart)."""
    template = _curves_template(score_title, tuple(layer_names), width, height)
    return _with_data(template, **_curves_data(history, grad_norms, layer_names))


@functools.lru_cache(maxsize=32)
def _live_template(boundary: tuple, curves: tuple) -> dict:
    chart = alt.hconcat(_boundary_layers(*boundary), _curve_panels(*curves), spacing=40)
    return chart.resolve_scale(color="independent", shape="independent").to_dict() | FIXED_SIZE


def live_chart(grid, points: list[dict], task: str, class_names, boundary_title: str, history, grad_norms,
               layer_names, score_title: str, axes: tuple[str, str] = ("x1", "x2"), size: int = 320,
               width: int = LIVE_WIDTH, height: int = 130) -> dict:
    """The decision boundary (as ``boundary_chart``) beside the curves (as ``curves_chart``), in one chart:
    every part of a live frame that the browser draws with its chart library is one view, updated at once."""
    data, x_domain, y_domain = _boundary_data(grid, points, task)
    template = _live_template((task, tuple(class_names), boundary_title, size, tuple(axes), x_domain, y_domain),
                              (score_title, tuple(layer_names), width, height))
    return _with_data(template, **data, **_curves_data(history, grad_norms, layer_names))


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
