"""A live frame as one picture: the decision boundary under the data, the loss, score and gradient-norm curves
per epoch beside it, and the gradient and weight histograms over time below. Pure (no Streamlit here).

Drawn on the server (``ui.raster``), so that a frame costs the browser one image swap. Each function returns
a ``Picture``: the pixels, the plot areas by name (for tests and for anyone placing marks on top), and a
caption that says in words what the picture shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from . import charts, histograms
from .raster import MUTED, SCALE, WHITE, Axis, Box, Canvas, draw_axes, hex_rgb, legend, tick_label

BOUNDARY = 320                # side of the boundary's plot area (px)
CURVE_W, CURVE_H = 330, 92    # one curve panel's plot area (px)
CURVE_PITCH = 130             # vertical distance between curve panels
BAND_H = 404                  # height of the boundary-and-curves band
DOT = 3.2                     # radius of a data point (px)
RIM = (90, 90, 96)            # outline of regression points
SPLIT_COLOURS = (charts.PALETTE[0], charts.PALETTE[1])
SPLIT_LABELS = ("train", "validation")


@dataclass(frozen=True)
class Picture:
    rgb: np.ndarray                              # (H, W, 3) uint8
    caption: str
    regions: dict[str, Box] = field(default_factory=dict)


def layer_colour(i: int) -> str:
    """Layers take the palette after the two split colours, so a layer never looks like "train"."""
    return charts.PALETTE[2 + i % (len(charts.PALETTE) - 2)]


# --- the boundary ----------------------------------------------------------------------------------------

def _extent(grid) -> tuple[Axis, Axis]:
    return Axis(float(grid.xs[0]), float(grid.xs[-1])), Axis(float(grid.ys[0]), float(grid.ys[-1]))


def target_range(dataset) -> tuple[float, float]:
    """The training targets' range: one colour scale for the surface, the points and the legend."""
    y = np.asarray(dataset.targets("train"), dtype=np.float64)
    return (float(y.min()), float(y.max())) if y.size else (-1.0, 1.0)


def _point_colours(dataset, y: np.ndarray) -> np.ndarray:
    if dataset.task == "regression":
        targets = dataset.unscale_targets(y)
        return charts.boundary_rgb(targets, "regression", target_range(dataset)).astype(int)
    table = np.array([hex_rgb(c) for c in charts.PALETTE])
    return table[np.asarray(y, dtype=int) % len(table)]


def _points_layer(grid, dataset, max_points: int = 1500) -> Image.Image:
    """The data points on a transparent layer (final size, antialiased: drawn at SCALE and reduced): train
    filled with a white rim, test as rings. The points never move during a run, so the layer is drawn once
    per dataset and grid extent and reused every frame."""
    key = ("frame_points", float(grid.xs[0]), float(grid.xs[-1]), float(grid.ys[0]), float(grid.ys[-1]))
    cache = dataset.__dict__.setdefault("_picture_cache", {})
    if key in cache:
        return cache[key]
    side = BOUNDARY * SCALE
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x_axis, y_axis = _extent(grid)
    box = Box(0, 0, BOUNDARY, BOUNDARY)
    r = DOT * SCALE
    rim = RIM if dataset.task == "regression" else WHITE  # targets near 0 are white dots: they need a dark rim
    for split in ("train", "test"):
        X, y = dataset.split(split)
        X, y = X[:max_points], y[:max_points]
        if len(y) == 0:
            continue
        coords = grid.project(X, dataset)
        px, py = box.px(x_axis.fraction(coords[:, 0]), y_axis.fraction(coords[:, 1]))
        inside = (px >= 0) & (px <= BOUNDARY) & (py >= 0) & (py <= BOUNDARY)
        for cx, cy, colour in zip(px[inside] * SCALE, py[inside] * SCALE, _point_colours(dataset, y)[inside]):
            rgb = tuple(int(c) for c in colour)
            if split == "train":
                draw.ellipse((cx - r - SCALE, cy - r - SCALE, cx + r + SCALE, cy + r + SCALE), fill=rim)
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rgb)
            else:
                draw.ellipse((cx - r - SCALE, cy - r - SCALE, cx + r + SCALE, cy + r + SCALE), outline=rim,
                             width=SCALE)
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=rgb, width=int(1.6 * SCALE))
    cache[key] = layer = layer.reduce(SCALE)
    return layer


def shaded_plane(grid, dataset) -> Image.Image:
    """The boundary's plot area at final size: the prediction shading with the data points on top."""
    scale = target_range(dataset) if dataset.task == "regression" else None
    shading = Image.fromarray(charts.boundary_rgb(np.asarray(grid.values), dataset.task, scale)[::-1])
    shading = shading.resize((BOUNDARY, BOUNDARY), Image.BILINEAR)
    points = _points_layer(grid, dataset)
    shading.paste(points, (0, 0), points)
    return shading


def boundary_title(dataset, grid) -> str:
    title = "Regression surface" if dataset.task == "regression" else "Decision boundary (class probabilities)"
    if grid.is_projection:
        title += f" in the 2-D PCA plane of {dataset.n_features} features"
    return title


