"""Toy datasets: shapes, labels, determinism, honest splits and scaling."""

import numpy as np
import pytest

from nncore.config import DataConfig
from nncore.data import DATASETS, SPECS, make_dataset, noise_help, toy

TOY = list(SPECS)


@pytest.mark.parametrize("name", TOY)
def test_every_dataset_has_the_requested_size_and_split(name):
    ds = make_dataset(DataConfig(dataset=name, n_points=500, val_fraction=0.2, test_fraction=0.2))
    sizes = [len(ds.y_train), len(ds.y_val), len(ds.y_test)]
    assert sum(sizes) == 500
    assert sizes == [300, 100, 100]
    assert ds.X_train.shape == (300, 2) and ds.n_features == 2
    assert np.isfinite(ds.X_train).all()


@pytest.mark.parametrize("name", TOY)
def test_same_seed_same_data_other_seed_other_data(name):
    a = make_dataset(DataConfig(dataset=name, seed=3))
    b = make_dataset(DataConfig(dataset=name, seed=3))
    c = make_dataset(DataConfig(dataset=name, seed=4))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


@pytest.mark.parametrize("name, classes", [("spirals", 2), ("spirals", 5), ("blobs", 3), ("blobs", 5)])
def test_datasets_with_classes_make_that_many_balanced_classes(name, classes):
    ds = make_dataset(DataConfig(dataset=name, classes=classes, n_points=600))
    assert ds.n_classes == classes and ds.n_outputs == (1 if classes == 2 else classes)
    assert ds.task == ("binary" if classes == 2 else "multiclass")
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_val, ds.y_test]), minlength=classes)
    assert counts.min() == counts.max() == 600 // classes


@pytest.mark.parametrize("name", ["xor", "circles", "moons", "spirals", "blobs"])
def test_splits_are_stratified(name):
    ds = make_dataset(DataConfig(dataset=name, n_points=400))
    overall = np.concatenate([ds.y_train, ds.y_val, ds.y_test]).mean()
    for split in ("train", "val", "test"):
        _, y = ds.split(split)
        assert abs(y.mean() - overall) <= 0.01, f"{split} split: {y.mean():.3f} vs {overall:.3f} overall"


def test_xor_labels_follow_the_quadrants_when_clean():
    ds = make_dataset(DataConfig(dataset="xor", noise=0.0, standardize=False))
    X, y = ds.X_train, ds.y_train
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(int))


def test_circles_inner_class_is_closer_to_the_centre():
    ds = make_dataset(DataConfig(dataset="circles", noise=0.0, standardize=False))
    r = np.linalg.norm(ds.X_train, axis=1)
    assert r[ds.y_train == 1].max() < r[ds.y_train == 0].min()


def test_ripple_is_regression_with_float_targets():
    ds = make_dataset(DataConfig(dataset="ripple", noise=0.0, standardize=False))
    assert ds.task == "regression" and ds.n_outputs == 1 and ds.n_classes == 0
    X, y = ds.X_train, ds.y_train
    np.testing.assert_allclose(y, np.sin(2 * X[:, 0]) * np.cos(2 * X[:, 1]))


def test_standardization_uses_training_statistics_only():
    ds = make_dataset(DataConfig(dataset="moons", standardize=True))
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-6  # the test split is scaled, not re-centred
    raw = make_dataset(DataConfig(dataset="moons", standardize=False))
    np.testing.assert_allclose(ds.unscale(ds.X_train), raw.X_train, atol=1e-12)


def test_noise_moves_points():
    clean = make_dataset(DataConfig(dataset="moons", noise=0.0, standardize=False))
    noisy = make_dataset(DataConfig(dataset="moons", noise=0.3, standardize=False))
    assert not np.allclose(clean.X_train, noisy.X_train)


def test_registry_lists_every_generator():
    assert set(SPECS) <= set(DATASETS)


@pytest.mark.parametrize("name", list(toy.SCALES))
def test_noise_is_gaussian_jitter_of_std_noise_times_the_shapes_scale(name):
    """Same seed at noise 0 and noise s: the clean shape is shared, and the displacement is Gaussian jitter with
    std s × SCALES[name] (ripple: on the target). The bound is five standard errors of the sample std."""
    s, n = 0.3, 4000
    spec = SPECS[name]
    X0, y0 = spec.generate(n, 0.0, 2, np.random.default_rng(7))
    Xs, ys = spec.generate(n, s, 2, np.random.default_rng(7))
    np.testing.assert_array_equal(y0 if spec.task == "classification" else X0,
                                  ys if spec.task == "classification" else Xs)
    shift = (Xs - X0) if spec.task == "classification" else (ys - y0)
    scale = toy.SCALES[name][0]
    count = shift.size
    assert abs(shift.std() / scale - s) <= 5 * s / np.sqrt(2 * count), shift.std() / scale
    assert abs(shift.mean()) <= 5 * s * scale / np.sqrt(count)


def test_noise_help_states_each_scale():
    for name, (scale, what) in toy.SCALES.items():
        assert f"{scale:.2g}" in noise_help(name) and what in noise_help(name)
        assert f"{name} {scale:.2g} ({what})" in noise_help()


@pytest.mark.parametrize("name", ["circles", "moons"])
def test_circles_and_moons_draw_the_points_scikit_learn_draws_for_a_seed(name):
    """Drawn here (no sklearn.datasets import at start-up), point for point scikit-learn's for the same seed."""
    from sklearn.datasets import make_circles, make_moons
    rng = np.random.default_rng(3)
    seed = int(np.random.default_rng(3).integers(0, 2**31 - 1))
    X, y = SPECS[name].generate(301, 0.2, 2, rng)
    if name == "circles":
        ref, ref_y = make_circles(301, noise=0.2, factor=0.5, random_state=seed)
        ref = ref * 1.2
    else:
        ref, ref_y = make_moons(301, noise=0.2, random_state=seed)
        ref = (ref - [0.5, 0.25]) * 0.9
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_allclose(X, ref, rtol=0, atol=8 * np.finfo(np.float64).eps)
