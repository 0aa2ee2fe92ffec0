"""The "drawn" dataset: points a user placed on the plane, kept in the config itself.

``DataConfig.points`` holds ``(x1, x2, label)`` triples in the plane's own units (label: a class id, or a
regression target), so a run, a checkpoint and a kept run all carry their data. Values are rounded to
``DIGITS`` significant digits when they enter a drawn set, so the set's compact text (``to_text``, used in
links) gives back exactly the same points. The split is the toy sets' (seeded, stratified for classes), and
inputs are standardized with training statistics; a regression target is standardized too, because a user
may pick values on any scale.
"""

from __future__ import annotations

import math

import numpy as np

from nncore.errors import ConfigError
from nncore.registry import LABEL_TASKS

DRAWN = "drawn"
DIGITS = 4                 # significant digits of every drawn coordinate and target
MAX_POINTS = 1_000_000     # the config's own cap (the same as n_points'); a server's cap is NNPLAY_MAX_POINTS
MAX_CLASSES = 10           # class ids 0..9, the range of DataConfig.classes
FEATURES = ("x1", "x2")
TASKS = tuple(t for t in LABEL_TASKS if t != "auto")  # what "auto" resolves to


def rounded(value: float) -> float:
    """``value`` at ``DIGITS`` significant digits (as the link text writes it)."""
    return float(f"{float(value):.{DIGITS}g}")


def per_class_minimum(val_fraction: float, test_fraction: float) -> int:
    """Points each class needs (a regression: points in all) so that the seeded, stratified split puts at
    least one of them in each of train, validation and test: 2 / the smaller holdout share (10 at 20%/20%)."""
    return math.ceil(round(2.0 / min(val_fraction, test_fraction), 9))


def normalize(points) -> tuple[tuple[float, float, float], ...]:
    """``points`` (any sequence of 3-number sequences, e.g. lists from JSON) as a tuple of float triples;
    ConfigError naming the first bad point otherwise."""
    if isinstance(points, (str, bytes)):
        raise ConfigError("points must be a list of (x1, x2, label) triples, got text", "points")
    try:
        items = list(points)
    except TypeError:
        raise ConfigError(f"points must be a list of (x1, x2, label) triples, got {points!r}", "points") from None
    if len(items) > MAX_POINTS:
        raise ConfigError(f"points must hold at most {MAX_POINTS} points, got {len(items)}", "points")
    out = []
    for i, p in enumerate(items):
        try:
            triple = tuple(p)
        except TypeError:
            triple = ()
        if len(triple) != 3 or any(isinstance(v, (bool, str, bytes)) for v in triple):
            raise ConfigError(f"points[{i}] must be three numbers (x1, x2, label), got {p!r}", "points")
        try:
            values = tuple(float(v) for v in triple)
        except (TypeError, ValueError):
            raise ConfigError(f"points[{i}] must be three numbers (x1, x2, label), got {p!r}", "points") from None
        if not all(math.isfinite(v) for v in values):
            raise ConfigError(f"points[{i}] must have finite coordinates and label, got {p!r}", "points")
        out.append(values)
    return tuple(out)


def resolve_task(points, task: str) -> str:
    """"classification" or "regression" for a drawn set: ``task`` itself, or for "auto" classification when
    every label is a whole number (a class id), else regression."""
    if task in TASKS:
        return task
    whole = all(float(p[2]).is_integer() for p in points)
    return "classification" if whole else "regression"


def check(points, task: str, val_fraction: float, test_fraction: float) -> None:
    """Raise ConfigError (param "points") unless ``points`` (normalized) can be split and trained on."""
    task = resolve_task(points, task)
    need = per_class_minimum(val_fraction, test_fraction)
    shares = f"validation {val_fraction:.0%} and test {test_fraction:.0%}"
    if task == "regression":
        if len(points) < need:
            raise ConfigError(f"points: draw at least {need} points for a regression with {shares} (every split "
                              f"needs some), got {len(points)}: draw {need - len(points)} more", "points")
        return
    labels = [p[2] for p in points]
    for i, label in enumerate(labels):
        if not (label.is_integer() and 0 <= label < MAX_CLASSES):
            raise ConfigError(f"points[{i}] label must be a class id 0-{MAX_CLASSES - 1} for classification, got "
                              f"{label:g}", "points")
    if not points:
        raise ConfigError(f"points: draw at least {need} points of each of 2 or more classes (with {shares}), "
                          "got none", "points")
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    short = [(k, int(c)) for k, c in enumerate(counts) if c < need]
    if short:
        which = ", ".join(f"class {k} has {c}: draw {need - c} more" for k, c in short)
        raise ConfigError(f"points: every class needs at least {need} points so that the train, validation and "
                          f"test splits ({shares}) each get some; {which}", "points")


