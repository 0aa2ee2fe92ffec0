"""Toy 2-D datasets, generated from a seed.

Each generator takes ``(n, noise, classes, rng)`` and returns ``X`` of shape (n, 2) in roughly [-1.5, 1.5]
and ``y``: int class ids for classification, float targets for regression.

``noise`` means one thing everywhere: the clean shape is drawn first, then every coordinate (the target, for
ripple) gets Gaussian jitter whose standard deviation is ``noise`` times the shape's scale, ``SCALES[name]``
(0 = clean). So noise 0.1 blurs each shape by a tenth of its own size, and the same seed gives the same clean
points at every noise level.
"""

from __future__ import annotations

import numpy as np

SPIRAL_TURN = 1.3 / 1.5     # how far a spiral arm's radius grows in one turn
BLOB_SPREAD = 0.2           # std of each blob around its centre: the clusters' own shape, before the jitter

# name -> (scale, what it measures): the jitter's std is noise × scale.
SCALES = {
    "xor": (1.0, "the side of each quadrant's square of points"),
    "spirals": (SPIRAL_TURN / 2, "the radial gap between neighbouring arms of two spirals"),
    "circles": (1.2, "the outer ring's radius"),
    "moons": (0.9, "each half moon's radius"),
    "blobs": (1.0, "the radius of the circle the cluster centres sit on"),
    "ripple": (1.0, "the surface's amplitude (the jitter is on the target)"),
}


def jitter(values: np.ndarray, noise: float, name: str, rng: np.random.Generator) -> np.ndarray:
    """``values`` plus Gaussian jitter of std ``noise × SCALES[name]``. Drawn at noise 0 too, so the random
    stream (and every later draw) is the same at any noise level."""
    return values + rng.normal(0.0, noise * SCALES[name][0], size=np.shape(values))


def xor(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Four quadrants, opposite ones share a class: the classic problem a linear model cannot solve."""
    y = (np.arange(n) % 2).astype(np.int64)                # balanced classes
    sx = rng.choice([-1.0, 1.0], size=n)
    sy = np.where(y == 1, sx, -sx)                          # class 1: same signs, class 0: opposite
    X = (rng.uniform(0.0, 1.0, size=(n, 2)) + 0.08) * np.stack([sx, sy], axis=1)  # margin along the axes
    return jitter(X, noise, "xor", rng), y


def spirals(n: int, noise: float, classes: int, rng: np.random.Generator):
    """``classes`` interleaved spiral arms, each 1.5 turns long."""
    y = np.arange(n) % classes
    t = rng.uniform(0.0, 1.0, size=n) ** 0.75      # denser towards the centre, like the arms' length
    radius = 0.1 + 1.3 * t
    angle = 3.0 * np.pi * t + 2.0 * np.pi * y / classes
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return jitter(X, noise, "spirals", rng), y.astype(np.int64)


def circles(n: int, noise: float, classes: int, rng: np.random.Generator):
    """A ring of radius 1.2 around a circle of radius 0.6 (the inner class), points evenly spaced on each."""
    n_out = n // 2
    outer = np.linspace(0.0, 2.0 * np.pi, n_out, endpoint=False)
    inner = np.linspace(0.0, 2.0 * np.pi, n - n_out, endpoint=False)
    X = np.concatenate([1.2 * np.stack([np.cos(outer), np.sin(outer)], axis=1),
                        0.6 * np.stack([np.cos(inner), np.sin(inner)], axis=1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n - n_out)]).astype(np.int64)
    return _shuffled_jitter(X, y, noise, "circles", rng)


def moons(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Two interleaving half circles of radius 0.9, centred on the origin."""
    n_out = n // 2
    top = np.linspace(0.0, np.pi, n_out)
    bottom = np.linspace(0.0, np.pi, n - n_out)
    X = np.concatenate([np.stack([np.cos(top), np.sin(top)], axis=1),
                        np.stack([1.0 - np.cos(bottom), 0.5 - np.sin(bottom)], axis=1)])
    X = (X - [0.5, 0.25]) * 0.9
    y = np.concatenate([np.zeros(n_out), np.ones(n - n_out)]).astype(np.int64)
    return _shuffled_jitter(X, y, noise, "moons", rng)


def _shuffled_jitter(X: np.ndarray, y: np.ndarray, noise: float, name: str, rng: np.random.Generator):
    """Shuffle, then jitter, drawing from one legacy stream seeded by ``rng`` in the order scikit-learn's
    ``make_circles``/``make_moons`` draw: a seed gives the points those functions gave it."""
    stream = np.random.RandomState(int(rng.integers(0, 2**31 - 1)))
    order = np.arange(len(y))
    stream.shuffle(order)
    return jitter(X[order], noise, name, stream), y[order]


def blobs(n: int, noise: float, classes: int, rng: np.random.Generator):
    """``classes`` Gaussian clusters (std 0.2) evenly spaced on the unit circle."""
    y = np.arange(n) % classes
    angle = 2.0 * np.pi * y / classes + 0.3
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = centres + rng.normal(0.0, BLOB_SPREAD, size=(n, 2))
    return jitter(X, noise, "blobs", rng), y.astype(np.int64)


def ripple(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Regression: a smooth 2-D surface ``sin(2x)·cos(2y)`` plus noise on the target."""
    X = rng.uniform(-1.5, 1.5, size=(n, 2))
    y = np.sin(2.0 * X[:, 0]) * np.cos(2.0 * X[:, 1])
    return X, jitter(y, noise, "ripple", rng)
