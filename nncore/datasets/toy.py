"""Toy 2-D datasets, generated from a seed.

Each generator takes ``(n, noise, classes, rng)`` and returns ``X`` of shape (n, 2) in roughly [-1.5, 1.5]
and ``y``: int class ids for classification, float targets for regression. ``noise`` is the standard
deviation of Gaussian jitter in the same units as the points (0 = clean).
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_circles, make_moons


def xor(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Four quadrants, opposite ones share a class: the classic problem a linear model cannot solve."""
    y = (np.arange(n) % 2).astype(np.int64)                # balanced classes
    sx = rng.choice([-1.0, 1.0], size=n)
    sy = np.where(y == 1, sx, -sx)                          # class 1: same signs, class 0: opposite
    X = (rng.uniform(0.0, 1.0, size=(n, 2)) + 0.08) * np.stack([sx, sy], axis=1)  # margin along the axes
    return X + rng.normal(0.0, noise, size=X.shape), y


def spirals(n: int, noise: float, classes: int, rng: np.random.Generator):
    """``classes`` interleaved spiral arms, each 1.5 turns long."""
    y = np.arange(n) % classes
    t = rng.uniform(0.0, 1.0, size=n) ** 0.75      # denser towards the centre, like the arms' length
    radius = 0.1 + 1.3 * t
    angle = 3.0 * np.pi * t + 2.0 * np.pi * y / classes
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X + rng.normal(0.0, noise * 0.5, size=X.shape), y.astype(np.int64)


def circles(n: int, noise: float, classes: int, rng: np.random.Generator):
    """A ring around a disc (scikit-learn's ``make_circles``)."""
    X, y = make_circles(n_samples=n, noise=noise, factor=0.5, random_state=_seed(rng))
    return X * 1.2, y.astype(np.int64)


def moons(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Two interleaving half circles (scikit-learn's ``make_moons``), centred."""
    X, y = make_moons(n_samples=n, noise=noise * 0.8, random_state=_seed(rng))
    return (X - [0.5, 0.25]) * 0.9, y.astype(np.int64)


def blobs(n: int, noise: float, classes: int, rng: np.random.Generator):
    """``classes`` Gaussian clusters evenly spaced on a circle; spread grows with noise."""
    y = np.arange(n) % classes
    angle = 2.0 * np.pi * y / classes + 0.3
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = centres + rng.normal(0.0, 0.12 + noise, size=(n, 2))
    return X, y.astype(np.int64)


def ripple(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Regression: a smooth 2-D surface ``sin(2x)·cos(2y)`` plus noise on the target."""
    X = rng.uniform(-1.5, 1.5, size=(n, 2))
    y = np.sin(2.0 * X[:, 0]) * np.cos(2.0 * X[:, 1])
    return X, y + rng.normal(0.0, noise, size=n)


def _seed(rng: np.random.Generator) -> int:
    """A 32-bit seed drawn from ``rng``, for library generators that take ``random_state``."""
    return int(rng.integers(0, 2**31 - 1))
