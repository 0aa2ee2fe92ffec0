"""Histograms over time as one picture drawn on the server (TensorBoard's "distributions" view, per layer).

One panel per layer and kind: x = training step, y = value bin (log-spaced bins, 0 in the middle), colour =
share of the layer's values in that bin at that moment (each column normalized, log-compressed; empty bins
white). Gradients on the top row, weights below. The whole grid is one image: the browser only swaps a
picture each frame, where a chart with an axis per panel cost it ~60 ms per frame (measured in Chromium).
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw

from .raster import INK, font

KINDS = ("gradients", "weights")
CAPTION = ("Histograms per layer over time ({layers}). x: training step; y: value (log-spaced bins, 0 in "
           "the middle); colour: share of the layer's values in each bin (dark = few, yellow = most, "
           "white = none). Top row: gradients of the weights; bottom row: the weights.")
BIN_ROWS = 3            # image rows per bin (crisp bins when the browser scales the picture)
TITLE_H, AXIS_H = 16, 16  # pixels above (panel title) and below (step labels) each panel
LEFT = 44               # room for the value labels left of each panel
GAP = 10
GRID = (200, 200, 200)

# A perceptual dark-to-light colour ramp for the shares (viridis-like stops).
_RAMP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64)




def ramp(t: np.ndarray) -> np.ndarray:
    """Shares in [0, 1] -> RGB floats on the dark-to-light ramp."""
    pos = np.asarray(t, dtype=np.float64).clip(0, 1) * (len(_RAMP) - 1)
    i = np.minimum(pos.astype(int), len(_RAMP) - 2)
    frac = (pos - i)[..., None]
    return _RAMP[i] * (1 - frac) + _RAMP[i + 1] * frac


_LUT = ramp(np.linspace(0, 1, 256)).round().astype(np.uint8)  # share quantized to 1/255 -> colour


def panel_pixels(counts: np.ndarray) -> np.ndarray:
    """One layer's histograms through time, (T, B) counts -> (B * BIN_ROWS, T, 3) uint8, highest bin on top."""
    counts = np.asarray(counts, dtype=np.float64)
    shares = np.log1p(counts) / np.log1p(counts.max(axis=1, keepdims=True)).clip(min=1e-12)
    img = _LUT[(shares.T[::-1] * 255).round().astype(np.uint8)]
    img[counts.T[::-1] == 0] = 250
    return np.repeat(img, BIN_ROWS, axis=0)


def value_ticks(edges: np.ndarray, decades: tuple[int, ...] = (0, -4)) -> dict[float, str]:
    """Bin positions (0 = bottom edge) -> labels: the edges at ``decades`` (powers of ten, both signs), and 0 in
    the middle (the bins are log-spaced on each side of 0)."""
    edges = np.asarray(edges, dtype=np.float64)
    ticks = {}
    for i, e in enumerate(edges):
        mag = np.log10(abs(e)) if e else np.nan
        on_decade = abs(mag - round(mag)) < 1e-9 if e else False
        if on_decade and round(mag) in decades:
            ticks[float(i)] = ("-" if e < 0 else "") + (f"1e{int(round(mag))}" if round(mag) != 0 else "1")
    ticks[(len(edges) - 1) / 2] = "0"
    return ticks


def panel_titles(layer_names) -> list[str]:
    """Panel titles, row by row (gradients first)."""
    return [f"{name}: {kind} of W" for kind in KINDS for name in layer_names]


@functools.lru_cache(maxsize=16)
def _background(layer_names: tuple[str, ...], edges: tuple[float, ...], panel_w: int, panel_h: int) -> Image.Image:
    """Everything that stays put during a run: titles, frames and value labels of every panel."""
    n_bins = len(edges) - 1
    cell_w, cell_h = LEFT + panel_w + GAP, TITLE_H + panel_h + AXIS_H + GAP
    canvas = Image.new("RGB", (cell_w * len(layer_names), cell_h * len(KINDS)), "white")
    draw, label_font = ImageDraw.Draw(canvas), font(11)
    ticks = value_ticks(np.array(edges))
    for row, kind in enumerate(KINDS):
        for col, name in enumerate(layer_names):
            x0, y0 = col * cell_w + LEFT, row * cell_h + TITLE_H
            draw.rectangle((x0 - 1, y0 - 1, x0 + panel_w, y0 + panel_h), outline=GRID)
            draw.text((x0, y0 - TITLE_H + 1), f"{name}: {kind} of W", fill=INK, font=label_font)
            for position, label in ticks.items():
                y = y0 + panel_h * (1 - position / n_bins)
                draw.line((x0 - 4, y, x0 - 1, y), fill=INK)
                draw.text((x0 - 6, y), label, fill=INK, font=label_font, anchor="rm")
    return canvas


def histograms_image(steps: np.ndarray, grad_counts: np.ndarray, weight_counts: np.ndarray, edges: np.ndarray,
                     layer_names, max_width: int = 1000, panel_height: int = 110) -> np.ndarray:
    """The grid of panels as (H, W, 3) uint8: one column per layer (at most ``max_width`` pixels in all), the
    gradients row above the weights row. counts: (T, L, B) with T >= 1; steps: (T,)."""
    steps = np.asarray(steps)
    n_layers = len(layer_names)
    panel_w = int(min(220, max(80, (max_width - n_layers * (LEFT + GAP)) // max(n_layers, 1))))
    cell_w, cell_h = LEFT + panel_w + GAP, TITLE_H + panel_height + AXIS_H + GAP
    canvas = _background(tuple(layer_names), tuple(float(e) for e in edges), panel_w, panel_height).copy()
    draw, label_font = ImageDraw.Draw(canvas), font(11)
    first, last = int(steps[0]), int(max(steps[-1], steps[0]))
    for row, counts in enumerate((grad_counts, weight_counts)):
        counts = np.asarray(counts)
        for col in range(n_layers):
            x0, y0 = col * cell_w + LEFT, row * cell_h + TITLE_H
            panel = Image.fromarray(panel_pixels(counts[:, col])).resize((panel_w, panel_height), Image.NEAREST)
            canvas.paste(panel, (x0, y0))
            y_axis = y0 + panel_height + 2
            draw.text((x0, y_axis), f"step {first}", fill=INK, font=label_font, anchor="la")
            draw.text((x0 + panel_w, y_axis), f"{last}", fill=INK, font=label_font, anchor="ra")
    return np.asarray(canvas)
