"""Input features for 2-D data, as in TensorFlow Playground: the network can read x1², x1·x2, sin x1 and more
instead of (or beside) x1 and x2.

The maps act on the network's input as the engines receive it, i.e. after the dataset's standardization:
``x1_sq`` is the square of the standardized x1. The engines apply them inside every entry point, so callers
keep passing the data's two columns; exports apply them inside the exported model too.

``ModelConfig.inputs`` holds the keys, in network order. The default ``("x1", "x2")`` means "the data's
features as they are" for any dataset (a table's 13 columns, an image's pixels); any other value needs data
with exactly two features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nncore.errors import ConfigError


@dataclass(frozen=True)
class Feature:
    key: str
    label: str                        # how the app and the diagram name it
    fn: Callable                      # (x1, x2, sin) -> the feature; works on NumPy arrays and torch tensors
    code: str                         # the same as a Python expression of x1, x2 and sin (for exported scripts)


FEATURES: dict[str, Feature] = {f.key: f for f in [
    Feature("x1", "x1", lambda x1, x2, sin: x1, "x1"),
    Feature("x2", "x2", lambda x1, x2, sin: x2, "x2"),
    Feature("x1_sq", "x1²", lambda x1, x2, sin: x1 * x1, "x1 * x1"),
    Feature("x2_sq", "x2²", lambda x1, x2, sin: x2 * x2, "x2 * x2"),
    Feature("x1_x2", "x1·x2", lambda x1, x2, sin: x1 * x2, "x1 * x2"),
    Feature("sin_x1", "sin x1", lambda x1, x2, sin: sin(x1), "sin(x1)"),
    Feature("sin_x2", "sin x2", lambda x1, x2, sin: sin(x2), "sin(x2)"),
]}
KEYS: tuple[str, ...] = tuple(FEATURES)                       # every feature, in registry order
LABELS: dict[str, str] = {k: f.label for k, f in FEATURES.items()}
DEFAULT_INPUTS: tuple[str, ...] = ("x1", "x2")


def labels(keys=None) -> list[str]:
    """The labels of ``keys`` (default: of every feature, in registry order)."""
    return [FEATURES[k].label for k in (FEATURES if keys is None else keys)]


def label(key: str) -> str:
    return FEATURES[key].label if key in FEATURES else str(key)


def parse_inputs(value) -> tuple[str, ...]:
    """``"x1_sq,x2_sq"`` or a list/tuple of keys -> a tuple of keys (not yet validated)."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.replace(" ", ",").split(",") if p.strip())
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise ConfigError(f"inputs must be feature keys such as x1,x2 (one of {', '.join(FEATURES)}), got {value!r}",
                      "inputs")


def check_keys(keys: tuple) -> None:
    """Known keys, each once, at least one; the ConfigError names the valid keys."""
    valid = ", ".join(FEATURES)
    if not keys:
        raise ConfigError(f"inputs must name at least one feature (from {valid}), got none", "inputs")
    for k in keys:
        if not isinstance(k, str) or k not in FEATURES:
            raise ConfigError(f"inputs must be keys from {valid}, got {k!r}", "inputs")
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"inputs must name each feature once, got {', '.join(repeated)} more than once", "inputs")


def is_default(keys) -> bool:
    return tuple(keys) == DEFAULT_INPUTS


def active(keys) -> tuple[str, ...] | None:
    """The map an engine applies: None for the default (the data's features as they are), else the keys."""
    keys = tuple(keys)
    return None if is_default(keys) else keys


def check_inputs(keys, n_features: int, name: str = "the data") -> None:
    """Refuse non-default inputs on data without exactly two features."""
    if not is_default(keys) and n_features != 2:
        raise ConfigError(f"inputs {','.join(keys)} need data with exactly 2 features (x1, x2); {name} has "
                          f"{n_features}: use inputs x1,x2 (the data's features as they are)", "inputs")


def input_width(keys, n_features: int) -> int:
    """The first layer's fan-in: the data's features for the default, else one per input feature."""
    return n_features if is_default(keys) else len(tuple(keys))


def _columns(keys, X):
    if X.ndim != 2 or X.shape[1] != 2:
        raise ConfigError(f"inputs {','.join(keys)} are computed from 2 features (x1, x2); got data shaped "
                          f"{tuple(X.shape)}", "inputs")
    return X[:, 0], X[:, 1]


def apply(keys, X: np.ndarray) -> np.ndarray:
    """The features ``keys`` of X (n, 2): (n, len(keys)), in X's dtype."""
    X = np.asarray(X)
    x1, x2 = _columns(keys, X)
    return np.stack([FEATURES[k].fn(x1, x2, np.sin) for k in keys], axis=1).astype(X.dtype, copy=False)


def torch_apply(keys, x):
    """``apply`` for a torch tensor x (n, 2), differentiable and exportable (ONNX: Gather, Mul, Sin, Concat)."""
    import torch
    x1, x2 = _columns(keys, x)
    return torch.stack([FEATURES[k].fn(x1, x2, torch.sin) for k in keys], dim=1)


def code(keys) -> str:
    """A Python expression list of ``keys`` in terms of x1, x2 and sin, e.g. ``[x1 * x1, x2 * x2]``."""
    return "[" + ", ".join(FEATURES[k].code for k in keys) + "]"
