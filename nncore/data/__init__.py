"""Datasets: a registry of generators, and one ``Dataset`` shape every engine and chart reads.

``make_dataset(DataConfig)`` generates, splits (stratified for classification) and optionally standardizes
with statistics from the training split only, so validation and test numbers stay honest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nncore.errors import ConfigError
from nncore.registry import Registry
from nncore.data import toy
from nncore.data.drawn import DRAWN
from nncore.data.images import IMAGE_DATASETS, IMAGE_SHAPES, make_image_dataset
from nncore.data.real import TABLES as REAL_TABLES
from nncore.data.scaling import fit_scaling
from nncore.data.signature import Signature, n_outputs


@dataclass(frozen=True)
class DatasetSpec:
    """How to make one dataset."""

    generate: Callable          # (n, noise, classes, rng) -> (X (n, d), y (n,))
    task: str                   # "classification" or "regression"
    description: str
    takes_classes: bool = False  # whether the ``classes`` setting applies (spiral arms, blobs)


SPECS: dict[str, DatasetSpec] = {
    "xor": DatasetSpec(toy.xor, "classification", "XOR: opposite quadrants share a class"),
    "spirals": DatasetSpec(toy.spirals, "classification", "interleaved spiral arms (2–5)", True),
    "circles": DatasetSpec(toy.circles, "classification", "a ring around a disc"),
    "moons": DatasetSpec(toy.moons, "classification", "two interleaving half moons"),
    "blobs": DatasetSpec(toy.blobs, "classification", "Gaussian clusters (2–5)", True),
    "ripple": DatasetSpec(toy.ripple, "regression", "regression: a rippled 2-D surface"),
}

TABLE = "csv"  # the dataset key of an uploaded table (built by ``table_to_dataset``, not generated)
DATASETS = Registry("dataset", {**{name: spec.description for name, spec in SPECS.items()},
                                **{name: spec.description for name, spec in REAL_TABLES.items()}, **IMAGE_DATASETS,
                                TABLE: "your own CSV table (upload it; pick the label and feature columns)",
                                DRAWN: "your own points: click the plane to add them (Shift-click removes)"})


def noise_help(name: str | None = None) -> str:
    """What ``noise`` does to toy set ``name`` (None: to each of them), for the sidebar and the CLI."""
    if name is None:
        return ("std of the Gaussian jitter as a fraction of each set's scale: "
                + "; ".join(f"{k} {v[0]:.2g} ({v[1]})" for k, v in toy.SCALES.items()))
    scale, what = toy.SCALES[name]
    return f"Gaussian jitter of std noise × {scale:.2g}, {what} (0 = clean)"


def is_table(name: str) -> bool:
    """Whether ``name`` is tabular data (a bundled real table or an uploaded CSV): it trains with the table
    defaults (``config.defaults_for``) and is drawn in its PCA plane when it has more than 2 features."""
    return name in REAL_TABLES or name == TABLE


@dataclass(frozen=True, eq=False)
class Dataset:
    """Split data ready for training. Inputs are already scaled; ``mean``/``std`` undo it for plotting.

    Shapes: X_* (n, d) float64; y_* (n,) int64 class ids or float64 targets.
    """

    name: str
    task: str                    # a key of registry.TASKS: "binary", "multiclass" or "regression"
    n_classes: int               # 0 for regression
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray             # (d,) subtracted before scaling (zeros when not standardized)
    std: np.ndarray              # (d,) divided by (ones when not standardized)
    image_shape: tuple[int, int] | None = None  # (rows, cols) when each row of X is a flattened image
    y_mean: float = 0.0          # regression: y_* = (target - y_mean) / y_std (identity unless standardized)
    y_std: float = 1.0

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Network outputs: one logit for binary, K logits for K classes, one value for regression."""
        return n_outputs(self.task, self.n_classes)

    @property
    def signature(self) -> Signature:
        """What a network trained on this data knows of it (saved in checkpoints, embedded in exports)."""
        return Signature.of(self)

    def scale(self, X_raw: np.ndarray) -> np.ndarray:
        return (X_raw - self.mean) / self.std

    def unscale(self, X: np.ndarray) -> np.ndarray:
        return X * self.std + self.mean

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")

    def unscale_targets(self, values: np.ndarray) -> np.ndarray:
        """Network outputs (or stored targets) of a regression back in the target's own units."""
        return np.asarray(values, dtype=np.float64) * self.y_std + self.y_mean

    def targets(self, name: str) -> np.ndarray:
        """A split's labels as the data has them: class ids, or regression targets in their own units."""
        y = getattr(self, f"y_{name}")
        return self.unscale_targets(y) if self.task == "regression" else y


