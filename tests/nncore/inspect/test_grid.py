"""The boundary grid: computed only when a view asks (a plain run never does), covering the data, in the 2-D
plane or a table's PCA plane, and the same grid the Trainer computed before it moved here."""

import numpy as np
import pytest

from nncore.config import DataConfig
from nncore.data import split_dataset
from nncore.inspect import grid as grid_module
from nncore.inspect import metrics
from nncore.inspect.grid import boundary_grid, has_plane, plane
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg


def reference_grid(engine, ds, r):
    """The grid as ``Trainer.grid()`` computed it (2 features): the data's extent with a 10% margin,
    the network's probabilities over an r×r mesh of it."""
    raw = ds.unscale(np.concatenate([ds.X_train, ds.X_val, ds.X_test]))
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    pad = (hi - lo) * 0.1 + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], r)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], r)
    gx, gy = np.meshgrid(xs, ys)
    points = ds.scale(np.stack([gx.ravel(), gy.ravel()], axis=1))
    return xs, ys, metrics.probabilities(engine.forward(points), ds.task).reshape(r, r, -1)


def test_a_plain_run_never_evaluates_the_grid(monkeypatch):
    """Training, snapshots and looks back pay for no grid: every forward pass is an epoch-end evaluation of
    a split (the grid module is not even reached)."""
    trainer = Trainer(make_cfg(dataset="moons", n_points=200, epochs=40, engine="numpy"))
    ds = trainer.dataset
    rows = []
    forward = trainer.engine.forward
    trainer.engine.forward = lambda X: (rows.append(len(X)), forward(X))[1]

    def no_grid(*args, **kwargs):
        raise AssertionError("the grid was computed without a view asking")

    monkeypatch.setattr(grid_module, "boundary_grid", no_grid)
    monkeypatch.setattr(grid_module, "plane", no_grid)
    for _ in range(5):
        trainer.run(steps=40)  # crosses several epoch ends (evaluations)
    trainer.snapshot_at(trainer.kept_epochs()[-1])
    Trainer.from_kept(trainer, 1).run(steps=40)
    assert trainer.epoch >= 3 and rows
    assert set(rows) <= {len(ds.y_train), len(ds.y_val), len(ds.y_test)}


def test_the_grid_is_the_one_the_trainer_computed_before():
    trainer = Trainer(make_cfg(dataset="moons", n_points=200, epochs=40, engine="numpy"))
    trainer.run(steps=200)
    for r in (grid_module.RESOLUTION, 17):
        got = boundary_grid(trainer.engine, trainer.dataset, r)
        xs, ys, values = reference_grid(trainer.engine, trainer.dataset, r)
        np.testing.assert_array_equal(got.xs, xs)
        np.testing.assert_array_equal(got.ys, ys)
        np.testing.assert_array_equal(got.values, values)


def test_boundary_grid_covers_the_data_with_probabilities():
    trainer = Trainer(make_cfg(dataset="blobs", classes=3))
    trainer.run(steps=200)
    grid = boundary_grid(trainer.engine, trainer.dataset, 40)
    assert grid.values.shape == (40, 40, 3)
    np.testing.assert_allclose(grid.values.sum(axis=-1), 1.0, atol=1e-9)
    raw = trainer.dataset.unscale(trainer.dataset.X_train)
    assert grid.xs[0] < raw[:, 0].min() and grid.xs[-1] > raw[:, 0].max()
    assert grid.ys[0] < raw[:, 1].min() and grid.ys[-1] > raw[:, 1].max()
    # The grid agrees with the network: the cell nearest a training point predicts what forward() predicts.
    i, j = np.abs(grid.ys - raw[0, 1]).argmin(), np.abs(grid.xs - raw[0, 0]).argmin()
    cell = trainer.dataset.scale(np.array([[grid.xs[j], grid.ys[i]]]))
    expected = metrics.probabilities(trainer.engine.forward(cell), "multiclass")[0]
    np.testing.assert_allclose(grid.values[i, j], expected, atol=1e-6)  # float32: batched vs single pass


def test_tables_with_more_features_get_a_boundary_in_their_pca_plane():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(300, 1))
    X = t * [1.0, -0.8, 0.6, 0.9] + rng.normal(size=(300, 4)) * 0.2  # four views of one hidden cause
    y = (t[:, 0] > 0).astype(int)
    ds = split_dataset("table", X, y, "classification", DataConfig(dataset="csv"), feature_names=("a", "b", "c", "d"))
    trainer = Trainer(make_cfg(dataset="csv", epochs=30), dataset=ds)
    trainer.run(steps=10_000)
    grid = boundary_grid(trainer.engine, ds, 30)
    assert grid.is_projection and grid.axes == ("PC1", "PC2") and grid.values.shape == (30, 30, 2)
    assert plane(ds) is plane(ds)  # the plane is worked out once per dataset
    coords = grid.project(ds.X_test, ds)
    assert coords.shape == (len(ds.y_test), 2)
    # The plane's first axis follows the shared cause, which decides the class: the boundary splits along it.
    left, right = grid.values[:, 0, 1].mean(), grid.values[:, -1, 1].mean()
    assert abs(left - right) > 0.8
    moons = Trainer(make_cfg(dataset="moons"))
    two = boundary_grid(moons.engine, moons.dataset, 10)
    assert not two.is_projection and two.axes == ("x1", "x2")


@pytest.mark.parametrize("n_features, image, expected", [(1, False, False), (2, False, True), (5, False, True),
                                                          (grid_module.MAX_PCA_FEATURES + 1, False, False),
                                                          (64, True, False)])
def test_which_data_has_a_plane(n_features, image, expected):
    class Data:  # only what has_plane reads
        pass
    ds = Data()
    ds.n_features, ds.image_shape = n_features, (8, 8) if image else None
    assert has_plane(ds) is expected
