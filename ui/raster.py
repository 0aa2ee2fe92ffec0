"""Charts drawn on the server as pictures (Pillow): axes with nice ticks, lines, dots and legends.

A live frame is one picture, so the browser only swaps an image per frame: a chart library in the browser
cost it ~100 ms of main-thread time per frame (measured in Chromium), a picture a few milliseconds. Everything
is drawn at ``SCALE`` times its final size and reduced once with a box filter, which antialiases lines,
dots and text. Coordinates given to a ``Canvas`` are final pixels. Pure: no Streamlit here.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SCALE = 2
INK, MUTED, FRAME, GRIDLINE = (49, 51, 63), (110, 112, 120), (190, 190, 196), (236, 236, 240)
WHITE = (255, 255, 255)


@functools.lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=2048)
def _text_mask(s: str, size: int, anchor: str) -> tuple[tuple[int, int], Image.Image]:
    """(offset from the anchor point, greyscale coverage mask) of one label."""
    left, top, right, bottom = font(size).getbbox(s, anchor=anchor)
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), s, fill=255, font=font(size), anchor=anchor)
    return (left, top), mask


def nice_step(span: float, count: int, integer: bool = False) -> float:
    """The 1-2-2.5-5 × 10^k step nearest (on a log scale) to cutting ``span`` into ``count`` parts (whole
    numbers only, and no 2.5, for ``integer`` axes such as epochs)."""
    raw = span / max(count, 1)
    base = 10.0 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = min((m * base for m in multiples), key=lambda s: abs(math.log(s / raw)))
    return max(step, 1.0) if integer else step


def linear_ticks(lo: float, hi: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round values inside [lo, hi], about ``count`` + 1 of them."""
    if not hi > lo:
        return [lo]
    step = nice_step(hi - lo, count, integer)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten inside [lo, hi] (every other one over many decades); 1-2-5 steps within a decade."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = [10.0 ** k for k in range(a, b + 1) if lo <= 10.0 ** k <= hi * (1 + 1e-9)]
    if len(decades) >= 2:
        stride = 1 if len(decades) <= 5 else 2
        return decades[::stride]
    ticks = [m * 10.0 ** k for k in range(a, b + 1) for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
    return ticks if len(ticks) >= 2 else [t for t in linear_ticks(lo, hi, 3) if t > 0]


def tick_label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Axis:
    """A value range mapped onto a pixel span (log or linear)."""

    lo: float
    hi: float
    log: bool = False
    integer: bool = False  # ticks on whole numbers only (epochs, steps)

    @classmethod
    def fit(cls, values, log: bool = False, pad: float = 0.05, clip: tuple[float, float] | None = None) -> "Axis":
        """The range of the finite values (positive ones on a log axis), padded; a unit range if none."""
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[np.isfinite(v) & ((v > 0) if log else True)]
        if v.size == 0:
            return cls(0.1, 10.0, True) if log else cls(0.0, 1.0)
        lo, hi = float(v.min()), float(v.max())
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi - lo < 1e-9:
            lo, hi = lo - (0.2 if log else max(abs(lo) * 0.1, 0.05)), hi + (0.2 if log else max(abs(hi) * 0.1, 0.05))
        span = hi - lo
        lo, hi = lo - pad * span, hi + pad * span
        if log:
            return cls(10.0 ** lo, 10.0 ** hi, True)
        if clip is not None:
            lo, hi = max(lo, clip[0]), min(hi, clip[1])
        return cls(lo, hi)

    def fraction(self, values) -> np.ndarray:
        """0 at ``lo``, 1 at ``hi`` (NaN where a log axis gets a value <= 0)."""
        v = np.asarray(values, dtype=np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
            return (v - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    def ticks(self) -> list[float]:
        return log_ticks(self.lo, self.hi) if self.log else linear_ticks(self.lo, self.hi, integer=self.integer)


@dataclass(frozen=True)
class Box:
    """A plot area in final pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def px(self, fx, fy) -> tuple[np.ndarray, np.ndarray]:
        """Fractions of the box (0..1, y upwards) -> final pixel coordinates."""
        return self.x + np.asarray(fx) * self.w, self.y + (1 - np.asarray(fy)) * self.h


class Canvas:
    """An RGB picture drawn at SCALE times ``width`` x ``height``; every coordinate is in final pixels."""

    def __init__(self, width: int, height: int):
        self.img = Image.new("RGB", (width * SCALE, height * SCALE), WHITE)
        self.draw = ImageDraw.Draw(self.img)
        self._final: list[tuple[Image.Image, Box]] = []

    def later(self, picture: Image.Image, box: "Box") -> None:
        """Place a picture that is already at final size (e.g. a shaded plot area) into ``box`` after the
        reduction, framed again so that its edges stay crisp."""
        self._final.append((picture, box))

    def text(self, xy, s: str, size: int = 11, fill=INK, anchor: str = "la") -> None:
        """Text with its ``anchor`` (Pillow's two-letter anchors) at ``xy``. Rendered glyph masks are cached:
        most labels repeat from frame to frame, and rendering them was a third of a frame's drawing time."""
        if "²" in s:  # the built-in font has no superscript two: draw a small raised "2"
            head, tail = s.split("²", 1)
            if anchor[0] != "l":
                xy = (xy[0] - self.text_width(s, size) * (0.5 if anchor[0] == "m" else 1.0), xy[1])
                anchor = "l" + anchor[1]
            self.text(xy, head, size, fill, anchor)
            x = xy[0] + self.text_width(head, size)
            self.text((x, xy[1] - size * 0.35), "2", max(size - 3, 6), fill, anchor)
            self.text((x + self.text_width("2", max(size - 3, 6)), xy[1]), tail, size, fill, anchor)
            return
        (dx, dy), mask = _text_mask(s, size * SCALE, anchor)
        x, y = round(xy[0] * SCALE) + dx, round(xy[1] * SCALE) + dy
        self.img.paste(fill, (x, y, x + mask.width, y + mask.height), mask)

    def text_width(self, s: str, size: int = 11) -> float:
        if "²" in s:
            head, tail = s.split("²", 1)
            return self.text_width(head, size) + self.text_width("2", max(size - 3, 6)) + self.text_width(tail, size)
        return font(size * SCALE).getlength(s) / SCALE

    def line(self, points, fill, width: float = 1.0) -> None:
        self.draw.line([(x * SCALE, y * SCALE) for x, y in points], fill=fill, width=max(1, round(width * SCALE)),
                       joint="curve")

    def rect(self, x0, y0, x1, y1, outline=None, fill=None) -> None:
        self.draw.rectangle((x0 * SCALE, y0 * SCALE, x1 * SCALE - 1, y1 * SCALE - 1), outline=outline, fill=fill,
                            width=SCALE // 2 or 1)

    def polyline(self, box: Box, x_axis: Axis, y_axis: Axis, xs, ys, fill, width: float = 1.5) -> None:
        """A series as connected segments inside ``box``; non-finite values (and values off a log axis) break
        the line instead of drawing to nowhere."""
        fx, fy = x_axis.fraction(xs), y_axis.fraction(ys)
        ok = np.isfinite(fx) & np.isfinite(fy)
        px, py = box.px(fx, np.clip(fy, -0.02, 1.02))
        runs = np.split(np.arange(len(ok)), np.flatnonzero(np.diff(ok.astype(np.int8))) + 1)
        for run in runs:
            if len(run) and ok[run[0]]:
                pts = list(zip(px[run].tolist(), py[run].tolist()))
                if len(pts) == 1:
                    x, y = pts[0]
                    self.draw.ellipse(((x - 1.5) * SCALE, (y - 1.5) * SCALE, (x + 1.5) * SCALE, (y + 1.5) * SCALE),
                                      fill=fill)
                else:
                    self.line(pts, fill, width)

    def result(self) -> np.ndarray:
        """The picture at its final size, (H, W, 3) uint8."""
        img = self.img.reduce(SCALE)
        draw = ImageDraw.Draw(img)
        for picture, box in self._final:
            img.paste(picture, (box.x, box.y))
            draw.rectangle((box.x - 1, box.y - 1, box.x + box.w, box.y + box.h), outline=FRAME)
        return np.asarray(img)


def draw_axes(canvas: Canvas, box: Box, x_axis: Axis, y_axis: Axis, x_title: str = "", y_title: str = "",
              x_format=tick_label, y_format=tick_label, grid: bool = True) -> None:
    """Gridlines (``grid``), frame, tick marks and labels (and axis titles) of one plot area."""
    for value in y_axis.ticks():
        _, y = box.px(0, y_axis.fraction(value))
        if grid:
            canvas.line([(box.x, float(y)), (box.x + box.w, float(y))], GRIDLINE, 1)
        canvas.line([(box.x - 3, float(y)), (box.x, float(y))], FRAME, 1)
        canvas.text((box.x - 4, float(y)), y_format(value), size=10, fill=MUTED, anchor="rm")
    for value in x_axis.ticks():
        x, _ = box.px(x_axis.fraction(value), 0)
        if grid:
            canvas.line([(float(x), box.y), (float(x), box.y + box.h)], GRIDLINE, 1)
        canvas.line([(float(x), box.y + box.h), (float(x), box.y + box.h + 3)], FRAME, 1)
        canvas.text((float(x), box.y + box.h + 3), x_format(value), size=10, fill=MUTED, anchor="ma")
    canvas.rect(box.x, box.y, box.x + box.w, box.y + box.h, outline=FRAME)
    if x_title:
        canvas.text((box.x + box.w / 2, box.y + box.h + 15), x_title, size=10, fill=MUTED, anchor="ma")
    if y_title:
        canvas.text((box.x - 4, box.y - 3), y_title, size=10, fill=MUTED, anchor="rb")


def legend(canvas: Canvas, x: float, y: float, entries, row: int = 13, mark: str = "line") -> None:
    """A column of entries (label, colour) starting at (x, y): a short line (or a dot) and the label."""
    for i, (label, colour) in enumerate(entries):
        cy = y + i * row + row / 2
        if mark == "line":
            canvas.line([(x, cy), (x + 12, cy)], colour, 2)
        else:
            canvas.draw.ellipse(((x + 2) * SCALE, (cy - 4) * SCALE, (x + 10) * SCALE, (cy + 4) * SCALE), fill=colour)
        canvas.text((x + 16, cy), label, size=10, anchor="lm")


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
