"""A dataset's signature: what a network trained on it knows of its data besides the weights.

It is what turns raw rows into the network's inputs (the feature names, a table's encoding of its text
columns, the input scaling fitted on the training split) and the network's outputs into predictions (the
task, the classes, the scaling of regression targets). A ``Dataset`` has one (``Dataset.signature``); a
checkpoint stores it (``to_json`` beside the ``mean``/``std`` tensors) and an export embeds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nncore.errors import ConfigError
from nncore.registry import TASKS


def n_outputs(task: str, n_classes: int) -> int:
    """Network outputs of a task: one logit for binary, one per class for multiclass, one value for regression."""
    return n_classes if task == "multiclass" else 1


@dataclass(frozen=True, eq=False)
class Signature:
    name: str
    task: str                          # a key of registry.TASKS
    n_classes: int                     # 0 for regression
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]     # the network's inputs, in order (a table's categories one-hot encoded)
    mean: np.ndarray                   # (n_features,) float64: inputs are (raw - mean) / std
    std: np.ndarray
    image_shape: tuple[int, int] | None = None  # (rows, cols) when each row of features is an image
    y_mean: float = 0.0                # regression: prediction = output * y_std + y_mean
    y_std: float = 1.0
    encoding: dict | None = None       # a table's raw columns and categories (data.columns), else None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {TASKS.keys_text()}, got {self.task!r}", "task")
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if len(mean) != self.n_features or len(std) != self.n_features:
            raise ConfigError(f"mean and std must have {self.n_features} values (one per feature), got "
                              f"{len(mean)} and {len(std)}", "mean")
        if not (np.isfinite(self.y_mean) and np.isfinite(self.y_std) and self.y_std > 0):
            raise ConfigError(f"y_std must be > 0 and y_mean finite, got {self.y_std} and {self.y_mean}", "y_std")
        shape = tuple(int(v) for v in self.image_shape) if self.image_shape else None
        for name, value in (("class_names", tuple(self.class_names)), ("feature_names", tuple(self.feature_names)),
                            ("mean", mean), ("std", std), ("image_shape", shape),
                            ("y_mean", float(self.y_mean)), ("y_std", float(self.y_std)),
                            ("encoding", self.encoding or None)):
            object.__setattr__(self, name, value)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_outputs(self) -> int:
        return n_outputs(self.task, self.n_classes)

    @classmethod
    def of(cls, data) -> Signature:
        """The signature of a ``Dataset`` (or of anything with the same attributes; a Signature is itself)."""
        if isinstance(data, Signature):
            return data
        return cls(data.name, data.task, int(data.n_classes), tuple(data.class_names), tuple(data.feature_names),
                   data.mean, data.std, getattr(data, "image_shape", None), float(getattr(data, "y_mean", 0.0)),
                   float(getattr(data, "y_std", 1.0)), getattr(data, "encoding", None))

    def to_json(self) -> dict:
        """Everything but ``mean``/``std`` (a checkpoint keeps those as tensors), as JSON-ready values."""
        return {"name": self.name, "task": self.task, "n_classes": self.n_classes, "n_features": self.n_features,
                "n_outputs": self.n_outputs, "class_names": list(self.class_names),
                "feature_names": list(self.feature_names),
                "image_shape": list(self.image_shape) if self.image_shape else None,
                "y_mean": self.y_mean, "y_std": self.y_std, "encoding": self.encoding}