def _draw_boundary(canvas: Canvas, x: int, y: int, grid, dataset, title: str) -> Box:
    """Title, shaded plot area with the points, axes and legend, the plot area's top left at (x, y + 18)."""
    box = Box(x, y + 18, BOUNDARY, BOUNDARY)
    canvas.text((box.x, y), title, size=12, anchor="la")
    x_axis, y_axis = _extent(grid)
    draw_axes(canvas, box, x_axis, y_axis, x_title=grid.axes[0], grid=False)
    canvas.later(shaded_plane(grid, dataset), box)
    canvas.text((box.x - 4, box.y - 7), grid.axes[1], size=10, fill=MUTED, anchor="rb")  # clear of the top tick
    canvas.text((box.x + box.w, box.y + box.h + 15), "filled = train, ring = test", size=10, fill=MUTED,
                anchor="ra")
    if dataset.task == "regression":
        _target_legend(canvas, box.x, box.y + box.h + 30, dataset)
    else:
        _class_legend(canvas, box, list(dataset.class_names))
    return box


def _class_legend(canvas: Canvas, box: Box, names: list[str], rows: int = 2, row_h: int = 13) -> None:
    """One dot and name per class below the plot, wrapped within its width over at most ``rows`` rows (the
    rest summed up as "+N more")."""
    x, row, right = box.x, 0, box.x + box.w
    for i, name in enumerate(names):
        width = 26 + canvas.text_width(name, 10)
        rest = f"+{len(names) - i} more"
        if x + width > right and x > box.x:
            row, x = row + 1, box.x
        last = i == len(names) - 1
        if row == rows or (row == rows - 1 and not last and x + width + canvas.text_width(rest, 10) + 12 > right):
            y = box.y + box.h + 30 + min(row, rows - 1) * row_h + 6.5
            canvas.text((x if row < rows else right, y), rest, size=10, fill=MUTED, anchor="lm" if row < rows else "rm")
            return
        legend(canvas, x, box.y + box.h + 30 + row * row_h, [(name, charts.PALETTE[i % len(charts.PALETTE)])],
               mark="dot")
        x += width


def _target_legend(canvas: Canvas, x: float, y: float, dataset) -> None:
    low, high = target_range(dataset)
    ramp = charts.boundary_rgb(np.linspace(low, high, 81), "regression", (low, high))
    for i, colour in enumerate(ramp):
        canvas.line([(x + i, y + 3), (x + i, y + 10)], tuple(int(c) for c in colour), 1)
    canvas.text((x + 86, y + 6.5), f"target {tick_label(low)} … {tick_label(high)}", size=10, anchor="lm")


# --- the curves -----------------------------------------------------------------------------------------

