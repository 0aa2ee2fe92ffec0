"""What to do next when a run has used all its epochs, read from its validation-loss curve.

Three cases: the validation loss was still falling over the last tenth of the run (more epochs would help),
it rose clearly above its best while the training loss went on falling (the network memorizes the training
split: regularize), or it levelled off (more epochs will not help).
"""

from __future__ import annotations

import math

import numpy as np

RISE = 0.10       # overfitting: the final validation loss is this much (relative) above its best
FALL = 0.01       # still improving: the validation loss fell by this much (relative) over the last tenth


def end_of_run(history, epochs: int, min_delta: float = 0.0) -> str:
    """The closing message of a run that finished its ``epochs``; ``history`` maps "train_loss" and
    "val_loss" to one value per epoch. A fall smaller than ``min_delta`` (early stopping's notion of no
    improvement) does not count as still improving."""
    done = f"finished the {epochs} epochs set"
    val = np.asarray(history.get("val_loss", ()), dtype=np.float64)
    train = np.asarray(history.get("train_loss", ()), dtype=np.float64)
    if len(val) < 2 or not np.isfinite(val).all():
        return f"{done}; raise Epochs to train on"
    window = max(1, len(val) // 10)
    best = int(np.argmin(val))
    final, lowest = float(val[-1]), float(val[best])
    scale = max(abs(lowest), 1e-12)
    if final > lowest + RISE * scale and best < len(val) - window and train[-1] < train[best]:
        return (f"{done}. Overfitting: validation loss was lowest at epoch {best + 1} ({_g(lowest)}) and rose to "
                f"{_g(final)} while training loss kept falling; turn on early stopping (it keeps the best "
                f"epoch's weights), or add L2 or dropout, or use a smaller network")
    before = float(val[-window - 1])
    if before - final > max(FALL * abs(before), min_delta):
        span = "epoch" if window == 1 else f"{window} epochs"
        return (f"{done} while validation loss was still falling ({_g(before)} to {_g(final)} over the last "
                f"{span}); raise Epochs to train on")
    return (f"{done}; validation loss has levelled off (best {_g(lowest)} at epoch {best + 1}): more epochs "
            f"will not help much")


def _g(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)