def class_counts(points, task: str) -> dict[int, int]:
    """Class id -> points (classification); {} for a regression."""
    if resolve_task(points, task) == "regression":
        return {}
    counts = np.bincount(np.asarray([p[2] for p in points], dtype=np.int64), minlength=2)
    return {k: int(c) for k, c in enumerate(counts)}


def make_drawn(cfg):
    """The Dataset of a drawn-points ``DataConfig`` (validated on construction)."""
    from nncore.data import split_dataset
    from nncore.data.tabular import standardize_targets
    points = np.asarray(cfg.points, dtype=np.float64).reshape(-1, 3)
    task = resolve_task(cfg.points, cfg.task)
    y = points[:, 2].astype(np.int64) if task == "classification" else points[:, 2]
    ds = split_dataset(DRAWN, points[:, :2], y, task, cfg, feature_names=FEATURES)
    if task == "regression" and cfg.standardize:
        ds = standardize_targets(ds)
    return ds


def dataset_points(ds) -> tuple[tuple[float, float, float], ...]:
    """Every point of Dataset ``ds`` (train, validation, test, in that order) in its original units with its
    label, rounded as drawn points are: the drawn set that starts from ``ds``. ``ds`` must have 2 features."""
    out = []
    for split in ("train", "val", "test"):
        X = ds.unscale(ds.split(split)[0])
        y = ds.targets(split)
        out.extend((rounded(a), rounded(b), float(int(c)) if ds.task != "regression" else rounded(c))
                   for (a, b), c in zip(X, y))
    return tuple(out)


# --- the compact text of a drawn set (links) -------------------------------------------------------------------

REGRESSION_MARK = "r:"  # a regression set's text starts with this; a classification set's has no mark


def _number(v: float) -> str:
    return f"{v:.{DIGITS}g}"


def to_text(points, task: str) -> str:
    """``points`` as ``x,y,label;x,y,label;...`` (``DIGITS`` significant digits; class ids as whole numbers),
    prefixed with ``r:`` for a regression."""
    regression = resolve_task(points, task) == "regression"
    body = ";".join(f"{_number(x)},{_number(y)},{_number(v) if regression else int(v)}" for x, y, v in points)
    return (REGRESSION_MARK if regression else "") + body


def from_text(text: str) -> tuple[tuple[tuple[float, float, float], ...], str]:
    """(points, task) from ``to_text``'s format; ConfigError naming the first bad part otherwise."""
    text = text.strip()
    task = "classification"
    if text.startswith(REGRESSION_MARK):
        task, text = "regression", text[len(REGRESSION_MARK):]
    parts = [p for p in text.split(";") if p.strip()]
    if not parts:
        raise ConfigError("the drawn points are empty: expected x,y,label;x,y,label;...", "points")
    if len(parts) > MAX_POINTS:
        raise ConfigError(f"the drawn points hold more than {MAX_POINTS} points", "points")
    points = []
    for i, part in enumerate(parts, 1):
        fields = part.split(",")
        try:
            if len(fields) != 3:
                raise ValueError
            x, y, v = (float(f) for f in fields)
        except ValueError:
            shown = part if len(part) <= 40 else part[:40] + "…"
            raise ConfigError(f"drawn point {i} must be x,y,label (three numbers), got {shown!r}", "points") from None
        if not all(math.isfinite(f) for f in (x, y, v)):
            raise ConfigError(f"drawn point {i} must have finite numbers, got {part!r}", "points")
        if task == "classification" and not (v.is_integer() and 0 <= v < MAX_CLASSES):
            raise ConfigError(f"drawn point {i} label must be a class id 0-{MAX_CLASSES - 1}, got {fields[2]!r}",
                              "points")
        points.append((rounded(x), rounded(y), float(int(v)) if task == "classification" else rounded(v)))
    return tuple(points), task
