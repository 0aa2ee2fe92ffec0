"""scikit-learn's ``train_test_split`` (shuffled, optionally stratified) in NumPy alone: the same rows for
the same seed, so that building a toy dataset does not import scikit-learn (over a second of the first
page's load). A test checks it against scikit-learn row for row."""

from __future__ import annotations

from math import ceil

import numpy as np


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Rows drawn per class: floor of the proportional share, then the largest remainders (ties broken
    by ``rng``) until ``n_draws`` are drawn."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def split_indices(n_samples: int, test_size: float, random_state: int,
                  stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) as scikit-learn's ShuffleSplit / StratifiedShuffleSplit pick them.
    Raises ValueError where scikit-learn does (a class of one, a split smaller than the class count)."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    n_test = ceil(test_size * n_samples)
    n_train = n_samples - n_test
    if n_train <= 0:
        raise ValueError(f"{n_samples} samples leave no training rows with test_size {test_size}")
    rng = np.random.RandomState(random_state)
    if stratify is None:
        permutation = rng.permutation(n_samples)
        return permutation[n_test:n_test + n_train], permutation[:n_test]
    classes, y_indices, class_counts = np.unique(stratify, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        raise ValueError("the least populated class has only 1 member")
    if n_train < len(classes) or n_test < len(classes):
        raise ValueError(f"each split needs at least one row per class ({len(classes)} classes)")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i in range(len(classes)):
        rows = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(rows[:n_i[i]])
        test.extend(rows[n_i[i]:n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def train_test_split(X, y, test_size: float, random_state: int, stratify=None):
    """X_train, X_test, y_train, y_test, as ``sklearn.model_selection.train_test_split`` returns them."""
    train, test = split_indices(len(y), test_size, random_state, None if stratify is None else np.asarray(stratify))
    X, y = np.asarray(X), np.asarray(y)
    return X[train], X[test], y[train], y[test]
