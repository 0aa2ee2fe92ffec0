"""Snapshot: what a run looks like at one moment, as read-only arrays (safe to keep and to draw later)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from nncore.config import RunConfig

SCORE_NAMES = {"acc": "accuracy", "r2": "R²"}  # history key suffix of a split's score -> what it is called


def score_kind(task: str) -> str:
    """The history key suffix of a task's score: "acc" (accuracy) for classification, "r2" for regression."""
    return "r2" if task == "regression" else "acc"


def history_keys(task: str) -> tuple[str, ...]:
    """The series a run of ``task`` records, one value per finished epoch each. A split's score is named for
    what it holds: ``train_acc``/``val_acc``/``test_acc`` (classification) or ``*_r2`` (regression)."""
    score = score_kind(task)
    return ("epoch", "step", "lr", "train_loss", "val_loss", "test_loss", f"train_{score}", f"val_{score}",
            f"test_{score}", "batch_loss")


def frozen(a) -> np.ndarray:
    """A read-only float64 copy."""
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Snapshot:
    """What a run looks like at one moment. Arrays are read-only and never written again: safe to keep and to
    draw later.
    The boundary grid is not part of it: a view asks ``nncore.inspect.grid.boundary_grid`` for one."""

    step: int
    epoch: int
    status: str                   # "ready", "running", "done", "early_stopped" or "diverged"
    message: str                  # why the run stopped, in plain words ("" while it goes on)
    history: MappingProxyType     # history_keys(task) -> (E,) one value per finished epoch
    layer_names: tuple[str, ...]
    grad_norms: np.ndarray        # (E, L) mean L2 norm of each layer's weight gradient over each epoch
    hist_edges: np.ndarray        # (B+1,) the fixed bins of every histogram
    hist_steps: np.ndarray        # (T,) steps at which the histograms below were taken
    grad_hist: np.ndarray         # (T, L, B) counts of weight-gradient values per layer
    weight_hist: np.ndarray       # (T, L, B) counts of weight values per layer
    steps_per_sec: float
    lr: float                     # the learning rate the next step uses
    task: str                     # the data's task: "binary", "multiclass" or "regression"
    config: RunConfig = field(repr=False)
    best_epoch: int | None = None  # early stopping restored this epoch's weights (None: the last epoch's are held)

    @property
    def score(self) -> str:
        """The history key suffix of this run's score: "acc" (accuracy) or "r2" (R² of a regression)."""
        return score_kind(self.task)

    @property
    def score_name(self) -> str:
        """What the score is called: "accuracy" or "R²"."""
        return SCORE_NAMES[self.score]

    @property
    def weights_epoch(self) -> int:
        """The epoch whose weights the run holds: the restored best epoch, else the latest one."""
        return self.best_epoch if self.best_epoch is not None else self.epoch

    def last(self, key: str) -> float | None:
        """Latest value of a history series, or None before the first epoch / where it does not apply (a
        regression has no ``*_acc``, a classification no ``*_r2``)."""
        return self._at(key, len(self.history.get(key, ())))

    def final(self, key: str) -> float | None:
        """A history value of the weights the run holds (the best epoch's after early stopping restored it):
        the number every report of the run's result shows."""
        return self.last(key) if self.best_epoch is None else self._at(key, self.best_epoch)

    def _at(self, key: str, epoch: int) -> float | None:
        series = self.history.get(key, ())
        if epoch < 1 or epoch > len(series) or not math.isfinite(series[epoch - 1]):
            return None
        return float(series[epoch - 1])

    @property
    def kept_note(self) -> str:
        """e.g. "best epoch 6 of 26, weights restored" after early stopping restored weights, else ""."""
        if self.best_epoch is None:
            return ""
        return f"best epoch {self.best_epoch} of {self.epoch}, weights restored"
