"""What a run records as it trains: per-epoch histories and gradient norms, weight and gradient histograms,
and the speed meter. The Trainer feeds it each step's loss and norms and each epoch's evaluation."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from types import MappingProxyType

import numpy as np

from nncore.inspect import metrics
from nncore.train.snapshot import frozen, history_keys

MAX_HIST_RECORDS = 64  # histogram frames kept per layer; older ones are thinned to every other


class Column:
    """An append-only float64 series (values, or rows of ``width`` values) read as read-only views in O(1): what
    a view holds is never written again (new values go past its end, or into a larger buffer once this one is
    full), so a snapshot taken every frame costs the same at epoch 10 as at epoch 10,000 (a copy of every
    history per snapshot grew with the run: 3-7 ms per frame at epoch 6,000, docs/measurements.md)."""

    def __init__(self, width: int | None = None, values=()):
        self.width = width
        rows = np.asarray(values, dtype=np.float64).reshape((-1,) if width is None else (-1, width))
        self._n = len(rows)
        self._buf = np.empty((max(16, 2 * self._n),) + rows.shape[1:])
        self._buf[:self._n] = rows

    def append(self, value) -> None:
        if self._n == len(self._buf):  # full: a buffer twice the size (views of the old one stay as they are)
            bigger = np.empty((2 * len(self._buf),) + self._buf.shape[1:])
            bigger[:self._n] = self._buf[:self._n]
            self._buf = bigger
        self._buf[self._n] = value
        self._n += 1

    def view(self) -> np.ndarray:
        """The values so far, (n,) or (n, width), read-only."""
        out = self._buf[:self._n].view()
        out.setflags(write=False)
        return out

    def head(self, n: int) -> Column:
        """A copy of the first ``n`` values."""
        return Column(self.width, self._buf[:min(n, self._n)])

    def __len__(self) -> int:
        return self._n

    def __array__(self, dtype=None, copy=None):
        out = self.view() if dtype is None else self.view().astype(dtype)
        return out.copy() if copy and out.base is not None else out


class Recording:
    """Histories (``history_keys(task)`` -> one value per epoch), per-epoch mean gradient norms per layer, and
    histogram frames of the weights and weight gradients (bounded: beyond MAX_HIST_RECORDS frames, every
    other one is dropped and frames are taken half as often)."""

    def __init__(self, n_layers: int, task: str):
        self.n_layers, self.task = n_layers, task
        self.keys = history_keys(task)
        self.history: dict[str, Column] = defaultdict(Column, {k: Column() for k in self.keys})  # one per epoch
        self.norms = Column(n_layers)           # (L,) per finished epoch
        self.hist_steps: list[int] = []
        self.grad_hist: list[np.ndarray] = []   # (L, B) per frame
        self.weight_hist: list[np.ndarray] = []
        self.hist_every = 1                     # a frame every this many epochs
        self._losses: list[float] = []          # this epoch's step losses and gradient norms so far
        self._norms: list[np.ndarray] = []

    def add_step(self, loss: float, grad_norms: np.ndarray) -> None:
        self._losses.append(loss)
        self._norms.append(grad_norms)

    def end_epoch(self, row: dict[str, float], engine) -> None:
        """Record a finished epoch: ``row`` holds every one of ``keys`` but ``batch_loss`` (the mean step
        loss, added here); a histogram frame is taken when one is due."""
        row["batch_loss"] = float(np.mean(self._losses)) if self._losses else math.nan
        for key in self.keys:
            self.history[key].append(row[key])
        self.norms.append(np.mean(self._norms, axis=0) if self._norms else np.zeros(self.n_layers))
        self._losses, self._norms = [], []
        if row["epoch"] % self.hist_every == 0:
            self.histograms(engine, row["step"])

    def histograms(self, engine, step: int) -> None:
        """A histogram frame of ``engine``'s weights and weight gradients, taken at ``step``."""
        self.hist_steps.append(step)
        self.weight_hist.append(np.stack([metrics.histogram(p["W"]) for p in engine.get_params()]))
        self.grad_hist.append(np.stack([metrics.histogram(g["W"]) for g in engine.grads()]))
        if len(self.hist_steps) > MAX_HIST_RECORDS:  # keep memory bounded: thin to every other frame
            self.hist_steps = self.hist_steps[::2]
            self.weight_hist = self.weight_hist[::2]
            self.grad_hist = self.grad_hist[::2]
            self.hist_every *= 2

    def until(self, epoch: int, step: int) -> Recording:
        """A copy holding what was recorded up to the end of ``epoch`` (histogram frames up to ``step``)."""
        other = Recording(self.n_layers, self.task)
        other.history = defaultdict(Column, {k: v.head(epoch) for k, v in self.history.items()})
        other.norms = self.norms.head(epoch)
        frames = [i for i, s in enumerate(self.hist_steps) if s <= step]
        other.hist_steps = [self.hist_steps[i] for i in frames]
        other.grad_hist = [self.grad_hist[i] for i in frames]
        other.weight_hist = [self.weight_hist[i] for i in frames]
        other.hist_every = self.hist_every
        return other

    def arrays(self) -> dict:
        """The Snapshot fields this holds, read-only: the histories and norms as views that are never written
        again (``Column``), the histogram frames as copies (at most MAX_HIST_RECORDS of them)."""
        return dict(history=MappingProxyType({k: self.history[k].view() for k in self.keys}),
                    grad_norms=self.norms.view(),
                    hist_edges=metrics.HIST_EDGES, hist_steps=frozen(self.hist_steps),
                    grad_hist=frozen(self.grad_hist), weight_hist=frozen(self.weight_hist))


class SpeedMeter:
    """Optimizer steps per second over the last few seconds of training calls."""

    def __init__(self):
        self._marks: list[tuple[float, int]] = []  # (time, step) at the end of each training call

    def mark(self, step: int, now: float | None = None) -> None:
        self._marks.append((time.perf_counter() if now is None else now, step))

    def rate(self, window: float = 3.0) -> float:
        marks = self._marks
        now = time.perf_counter()
        while len(marks) > 2 and now - marks[0][0] > window:
            marks.pop(0)
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return 0.0
        return (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
