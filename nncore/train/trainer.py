"""The Trainer: advances a run by a step or time budget and hands out immutable Snapshots.

A step is one optimizer update on one mini-batch; an epoch is one pass over the shuffled training split.
At every epoch end the Trainer evaluates train/val/test in eval mode, records (``recording``), keeps a moment
to travel back to (``timetravel``), checks early stopping (``stopping``) and advances the schedule. Everything
random is seeded, so the same config gives the same run however the budget is sliced. Changing a run mid-way
is in ``steering``; the boundary grid is a view's (``nncore.inspect.grid``).
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict

import numpy as np

from nncore.config import RunConfig
from nncore.data import Dataset, make_dataset
from nncore.engines import make_engine
from nncore.inspect import advice, metrics
from nncore.train.recording import Recording, SpeedMeter
from nncore.train.snapshot import Snapshot
from nncore.train.steering import Steering
from nncore.train.stopping import EarlyStopping
from nncore.train.timetravel import BranchPoint, KeptMoments, TimeTravel


class Trainer(Steering, TimeTravel):
    """Owns one run: data, engine, shuffling order, what it records. Not thread-safe; one owner at a time.
    ``start``: a kept moment of another run to branch from (``Trainer.from_kept``)."""

    def __init__(self, cfg: RunConfig, dataset: Dataset | None = None, *, start: BranchPoint | None = None):
        self.cfg = cfg
        self.dataset = dataset if dataset is not None else make_dataset(cfg.data)
        self.engine = make_engine(cfg, self.dataset)
        self.step = self.epoch = 0
        self.status, self.message = "ready", ""
        self.train_seconds = 0.0  # time spent training (steps and epoch-end evaluations), not drawing
        self.edits = 0            # weights set by hand (``set_weight``) so far
        self._rng = np.random.default_rng([cfg.data.seed, 1])  # batch order; independent of the data's stream
        self._augment_rng = np.random.default_rng([cfg.data.seed, 2])
        # Inputs in the network's float type (as they are when the data has it: a shared image set); a step
        # gathers its mini-batch by the epoch's shuffled order, so no run holds a shuffled copy of the split.
        dtype = np.float32 if cfg.model.dtype == "float32" else np.float64
        self._splits = {s: (np.ascontiguousarray(self.dataset.split(s)[0], dtype=dtype), self.dataset.split(s)[1])
                        for s in ("train", "val", "test")}
        self._order = self._rng.permutation(len(self.dataset.y_train))
        self._cursor = 0
        self._callbacks: dict[str, list] = defaultdict(list)
        self._safe_params = self.engine.get_params()    # last finite weights (epoch boundary)
        self._safe_point = (0, 0)
        self._stopping = EarlyStopping()
        self._restored_epoch: int | None = None          # the epoch whose weights early stopping restored
        self.speed = SpeedMeter()
        self.recording = Recording(len(self.engine.layer_names), self.dataset.task)
        self.kept = KeptMoments(sum(v.nbytes for layer in self._safe_params for v in layer.values()))
        if start is None:
            self.recording.histograms(self.engine, 0)
            self._keep()
        else:
            self._start_from(start)

    def add_callback(self, event: str, fn) -> None:
        """Call ``fn(trainer)`` on ``event``: "on_epoch_end" or "on_stop"."""
        self._callbacks[event].append(fn)

    def _fire(self, event: str) -> None:
        for fn in self._callbacks[event]:
            fn(self)

    @property
    def running(self) -> bool:
        return self.status in ("ready", "running")

    def run(self, steps: int | None = None, seconds: float | None = None) -> Snapshot:
        """Train for ``steps`` updates or ``seconds`` of wall time (whichever ends first), then snapshot."""
        self.advance(steps, seconds)
        return self.snapshot()

    def advance(self, steps: int | None = None, seconds: float | None = None) -> None:
        """``run`` without the snapshot. The time spent here adds up in ``train_seconds``."""
        if steps is None and seconds is None:
            raise ValueError("give steps or seconds")
        start = time.perf_counter()
        _flush_denormals()
        deadline = start + seconds if seconds is not None else math.inf
        limit = self.step + steps if steps is not None else math.inf
        if self.running:
            self.status = "running"
        # Overflow on the way to a non-finite loss is not an error here: the step that produces it stops the
        # run and says why (status "diverged"), so NumPy need not warn about it as well.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while self.running and self.step < limit and time.perf_counter() < deadline:
                self._train_one()
        end = time.perf_counter()
        self.train_seconds += end - start
        self.speed.mark(self.step, end)

    def _train_one(self) -> None:
        """One step on the next mini-batch of the epoch's order; the epoch ends when the order is used up."""
        n = len(self._order)
        start, stop = self._cursor, min(self._cursor + self.cfg.train.batch_size, n)
        self._cursor = stop
        if stop - start > 1 or not self.cfg.model.batch_norm:
            # (batch norm cannot normalize a lone leftover sample: that one is skipped)
            rows = self._order[start:stop]
            X_train, y_train = self._splits["train"]
            loss = self.engine.train_step(self._augment(X_train[rows]), y_train[rows])
            self.step += 1
            if not math.isfinite(loss):
                return self._diverged(loss)
            self.recording.add_step(loss, self.engine.grad_norms())
        if self._cursor >= n:
            self._end_epoch()

    def _end_epoch(self) -> None:
        self._cursor = 0
        self._order = self._rng.permutation(len(self.dataset.y_train))
        row = self._evaluate()
        if not all(math.isfinite(row[k]) for k in ("train_loss", "val_loss")):
            return self._diverged(math.nan)  # the epoch does not count: its weights are gone
        self.epoch += 1
        self.recording.end_epoch({**row, "epoch": self.epoch, "step": self.step, "lr": self.engine.lr}, self.engine)
        self._safe_params, self._safe_point = self.engine.get_params(), (self.epoch, self.step)
        if self.kept.due(self.epoch):
            self._keep()
        self.engine.end_epoch()
        self._fire("on_epoch_end")
        self._check_stop(row["val_loss"])

    def _evaluate(self) -> dict[str, float]:
        """Loss and score of every split in eval mode: accuracy (``*_acc``), or R² (``*_r2``) for regression."""
        row, task = {}, self.dataset.task
        for split in ("train", "val", "test"):
            X, y = self._splits[split]
            out = self.engine.forward(X)
            row[f"{split}_loss"] = metrics.data_loss(out, y, task)
            if task == "regression":
                row[f"{split}_r2"] = metrics.r2(out, y)
            else:
                row[f"{split}_acc"] = metrics.accuracy(out, y, task)
        return row

    def _check_stop(self, val_loss: float) -> None:
        t, best = self.cfg.train, self._stopping
        if best.out_of_patience(val_loss, self._safe_params, self.epoch, t):
            restore = t.restore_best and best.params is not None
            if restore:
                self.engine.set_params(best.params)
                self._restored_epoch = best.epoch
            self._stop("early_stopped", best.message(self.epoch, t, restore))
        elif self.epoch >= t.epochs:
            self._stop("done", advice.end_of_run(self.recording.history, t.epochs, t.min_delta))

    def _diverged(self, loss: float) -> None:
        step, epoch = self._safe_point
        self.engine.set_params(self._safe_params)
        self._stop("diverged", f"loss became {'NaN' if math.isnan(loss) else 'infinite'} at step {self.step}: "
                   f"learning rate too high? Weights were restored to the last finite state (epoch {epoch}, step "
                   f"{step}). Lower the learning rate or turn on gradient clipping, then Reset.")

    def _stop(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        self._fire("on_stop")

    def _augment(self, X: np.ndarray) -> np.ndarray:
        t, shape = self.cfg.train, self.dataset.image_shape
        if shape is None or not (t.augment_flip or t.augment_shift or t.augment_rotate):
            return X
        from nncore.data.images import augment_batch
        return augment_batch(X, shape, self._augment_rng, flip=t.augment_flip, shift=t.augment_shift,
                             rotate=t.augment_rotate)

    def snapshot(self) -> Snapshot:
        return Snapshot(step=self.step, epoch=self.epoch, status=self.status, message=self.message,
                        **self.recording.arrays(), layer_names=tuple(self.engine.layer_names),
                        steps_per_sec=self.speed.rate(), lr=self.engine.lr, task=self.dataset.task, config=self.cfg,
                        best_epoch=self._restored_epoch)


def _flush_denormals() -> None:
    """Per thread: denormal floats make torch's Adam ~10x slower. Only where torch is loaded already: a NumPy
    run never pays torch's import (the NumPy optimizers zero their own denormal moments)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_flush_denormal(True)
