"""One standardization rule (nncore.data.scaling) for every place that standardizes: generated and real
tables, regression targets, image pixels and the search's cross-validation folds."""

from __future__ import annotations

import numpy as np
import pytest

from nncore.config import DataConfig
from nncore.data import make_dataset, split_dataset
from nncore.data.scaling import STD_FLOOR, fit_scaling
from nncore.data.tabular import standardize_targets

BELOW, ABOVE = STD_FLOOR / 10, STD_FLOOR * 10  # spreads either side of the floor


def _columns(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A varying column, one whose spread is just below the floor, one just above, and a constant one."""
    rng = np.random.default_rng(0)
    signs = np.where(np.arange(n) % 2, 1.0, -1.0)  # ±1 exactly: the spread is exactly the step
    X = np.column_stack([rng.normal(3, 2, n), 5 + BELOW * signs, -1 + ABOVE * signs, np.full(n, 7.0)])
    return X, (X[:, 0] > 3).astype(np.int64)


def test_a_spread_at_or_below_the_floor_is_centred_not_divided():
    X, _ = _columns()
    mean, std = fit_scaling(X)
    assert np.array_equal(mean, X.mean(axis=0))
    assert std[0] == X.std(axis=0)[0] and std[2] == pytest.approx(ABOVE, rel=1e-3)
    assert std[1] == 1.0 and std[3] == 1.0
    scaled = (X - mean) / std
    assert np.abs(scaled[:, 1]).max() < 1e-12 and not scaled[:, 3].any()  # stays ~0, not blown up to ±1
    assert np.allclose(np.abs(scaled[:, 2]), 1.0)  # above the floor: unit variance like any feature


def test_a_1d_column_gives_scalars():
    mean, std = fit_scaling(np.full(10, 4.0))
    assert (float(mean), float(std)) == (4.0, 1.0)


def test_every_standardizing_place_uses_the_same_rule():
    X, y = _columns()
    cfg = DataConfig(dataset="moons", standardize=True)
    ds = split_dataset("t", X, y, "classification", cfg, feature_names=("a", "b", "c", "d"))
    expected = fit_scaling(ds.unscale(ds.X_train))
    assert np.array_equal(ds.std[[1, 3]], [1.0, 1.0]) and ds.std[2] != 1.0
    assert np.allclose(ds.std, expected[1], rtol=1e-9) and np.allclose(ds.mean, expected[0], rtol=1e-9)

    flat = split_dataset("t", X, X[:, 3].copy(), "regression", cfg, feature_names=("a", "b", "c", "d"))
    assert standardize_targets(flat).y_std == 1.0  # a constant target is centred only
    assert standardize_targets(ds.__class__(**{**ds.__dict__, "task": "regression",
                                                 "y_train": X[:len(ds.y_train), 0]})).y_std > 1.0

    from nncore.search.study import cv_splits
    for fold in cv_splits(ds, 3):
        assert np.array_equal(fold.std[[1, 3]], [1.0, 1.0]) and fold.std[2] != 1.0

    digits = make_dataset(DataConfig(dataset="digits", standardize=True))
    raw = digits.unscale(digits.X_train)
    constant = raw.std(axis=0) <= STD_FLOOR  # digits' always-blank corner pixels
    assert constant.any() and np.all(digits.std[constant] == 1.0) and np.all(digits.std[~constant] > STD_FLOOR)
