"""The Trainer: advances a run by a step or time budget and hands out immutable Snapshots.

A step is one optimizer update on one mini-batch; an epoch is one pass over the shuffled training split.
At every epoch end the Trainer evaluates train/val/test in eval mode, records histories, histograms and
gradient norms, checks early stopping and advances the schedule. Everything random is seeded, so the same
config gives the same run no matter how the budget is sliced.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from nncore.inspect import advice, metrics
from nncore.config import RunConfig, TrainConfig
from nncore.data import Dataset, make_dataset
from nncore.engines import make_engine

HISTORY_KEYS = ("epoch", "step", "lr", "train_loss", "val_loss", "test_loss", "train_acc", "val_acc",
                "test_acc", "batch_loss")
MAX_HIST_RECORDS = 64  # histogram frames kept per layer; older ones are thinned to every other
KEEP_BYTES = 32 * 2**20  # time travel: weights kept per run at most this big (every other epoch dropped beyond)
MAX_KEPT = 64            # ... and at most this many epochs kept


@dataclass(frozen=True)
class Kept:
    """A moment a run can travel back to: the end of ``epoch`` (0 = before training)."""

    epoch: int
    step: int
    params: list
    rng_state: dict         # the shuffling generator's state, so a branch sees the same batches
    order: np.ndarray       # the next epoch's sample order


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


MAX_PCA_FEATURES = 100  # tables up to this many features get a boundary in their 2-D PCA plane


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
class Snapshot:
    """What a run looks like at one moment. Arrays are read-only copies: safe to keep and to draw later."""

    step: int
    epoch: int
    status: str                   # "ready", "running", "done", "early_stopped" or "diverged"
    message: str                  # why the run stopped, in plain words ("" while it goes on)
    history: MappingProxyType     # HISTORY_KEYS -> (E,) one value per finished epoch (NaN where n/a)
    layer_names: tuple[str, ...]
    grad_norms: np.ndarray        # (E, L) mean L2 norm of each layer's weight gradient over each epoch
    hist_edges: np.ndarray        # (B+1,) the fixed bins of every histogram
    hist_steps: np.ndarray        # (T,) steps at which the histograms below were taken
    grad_hist: np.ndarray         # (T, L, B) counts of weight-gradient values per layer
    weight_hist: np.ndarray       # (T, L, B) counts of weight values per layer
    grid: Grid | None             # None when the data has other than 2 features
    steps_per_sec: float
    lr: float                     # the learning rate the next step uses
    config: RunConfig = field(repr=False)
    best_epoch: int | None = None  # early stopping restored this epoch's weights (None: the last epoch's are held)

    @property
    def weights_epoch(self) -> int:
        """The epoch whose weights the run holds: the restored best epoch, else the latest one."""
        return self.best_epoch if self.best_epoch is not None else self.epoch

    def last(self, key: str) -> float | None:
        """Latest value of a history series, or None before the first epoch / where it does not apply."""
        return self._at(key, len(self.history[key]))

    def final(self, key: str) -> float | None:
        """A history value of the weights the run holds (the best epoch's after early stopping restored it):
        the number every report of the run's result shows."""
        return self.last(key) if self.best_epoch is None else self._at(key, self.best_epoch)

    def _at(self, key: str, epoch: int) -> float | None:
        series = self.history[key]
        if epoch < 1 or epoch > len(series) or not math.isfinite(series[epoch - 1]):
            return None
        return float(series[epoch - 1])

    @property
    def kept_note(self) -> str:
        """e.g. "best epoch 6 of 26, weights restored" after early stopping restored weights, else ""."""
        if self.best_epoch is None:
            return ""
        return f"best epoch {self.best_epoch} of {self.epoch}, weights restored"


class Trainer:
    """Owns one run: data, engine, shuffling order, histories. Not thread-safe; one owner at a time."""

    def __init__(self, cfg: RunConfig, dataset: Dataset | None = None, grid_resolution: int = 80):
        self.cfg = cfg
        self.dataset = dataset if dataset is not None else make_dataset(cfg.data)
        self.engine = make_engine(cfg, self.dataset)
        self.grid_resolution = grid_resolution
        self.step = 0
        self.epoch = 0
        self.status = "ready"
        self.message = ""
        self.train_seconds = 0.0  # time spent training (steps and epoch-end evaluations), not drawing
        self.edits = 0            # weights set by hand (``set_weight``) so far
        self._rng = np.random.default_rng([cfg.data.seed, 1])  # batch order; independent of the data's stream
        self._augment_rng = np.random.default_rng([cfg.data.seed, 2])
        # Inputs converted once to the network's float type (used as they are when the data already has it, e.g.
        # a shared image set); a step gathers its mini-batch by the epoch's shuffled order, so no run holds a
        # shuffled copy of the whole training split.
        dtype = np.float32 if cfg.model.dtype == "float32" else np.float64
        self._splits = {s: (np.ascontiguousarray(self.dataset.split(s)[0], dtype=dtype), self.dataset.split(s)[1])
                        for s in ("train", "val", "test")}
        self._order = self._rng.permutation(len(self.dataset.y_train))
        self._cursor = 0
        self._epoch_losses: list[float] = []
        self._epoch_norms: list[np.ndarray] = []
        self._history: dict[str, list[float]] = defaultdict(list)
        self._norm_history: list[np.ndarray] = []
        self._hist_steps: list[int] = []
        self._grad_hist: list[np.ndarray] = []
        self._weight_hist: list[np.ndarray] = []
        self._hist_every = 1
        self._callbacks: dict[str, list] = defaultdict(list)
        self._safe_params = self.engine.get_params()    # last finite weights (epoch boundary)
        self._safe_point = (0, 0)
        self._best = (math.inf, None, 0)                 # (val loss, params, epoch) for early stopping
        self._restored_epoch: int | None = None          # the epoch whose weights early stopping restored
        self._rate_marks: list[tuple[float, int]] = []
        self._record_histograms()
        weights_bytes = sum(v.nbytes for layer in self._safe_params for v in layer.values())
        self._keep_limit = int(np.clip(KEEP_BYTES // max(weights_bytes, 1), 2, MAX_KEPT))
        self._keep_every = 1
        self._kept: list[Kept] = []
        self._keep()

    # --- observers ------------------------------------------------------------------------------------
    def add_callback(self, event: str, fn) -> None:
        """Call ``fn(trainer)`` on ``event``: "on_epoch_end" or "on_stop"."""
        self._callbacks[event].append(fn)

    def _fire(self, event: str) -> None:
        for fn in self._callbacks[event]:
            fn(self)

    # --- running ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.status in ("ready", "running")

    def update_train(self, train: TrainConfig) -> None:
        """Change training settings mid-run (learning rate, optimizer, batch size, ...) without a reset."""
        if train == self.cfg.train:
            return
        cfg = self.cfg.replace(train=train)
        if train.engine != self.cfg.train.engine or train.device != self.cfg.train.device:
            # Another engine takes over the same weights (optimizer moments start afresh).
            engine = make_engine(cfg, self.dataset, params=self.engine.get_params())
            engine.set_train_config(train, self.epoch)
            self.engine = engine
        else:
            self.engine.set_train_config(train, self.epoch)
        self.cfg = cfg
        if self.status == "done" and self.epoch < train.epochs:
            self.status, self.message = "running", ""  # more epochs allowed now: carry on

    def set_weight(self, layer: int, source: int, target: int, value: float) -> float:
        """Set one weight by hand: the weight from unit ``source`` of layer ``layer`` (0 = the inputs) to unit
        ``target`` of the next layer, in the running engine. The run goes on from the edited weights; they are
        its last finite state, and the moment kept for time travel at this step holds them too. Returns the
        weight as the network's float type stores it."""
        params = self.engine.get_params()
        if not 0 <= layer < len(params):
            raise ValueError(f"layer {layer} does not exist: the network has {len(params)} weight layers")
        W = params[layer]["W"]  # (fan_out, fan_in)
        if W.ndim != 2 or not (0 <= target < W.shape[0] and 0 <= source < W.shape[1]):
            raise ValueError(f"no weight from unit {source} to unit {target} in layer {layer} (shape "
                             f"{W.shape[1]} -> {W.shape[0]})")
        if not math.isfinite(value):
            raise ValueError(f"a weight must be a finite number, got {value}")
        W[target, source] = value
        self.engine.set_params(params)  # refuses values the float type cannot hold, changing nothing
        self._safe_params = self.engine.get_params()
        if self._kept and self._kept[-1].step == self.step:
            last = self._kept[-1]
            self._kept[-1] = Kept(last.epoch, last.step, self._safe_params, last.rng_state, last.order)
        self.edits += 1
        return float(self._safe_params[layer]["W"][target, source])

    def load_params(self, params: list[dict]) -> None:
        """Start from these weights (e.g. a checkpoint's); they also become the run's last finite state."""
        self.engine.set_params(params)
        self._safe_params = self.engine.get_params()

    def run(self, steps: int | None = None, seconds: float | None = None) -> Snapshot:
        """Train for ``steps`` updates or ``seconds`` of wall time (whichever ends first), then snapshot."""
        self.advance(steps, seconds)
        return self.snapshot()

    def advance(self, steps: int | None = None, seconds: float | None = None) -> None:
        """``run`` without the snapshot. The time spent here (steps and epoch-end evaluations) adds up in
        ``train_seconds``."""
        if steps is None and seconds is None:
            raise ValueError("give steps or seconds")
        start = time.perf_counter()
        self._flush_denormals()
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
        self._rate_marks.append((end, self.step))

    @property
    def _X_epoch(self) -> np.ndarray:
        """This epoch's training inputs in shuffled order (gathered on demand, not kept)."""
        return self._splits["train"][0][self._order]

    def _augment(self, X: np.ndarray) -> np.ndarray:
        t, shape = self.cfg.train, self.dataset.image_shape
        if shape is None or not (t.augment_flip or t.augment_shift or t.augment_rotate):
            return X
        from nncore.data.images import augment_batch
        return augment_batch(X, shape, self._augment_rng, flip=t.augment_flip, shift=t.augment_shift,
                             rotate=t.augment_rotate)

    def _train_one(self) -> None:
        t = self.cfg.train
        n = len(self._order)
        start, stop = self._cursor, min(self._cursor + t.batch_size, n)
        self._cursor = stop
        if stop - start > 1 or not self.cfg.model.batch_norm:
            # (batch norm cannot normalize a lone leftover sample: that one is skipped)
            rows = self._order[start:stop]
            X_train, y_train = self._splits["train"]
            loss = self.engine.train_step(self._augment(X_train[rows]), y_train[rows])
            self.step += 1
            if not math.isfinite(loss):
                self._diverged(loss)
                return
            self._epoch_losses.append(loss)
            self._epoch_norms.append(self.engine.grad_norms())
        if self._cursor >= n:
            self._end_epoch()

    def _diverged(self, loss: float) -> None:
        step, epoch = self._safe_point
        self.engine.set_params(self._safe_params)
        self.status = "diverged"
        self.message = (f"loss became {'NaN' if math.isnan(loss) else 'infinite'} at step {self.step}: learning "
                        f"rate too high? Weights were restored to the last finite state (epoch {epoch}, "
                        f"step {step}). Lower the learning rate or turn on gradient clipping, then Reset.")
        self._fire("on_stop")

    def _end_epoch(self) -> None:
        self._cursor = 0
        self._order = self._rng.permutation(len(self.dataset.y_train))
        row = self._evaluate()
        if not all(math.isfinite(row[k]) for k in ("train_loss", "val_loss")):
            self._diverged(math.nan)  # the epoch does not count: its weights are gone
            return
        self.epoch += 1
        row.update(epoch=self.epoch, step=self.step, lr=self.engine.lr,
                   batch_loss=float(np.mean(self._epoch_losses)) if self._epoch_losses else math.nan)
        for key in HISTORY_KEYS:
            self._history[key].append(row[key])
        norms = np.mean(self._epoch_norms, axis=0) if self._epoch_norms else np.zeros(len(self.engine.layer_names))
        self._norm_history.append(norms)
        self._epoch_losses, self._epoch_norms = [], []
        if self.epoch % self._hist_every == 0:
            self._record_histograms()
        self._safe_params, self._safe_point = self.engine.get_params(), (self.epoch, self.step)
        if self.epoch % self._keep_every == 0:
            self._keep()
        self.engine.end_epoch()
        self._fire("on_epoch_end")
        self._check_stop(row["val_loss"])

    def _check_stop(self, val_loss: float) -> None:
        t = self.cfg.train
        if t.early_stopping > 0:
            # Only a drop by more than min_delta counts: a loss creeping down by rounding-sized steps has
            # stopped learning, and the best weights are those of the last real improvement.
            if val_loss < self._best[0] - t.min_delta:
                self._best = (val_loss, self._safe_params, self.epoch)
            elif self.epoch - self._best[2] >= t.early_stopping:
                best_loss, params, best_epoch = self._best
                self.status = "early_stopped"
                by = f" by more than {t.min_delta:g}" if t.min_delta > 0 else ""
                self.message = (f"early stopping: validation loss has not improved{by} for {t.early_stopping} "
                                f"epochs (best val loss {best_loss:.4f}); best epoch {best_epoch} of {self.epoch}")
                if t.restore_best and params is not None:
                    self.engine.set_params(params)
                    self._restored_epoch = best_epoch
                    self.message += ", weights restored"
                else:
                    self.message += f", the weights of epoch {self.epoch} kept"
                self._fire("on_stop")
                return
        if self.epoch >= t.epochs:
            self.status = "done"
            self.message = advice.end_of_run(self._history, t.epochs, t.min_delta)
            self._fire("on_stop")

    def _evaluate(self) -> dict[str, float]:
        row = {}
        task = self.dataset.task
        for split in ("train", "val", "test"):
            X, y = self._splits[split]
            out = self.engine.forward(X)
            row[f"{split}_loss"] = metrics.data_loss(out, y, task)
            acc = metrics.accuracy(out, y, task) if task != "regression" else metrics.r2(out, y)
            row[f"{split}_acc"] = acc
        return row

    def _record_histograms(self) -> None:
        params = self.engine.get_params()
        grads = self.engine.grads()
        self._hist_steps.append(self.step)
        self._weight_hist.append(np.stack([metrics.histogram(p["W"]) for p in params]))
        self._grad_hist.append(np.stack([metrics.histogram(g["W"]) for g in grads]))
        if len(self._hist_steps) > MAX_HIST_RECORDS:  # keep memory bounded: thin to every other frame
            self._hist_steps = self._hist_steps[::2]
            self._weight_hist = self._weight_hist[::2]
            self._grad_hist = self._grad_hist[::2]
            self._hist_every *= 2

    # --- time travel --------------------------------------------------------------------------------------
    def _keep(self) -> None:
        self._kept.append(Kept(self.epoch, self.step, self._safe_params, self._rng.bit_generator.state,
                               self._order.copy()))
        if len(self._kept) > self._keep_limit:  # bounded memory: keep the start and every other epoch
            self._kept = self._kept[::2]
            self._keep_every *= 2

    def kept_epochs(self) -> list[int]:
        """Epochs the run can travel back to (0 = before training), oldest first."""
        return [k.epoch for k in self._kept]

    def _kept_at(self, epoch: int) -> Kept:
        for k in self._kept:
            if k.epoch == epoch:
                return k
        raise ValueError(f"epoch {epoch} is not kept; kept: {self.kept_epochs()}")

    def engine_at(self, epoch: int):
        """An engine holding the weights of the end of a kept ``epoch`` (for looking at that moment)."""
        return make_engine(self.cfg, self.dataset, params=self._kept_at(epoch).params)

    def snapshot_at(self, epoch: int) -> Snapshot:
        """The run as it was at the end of a kept ``epoch``: curves, histograms and boundary of that moment."""
        kept = self._kept_at(epoch)
        live = self.snapshot()
        viewer = self.engine_at(epoch)
        engine, self.engine = self.engine, viewer
        try:
            grid = self.grid()
        finally:
            self.engine = engine
        history = {k: _frozen(v[:epoch]) for k, v in live.history.items()}
        frames = live.hist_steps <= kept.step
        return Snapshot(step=kept.step, epoch=epoch, status="ready", message="", history=MappingProxyType(history),
                        layer_names=live.layer_names, grad_norms=_frozen(live.grad_norms[:epoch]),
                        hist_edges=live.hist_edges, hist_steps=_frozen(live.hist_steps[frames]),
                        grad_hist=_frozen(live.grad_hist[frames]), weight_hist=_frozen(live.weight_hist[frames]),
                        grid=grid, steps_per_sec=0.0, lr=live.lr, config=self.cfg)

    def branch(self, epoch: int, train: TrainConfig | None = None) -> "Trainer":
        """A new run that continues from the end of a kept ``epoch`` with ``train`` settings (default: the
        same): same data, same weights, same next batches; histories up to that epoch. The optimizer's
        moments start afresh; the schedule resumes at that epoch."""
        kept = self._kept_at(epoch)
        cfg = self.cfg if train is None else self.cfg.replace(train=train)
        other = Trainer(cfg, self.dataset, self.grid_resolution)
        other.load_params(kept.params)
        other.engine.set_train_config(cfg.train, epoch)
        other.step, other.epoch = kept.step, epoch
        other._history = defaultdict(list, {k: list(v[:epoch]) for k, v in self._history.items()})
        other._norm_history = list(self._norm_history[:epoch])
        frames = [i for i, s in enumerate(self._hist_steps) if s <= kept.step]
        other._hist_steps = [self._hist_steps[i] for i in frames]
        other._grad_hist = [self._grad_hist[i] for i in frames]
        other._weight_hist = [self._weight_hist[i] for i in frames]
        other._hist_every = self._hist_every
        other._rng.bit_generator.state = kept.rng_state
        other._order = kept.order.copy()
        other._safe_point = (epoch, kept.step)
        other._kept = [k for k in self._kept if k.epoch <= epoch]
        other._keep_every = self._keep_every
        return other

    # --- reading ------------------------------------------------------------------------------------------
    @property
    def engine_label(self) -> str:
        """Which engine computes, and where: "torch on cpu", "numpy on cpu", "torch on cuda"."""
        return f"{self.engine.name} on {self.engine.device}"

    def steps_per_sec(self, window: float = 3.0) -> float:
        marks = self._rate_marks
        now = time.perf_counter()
        while len(marks) > 2 and now - marks[0][0] > window:
            marks.pop(0)
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return 0.0
        return (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])

    def _plane(self):
        """(axes, center, components) of the boundary plane, computed once per run; None if there is none."""
        ds = self.dataset
        if ds.n_features == 2:
            return tuple(ds.feature_names[:2]), None, None
        if ds.n_features < 2 or ds.n_features > MAX_PCA_FEATURES or ds.image_shape is not None:
            return None
        if not hasattr(self, "_pca"):
            X = ds.X_train
            center = X.mean(axis=0)
            _, _, vt = np.linalg.svd(X - center, full_matrices=False)
            self._pca = (("PC1", "PC2"), _frozen(center), _frozen(vt[:2]))
        return self._pca

    def grid(self) -> Grid | None:
        """One vectorized forward pass over an R×R grid covering all the data with a 10% margin."""
        plane = self._plane()
        if plane is None:
            return None
        ds = self.dataset
        axes, center, components = plane
        base = Grid(np.zeros(0), np.zeros(0), np.zeros(0), axes, center, components)
        coords = base.project(np.concatenate([ds.X_train, ds.X_val, ds.X_test]), ds)
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        pad = (hi - lo) * 0.1 + 1e-9
        r = self.grid_resolution
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], r)
        ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], r)
        gx, gy = np.meshgrid(xs, ys)
        flat = np.stack([gx.ravel(), gy.ravel()], axis=1)
        points = base.inputs(flat, ds)
        values = metrics.probabilities(self.engine.forward(points), ds.task)
        if ds.task == "regression":
            values = ds.unscale_targets(values)  # the surface in the target's own units
        shape = (r, r, -1) if ds.task != "regression" else (r, r)
        return Grid(_frozen(xs), _frozen(ys), _frozen(values.reshape(shape)), axes, center, components)

    def snapshot(self) -> Snapshot:
        history = {k: _frozen(self._history.get(k, [])) for k in HISTORY_KEYS}
        norms = np.array(self._norm_history).reshape(-1, len(self.engine.layer_names))
        return Snapshot(
            step=self.step, epoch=self.epoch, status=self.status, message=self.message,
            history=MappingProxyType(history), layer_names=tuple(self.engine.layer_names),
            grad_norms=_frozen(norms), hist_edges=metrics.HIST_EDGES, hist_steps=_frozen(self._hist_steps),
            grad_hist=_frozen(self._grad_hist), weight_hist=_frozen(self._weight_hist), grid=self.grid(),
            steps_per_sec=self.steps_per_sec(), lr=self.engine.lr, config=self.cfg,
            best_epoch=self._restored_epoch)

    def _flush_denormals(self) -> None:
        """Per thread: denormal floats make torch's Adam ~10x slower; training never needs them. Only where
        torch is loaded already (the torch engine, or the app): a NumPy run never pays torch's import, and the
        NumPy optimizers zero their own denormal moments."""
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_flush_denormal(True)