def _thin(epochs: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most two values per pixel column: the lows and highs of each bucket of epochs survive."""
    idx = charts.envelope_indices(np.asarray(values, dtype=np.float64), max_points=2 * CURVE_W)
    return epochs[idx], np.asarray(values, dtype=np.float64)[idx]


def _curve_panel(canvas: Canvas, x: int, y: int, title: str, epochs: np.ndarray, series, log_y: bool,
                 clip=None) -> Box:
    """One titled panel of lines over epochs; ``series``: (label, values, colour) triples."""
    box = Box(x, y + 16, CURVE_W, CURVE_H)
    canvas.text((box.x, y), title, size=12, anchor="la")
    legend(canvas, box.x + box.w + 10, box.y, [(label, colour) for label, _, colour in series])
    if len(epochs) == 0:
        canvas.rect(box.x, box.y, box.x + box.w, box.y + box.h, outline=(190, 190, 196))
        canvas.text((box.x + box.w / 2, box.y + box.h / 2), "appears after the first epoch", size=10, fill=MUTED,
                    anchor="mm")
        return box
    x_axis = Axis(float(epochs[0]), float(max(epochs[-1], epochs[0] + 1)), integer=True)
    y_axis = Axis.fit(np.concatenate([np.asarray(v, dtype=np.float64) for _, v, _ in series]), log=log_y, clip=clip)
    draw_axes(canvas, box, x_axis, y_axis, x_format=lambda v: f"{v:g}")
    for _, values, colour in series:
        xs, vs = _thin(epochs, values)
        canvas.polyline(box, x_axis, y_axis, xs, vs, hex_rgb(colour))
    return box


def _draw_curves(canvas: Canvas, x: int, y: int, history, grad_norms, layer_names, score_title: str,
                 regression: bool, standardized: bool = False) -> dict[str, Box]:
    epochs = np.asarray(history["epoch"], dtype=np.float64)
    norms = np.asarray(grad_norms, dtype=np.float64).reshape(len(epochs), len(layer_names))
    splits = lambda prefix: [(label, history[f"{key}_{prefix}"], colour)  # noqa: E731
                             for label, key, colour in zip(SPLIT_LABELS, ("train", "val"), SPLIT_COLOURS)]
    loss_title = "Loss (log scale" + ("; on standardized targets)" if standardized else ")")
    boxes = {
        "loss": _curve_panel(canvas, x, y, loss_title, epochs, splits("loss"), log_y=True),
        "score": _curve_panel(canvas, x, y + CURVE_PITCH, score_title, epochs, splits("acc"), log_y=False,
                              clip=None if regression else (0.0, 1.0)),
        "norms": _curve_panel(canvas, x, y + 2 * CURVE_PITCH, "Gradient norm per layer (log scale)", epochs,
                              [(name, norms[:, i], layer_colour(i)) for i, name in enumerate(layer_names)],
                              log_y=True),
    }
    last = boxes["norms"]
    canvas.text((last.x + last.w / 2, last.y + last.h + 15), "epoch", size=10, fill=MUTED, anchor="ma")
    return boxes


# --- whole pictures -------------------------------------------------------------------------------------

LIVE_BOUNDARY = Box(46, 22, BOUNDARY, BOUNDARY)  # where a live picture's boundary plot area lies
CURVES_X = 46 + BOUNDARY + 90    # left edge of the curve panels' plot areas beside a boundary
CURVES_W = CURVE_W + 150         # a curve panel with its tick labels and legend


def _stack(band: np.ndarray, below: np.ndarray | None) -> np.ndarray:
    if below is None:
        return band
    width = max(band.shape[1], below.shape[1])
    pad = lambda a: np.pad(a, ((0, 0), (0, width - a.shape[1]), (0, 0)), constant_values=255)  # noqa: E731
    return np.vstack([pad(band), np.full((8, width, 3), 255, np.uint8), pad(below)])


def _histograms(snap, max_width: int) -> np.ndarray | None:
    if len(snap.hist_steps) == 0:
        return None
    return histograms.histograms_image(snap.hist_steps, snap.grad_hist, snap.weight_hist, snap.hist_edges,
                                       snap.layer_names, max_width=max_width)


def _curves_words(snap, score_title: str) -> str:
    return (f"Right: loss (log scale) and {score_title.lower()} per epoch for train and validation, and the "
            f"gradient norm of each layer ({', '.join(snap.layer_names)}).")


def _histogram_words(snap) -> str:
    if len(snap.hist_steps) == 0:
        return "Histograms per layer over time appear after the first epoch."
    return "Below: " + histograms.CAPTION.format(layers=", ".join(snap.layer_names))


def _standardized_targets(dataset) -> bool:
    scaling = (getattr(dataset, "y_mean", 0.0), getattr(dataset, "y_std", 1.0))
    return dataset.task == "regression" and scaling != (0.0, 1.0)


def live_picture(snap, dataset, score_title: str) -> Picture:
    """Boundary (when the data has a plane to draw) beside the curves, histograms below."""
    grid = snap.grid
    regression = dataset.task == "regression"
    if grid is None:
        picture = curves_picture(snap, score_title, regression, _standardized_targets(dataset))
        return Picture(_stack(picture.rgb, _histograms(snap, picture.rgb.shape[1])),
                       picture.caption + " " + _histogram_words(snap), picture.regions)
    width = CURVES_X + CURVES_W
    canvas = Canvas(width, BAND_H)
    title = boundary_title(dataset, grid)
    regions = {"boundary": _draw_boundary(canvas, LIVE_BOUNDARY.x, LIVE_BOUNDARY.y - 18, grid, dataset, title)}
    regions |= _draw_curves(canvas, CURVES_X, 4, snap.history, snap.grad_norms, snap.layer_names, score_title,
                            regression, standardized=_standardized_targets(dataset))
    band = canvas.result()
    shading = ("the network's prediction on the targets' colour scale" if regression
               else "class probabilities, paler where the network is unsure")
    caption = (f"Left: {title[0].lower() + title[1:]} (shading = {shading}; filled dots = train, "
               f"rings = test). {_curves_words(snap, score_title)} {_histogram_words(snap)}")
    return Picture(_stack(band, _histograms(snap, width)), caption, regions)


def boundary_picture(grid, dataset, title: str | None = None) -> Picture:
    """The boundary panel alone (lessons, races)."""
    title = title or boundary_title(dataset, grid)
    canvas = Canvas(46 + BOUNDARY + 16, BAND_H)
    box = _draw_boundary(canvas, 46, 4, grid, dataset, title)
    return Picture(canvas.result(), f"{title}: filled dots = train, rings = test.", {"boundary": box})


def curves_picture(snap, score_title: str, regression: bool = False, standardized: bool = False) -> Picture:
    """The three curve panels alone (data without a plane to draw, e.g. images)."""
    canvas = Canvas(56 + CURVES_W, BAND_H)
    regions = _draw_curves(canvas, 56, 4, snap.history, snap.grad_norms, snap.layer_names, score_title, regression,
                           standardized)
    words = _curves_words(snap, score_title).removeprefix("Right: ")
    return Picture(canvas.result(), words[0].upper() + words[1:], regions)
