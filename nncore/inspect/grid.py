"""The boundary grid: a network's output over a regular grid of a 2-D plane through the data.

The plane is the 2 input features in original (unscaled) units or, for a table of more features, the first two
principal components of the scaled training inputs. It depends on the data only, so it is worked out once per
Dataset; the grid itself is one forward pass, computed only when a view asks for it (``boundary_grid``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from nncore.inspect import metrics
from nncore.train.snapshot import frozen as _frozen

RESOLUTION = 80         # points per side of the grid a view draws
MAX_PCA_FEATURES = 100  # tables up to this many features get a boundary in their 2-D PCA plane
MARGIN = 0.1            # the grid reaches this share of the data's extent beyond it on every side


@dataclass(frozen=True)
class Grid:
    """Model output over a regular grid of a 2-D plane: the 2 input features in original (unscaled) units,
    or, for more features, the first two principal components of the scaled training inputs.

    xs (R,), ys (R,); values (R, R, K) class probabilities, or (R, R) for regression; row i is ys[i].
    axes: the two axis titles. For a PCA plane, ``center`` (d,) and ``components`` (2, d) map scaled
    inputs onto it (``project``); the network sees grid points mapped back (the plane through the data)."""

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    axes: tuple[str, str] = ("x1", "x2")
    center: np.ndarray | None = None
    components: np.ndarray | None = None

    @property
    def is_projection(self) -> bool:
        return self.components is not None

    def project(self, X_scaled: np.ndarray, dataset) -> np.ndarray:
        """Chart coordinates (n, 2) of scaled inputs: raw features, or their PCA coordinates."""
        if self.components is None:
            return dataset.unscale(X_scaled)
        return (X_scaled - self.center) @ self.components.T

    def inputs(self, coords: np.ndarray, dataset) -> np.ndarray:
        """The network's (scaled) inputs at chart coordinates (n, 2): the inverse of ``project`` (for a PCA
        plane, the points of the plane through the data's centre)."""
        if self.components is None:
            return dataset.scale(coords)
        return self.center + coords @ self.components


@dataclass(frozen=True)
class Plane:
    """A dataset's chart plane: an empty Grid (axes and projection) and the data's extent on it."""

    base: Grid
    lo: np.ndarray  # (2,) smallest chart coordinates of all the data (train, val and test)
    hi: np.ndarray  # (2,) largest


_planes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Dataset -> Plane | None


def has_plane(dataset) -> bool:
    """Whether the data has a plane to draw a boundary on (2 features, or a table of up to
    MAX_PCA_FEATURES features; never images)."""
    ds = dataset
    return ds.n_features == 2 or (2 < ds.n_features <= MAX_PCA_FEATURES and ds.image_shape is None)


def plane(dataset) -> Plane | None:
    """The dataset's plane, worked out once per Dataset; None where it has none (see ``has_plane``)."""
    if dataset in _planes:
        return _planes[dataset]
    found = None
    if has_plane(dataset):
        ds = dataset
        if ds.n_features == 2:
            base = Grid(np.zeros(0), np.zeros(0), np.zeros(0), tuple(ds.feature_names[:2]))
        else:
            center = ds.X_train.mean(axis=0)
            _, _, vt = np.linalg.svd(ds.X_train - center, full_matrices=False)
            base = Grid(np.zeros(0), np.zeros(0), np.zeros(0), ("PC1", "PC2"), _frozen(center), _frozen(vt[:2]))
        coords = base.project(np.concatenate([ds.X_train, ds.X_val, ds.X_test]), ds)
        found = Plane(base, coords.min(axis=0), coords.max(axis=0))
    _planes[dataset] = found
    return found


def boundary_grid(engine, dataset, resolution: int = RESOLUTION) -> Grid | None:
    """``engine``'s output over a ``resolution``² grid covering all the data with a 10% margin (one vectorized
    forward pass): class probabilities, or regression values in the target's own units. None without a plane."""
    p = plane(dataset)
    if p is None:
        return None
    ds, base = dataset, p.base
    pad = (p.hi - p.lo) * MARGIN + 1e-9
    xs = np.linspace(p.lo[0] - pad[0], p.hi[0] + pad[0], resolution)
    ys = np.linspace(p.lo[1] - pad[1], p.hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    points = base.inputs(np.stack([gx.ravel(), gy.ravel()], axis=1), ds)
    values = metrics.probabilities(engine.forward(points), ds.task)
    if ds.task == "regression":
        values = ds.unscale_targets(values)  # the surface in the target's own units
    shape = (resolution, resolution, -1) if ds.task != "regression" else (resolution, resolution)
    return Grid(_frozen(xs), _frozen(ys), _frozen(values.reshape(shape)), base.axes, base.center, base.components)
