"""Early stopping: watches the validation loss at each epoch end and says when patience has run out."""

from __future__ import annotations

import math

from nncore.config import TrainConfig


class EarlyStopping:
    """The best validation loss so far, with its epoch and weights. Only a drop by more than ``min_delta``
    counts: a loss creeping down by rounding-sized steps has stopped learning, and the best weights are those
    of the last real improvement."""

    def __init__(self):
        self.loss, self.params, self.epoch = math.inf, None, 0

    def out_of_patience(self, val_loss: float, params: list, epoch: int, t: TrainConfig) -> bool:
        """Note the epoch's loss (and ``params``, its weights); True when ``t.early_stopping`` epochs have
        passed since the best one (never when early stopping is off)."""
        if t.early_stopping <= 0:
            return False
        if val_loss < self.loss - t.min_delta:
            self.loss, self.params, self.epoch = val_loss, params, epoch
            return False
        return epoch - self.epoch >= t.early_stopping

    def message(self, epoch: int, t: TrainConfig, restored: bool) -> str:
        by = f" by more than {t.min_delta:g}" if t.min_delta > 0 else ""
        return (f"early stopping: validation loss has not improved{by} for {t.early_stopping} epochs (best val "
                f"loss {self.loss:.4f}); best epoch {self.epoch} of {epoch}"
                + (", weights restored" if restored else f", the weights of epoch {epoch} kept"))