def make_dataset(cfg, **image_options) -> Dataset:
    """Generate and split the dataset that ``cfg`` (a ``DataConfig``) describes. Deterministic in the seed.

    Image sets take ``image_options`` (data_dir, progress, download) for the FashionMNIST loader."""
    if cfg.dataset in IMAGE_SHAPES:
        return make_image_dataset(cfg.dataset, cfg, preprocess="standardize" if cfg.standardize else "scale",
                                  limit=cfg.limit or None, **image_options)
    if cfg.dataset == TABLE:
        raise ConfigError("dataset csv is built from an uploaded table: upload it (the app) or pass --csv FILE "
                          "(the command line)", "dataset")
    if cfg.dataset in REAL_TABLES:
        return make_real_table(cfg)
    if cfg.dataset == DRAWN:
        from nncore.data.drawn import make_drawn
        return make_drawn(cfg)
    spec = SPECS[cfg.dataset]
    classes = cfg.classes if spec.takes_classes else 2
    rng = np.random.default_rng(cfg.seed)
    X, y = spec.generate(cfg.n_points, cfg.noise, classes, rng)
    return split_dataset(cfg.dataset, X, y, spec.task, cfg, feature_names=("x1", "x2"))


def make_real_table(cfg) -> Dataset:
    """A bundled real table, split like an uploaded one (stratified for classes; a regression target is
    standardized with training statistics when ``cfg.standardize``). ``n_points`` and ``noise`` do not apply."""
    spec = REAL_TABLES[cfg.dataset]
    X, y, feature_names, class_names = spec.load()
    ds = split_dataset(cfg.dataset, X, y, spec.task, cfg, feature_names=feature_names,
                       class_names=class_names or None)
    if spec.task == "regression" and cfg.standardize:
        from nncore.data.tabular import standardize_targets
        ds = standardize_targets(ds)
    return ds


def split_dataset(name: str, X: np.ndarray, y: np.ndarray, task: str, cfg,
                  feature_names: tuple[str, ...], class_names: tuple[str, ...] | None = None) -> Dataset:
    """Split ``X, y`` into train/val/test per ``cfg`` fractions and scale with train statistics."""
    from nncore.data.splits import train_test_split  # scikit-learn's rows in NumPy alone: no scikit-learn import
    X = np.asarray(X, dtype=np.float64)
    stratify = y if task == "classification" else None
    seed = int(cfg.seed)
    holdout = cfg.val_fraction + cfg.test_fraction
    try:
        X_tr, X_ho, y_tr, y_ho = train_test_split(X, y, test_size=holdout, random_state=seed, stratify=stratify)
        test_share = cfg.test_fraction / holdout
        X_va, X_te, y_va, y_te = train_test_split(
            X_ho, y_ho, test_size=test_share, random_state=seed, stratify=y_ho if stratify is not None else None)
    except ValueError:  # a class too small to appear in every split
        classes = len(np.unique(y)) if stratify is not None else 1
        need = int(np.ceil(2 * classes / min(cfg.val_fraction, cfg.test_fraction)))
        raise ConfigError(f"n_points must be large enough to put every class in the train, validation and test "
                          f"splits: use at least {need} points for {classes} classes, or fewer classes or larger "
                          f"splits, got {len(y)}", "n_points") from None
    if cfg.standardize:
        mean, std = fit_scaling(X_tr)
    else:
        mean, std = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if task == "classification":
        n_classes = int(max(y.max() + 1, 2))
        kind = "binary" if n_classes == 2 else "multiclass"
        names = class_names or tuple(f"class {k}" for k in range(n_classes))
    else:
        n_classes, kind, names = 0, "regression", ()
        y_tr, y_va, y_te = (a.astype(np.float64) for a in (y_tr, y_va, y_te))
    return Dataset(name, kind, n_classes, tuple(names), tuple(feature_names),
                   (X_tr - mean) / std, y_tr, (X_va - mean) / std, y_va, (X_te - mean) / std, y_te, mean, std)
