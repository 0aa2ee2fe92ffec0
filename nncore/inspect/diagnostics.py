"""Self-explaining diagnostics: look at a run and say, in plain words, what is going wrong and what to try.

``diagnose(trainer)`` runs every check in ``CHECKS`` and returns the ``Finding`` objects of those that fire.
Each check reads what the Trainer already has (snapshot histories and gradient norms, current weights, one
traced forward pass over a sample of training inputs) and states the numbers it measured. A check that
needs a history to judge a trend stays silent until the run has that many epochs, and a healthy run gets
no warning at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nncore.data.scaling import STD_FLOOR
from nncore.inspect import metrics
from nncore.engines import make_engine

SEVERITIES = ("info", "warning", "problem")
CHARTS = ("gradient norms", "histograms", "curves", "boundary")

# --- thresholds (each one is what a check compares a measurement against) ---------------------------------
MIN_EPOCHS = 5             # finished epochs before a check that judges training looks at all
RECENT_EPOCHS = 10         # the window of latest epochs a trend is measured over
DEAD_WARN = 0.5            # share of a layer's ReLU units silent on every sample: warning from here ...
DEAD_PROBLEM = 0.75        # ... and a problem from here (most of the layer no longer learns)
SATURATION_EDGE = 0.01     # tanh |out| > 1 - this, sigmoid out < this or > 1 - this: the flat part of the curve
SATURATED_SAMPLES = 0.9    # a unit counts as saturated when it sits on a flat part for this share of samples
SATURATED_WARN = 0.4       # share of a layer's units saturated: warning from here ...
SATURATED_PROBLEM = 0.75   # ... problem from here
VANISHING_RATIO = 1e-3     # first hidden layer's gradient norm / output layer's, below this: vanishing
EXPLODING_RATIO = 1e3      # the same ratio above this: gradients grow on their way back
EXPLODING_NORM = 1e3       # any layer's mean gradient norm above this is huge for these small networks
EXPLODING_GROWTH = 100.0   # recent gradient norm over the first epochs' norm: growing without bound
OSCILLATING_UPS = 0.4      # share of recent epoch-to-epoch loss changes that go up: the loss bounces ...
BOUNCE_SIZE = 0.05         # ... by steps of at least this share of its level on average (not just jitter) ...
STUCK_LOSS = 0.3           # ... while it stays above this share of the "know nothing" loss: far from fitted
SLOW_EPOCHS = 10           # epochs before judging that the loss barely moved
SLOW_DROP = 0.02           # relative drop of the train loss since before training below this: it barely moved ...
STEADY_CREEP = 0.5         # ... yet it still falls at least this fraction as fast as in the first epochs ...
STEADY_SHARE = 0.9         # ... and fell in at least this share of the epochs: the steps are too small (a
                           #     converged network has stopped falling; a stuck one only jitters)
OVERFIT_RISE = 0.1         # val loss this far (relative) above its best, while train loss still falls ...
OVERFIT_GAP = 0.05         # ... and the gap val - train wider than this share of the "know nothing" loss: info
OVERFIT_RISE_WARN = 0.5    # a rise this large ...
OVERFIT_GAP_WARN = 0.15    # ... with a gap this wide makes it a warning: the network memorizes noise
IDENTICAL_TOL = 1e-6       # units whose incoming weights and bias differ by less than this are identical
IDENTICAL_SHARE = 0.5      # share of a layer's units that have an identical twin: symmetry was never broken
UNSCALED_LEVEL = 5.0       # a feature with mean |x| or spread above this is far from unit scale
UNSCALED_TINY = 0.05       # ... or with a spread below this
UNSCALED_SPREAD = 20.0     # ratio of the largest to the smallest feature spread above this


@dataclass(frozen=True)
class Finding:
    """One thing the diagnostics noticed, explained for a learner."""

    id: str          # key of CHECKS that produced it
    severity: str    # "info", "warning" or "problem"
    title: str       # plain words, e.g. "Dead ReLU units"
    detail: str      # what was measured, with the numbers
    fix: str         # what to try
    chart: str       # where to see it: "gradient norms", "histograms", "curves" or "boundary"

    def __post_init__(self):
        if self.severity not in SEVERITIES or self.chart not in CHARTS:
            raise ValueError(f"bad finding {self.id}: severity {self.severity!r}, chart {self.chart!r}")


class RunView:
    """What the checks read from a trainer, computed once and only when a check asks for it."""

    def __init__(self, trainer, sample: int, snapshot=None):
        self.trainer = trainer
        self.snap = snapshot if snapshot is not None else trainer.snapshot()
        self.cfg = trainer.cfg
        self.epochs = self.snap.epoch
        self.names = self.snap.layer_names
        # The inputs exactly as the network sees them; the split is already shuffled, so the first rows are a
        # fair sample.
        self.X = trainer.dataset.X_train[:sample]

    def series(self, key: str) -> np.ndarray:
        return np.asarray(self.snap.history[key], dtype=np.float64)

    @cached_property
    def hidden_trace(self) -> list[dict[str, np.ndarray]]:
        return self.trainer.engine.trace(self.X)[:-1]

    @cached_property
    def initial_loss(self) -> float:
        """Train loss of the run's seeded starting weights (rebuilt: the history starts after epoch 1)."""
        ds = self.trainer.dataset
        return metrics.data_loss(make_engine(self.cfg, ds).forward(ds.X_train), ds.y_train, ds.task)

    @cached_property
    def baseline_loss(self) -> float:
        """The loss of a model that knows nothing but the class shares (or the mean target)."""
        y = self.trainer.dataset.y_train
        if self.trainer.dataset.task == "regression":
            return float(np.var(y)) or 1.0
        p = np.bincount(y) / len(y)
        p = p[p > 0]
        return float(-(p * np.log(p)).sum()) or 1.0


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _units(post: np.ndarray) -> np.ndarray:
    """Outputs as (observations, units): a dense layer's (n, units) as is; a convolution's (n, C, H, W) as
    (n·H·W, C), so each channel is one unit seen at every position."""
    return post if post.ndim == 2 else np.moveaxis(post, 1, -1).reshape(-1, post.shape[1])


def _layer_shares(view: RunView, share_of_units) -> list[tuple[str, float]]:
    return [(view.names[i], share_of_units(_units(layer["post"]))) for i, layer in enumerate(view.hidden_trace)]


def _worst(shares: list[tuple[str, float]]) -> tuple[str, float]:
    return max(shares, key=lambda s: s[1]) if shares else ("", 0.0)


def _severity(value: float, warn: float, problem: float) -> str | None:
    return "problem" if value >= problem else "warning" if value >= warn else None


def _grad_ratio(view: RunView) -> tuple[float, np.ndarray]:
    """First/last layer gradient norm over the recent epochs, and those recent mean norms per layer."""
    norms = np.asarray(view.snap.grad_norms)[-RECENT_EPOCHS:]
    recent = norms.mean(axis=0)
    return (recent[0] / recent[-1] if recent[-1] > 0 else math.nan), recent  # nan: nothing flows at all


# --- the checks: each takes a RunView and returns a Finding or None ------------------------------------------
CHECKS: dict[str, Callable[[RunView], Finding | None]] = {}


def check(check_id: str, needs_epochs: int = MIN_EPOCHS):
    """Register a check under ``check_id``; it stays silent until the run has ``needs_epochs`` epochs."""
    def register(fn):
        def gated(view: RunView) -> Finding | None:
            return fn(view) if view.epochs >= needs_epochs else None
        gated.__doc__, gated.needs_epochs = fn.__doc__, needs_epochs
        CHECKS[check_id] = gated
        return gated
    return register


@check("dead_relu")
def _dead_relu(view: RunView) -> Finding | None:
    """ReLU units whose output is 0 on every sample get no gradient, so they can never recover."""
    if view.cfg.model.activation != "relu":
        return None  # leaky ReLU and smooth activations always pass some gradient
    shares = _layer_shares(view, lambda post: float(np.mean(np.all(post <= 0, axis=0))))
    name, worst = _worst(shares)
    severity = _severity(worst, DEAD_WARN, DEAD_PROBLEM)
    if severity is None:
        return None
    each = ", ".join(f"{_pct(s)} in {n}" for n, s in shares)
    return Finding("dead_relu", severity, "Dead ReLU units",
                   f"{_pct(worst)} of the units in {name} never activate on {len(view.X)} training samples "
                   f"({each}); a silent ReLU gets no gradient and stops learning",
                   "use leaky_relu, or he_uniform init, or lower the learning rate", "histograms")


# Per activation: which outputs lie on a flat part of the curve (where the slope is almost 0).
_FLAT = {
    "tanh": lambda post: np.abs(post) > 1 - SATURATION_EDGE,
    "sigmoid": lambda post: (post < SATURATION_EDGE) | (post > 1 - SATURATION_EDGE),
}


@check("saturated")
def _saturated(view: RunView) -> Finding | None:
    """tanh/sigmoid units stuck at their limits pass back almost no gradient."""
    flat = _FLAT.get(view.cfg.model.activation)
    if flat is None:
        return None
    shares = _layer_shares(view, lambda post: float(np.mean(flat(post).mean(axis=0) >= SATURATED_SAMPLES)))
    name, worst = _worst(shares)
    severity = _severity(worst, SATURATED_WARN, SATURATED_PROBLEM)
    if severity is None:
        return None
    return Finding("saturated", severity, f"Saturated {view.cfg.model.activation} units",
                   f"{_pct(worst)} of the units in {name} sit on a flat end of the {view.cfg.model.activation} "
                   f"curve for at least {_pct(SATURATED_SAMPLES)} of {len(view.X)} training samples, where "
                   "its slope (and so the gradient) is almost 0",
                   "standardize the inputs, use a smaller init (xavier), or switch to relu", "histograms")


@check("vanishing_gradients")
def _vanishing(view: RunView) -> Finding | None:
    """The gradient shrinks layer by layer on its way back, so the first layers barely learn."""
    if len(view.names) < 2:
        return None
    ratio, recent = _grad_ratio(view)
    if not ratio < VANISHING_RATIO:
        return None
    return Finding("vanishing_gradients", "problem", "Vanishing gradients",
                   f"over the last {min(RECENT_EPOCHS, view.epochs)} epochs the gradient norm of {view.names[0]} "
                   f"({recent[0]:.2g}) is {ratio:.1g} times that of the output layer ({recent[-1]:.2g}): the "
                   "first layers hardly change",
                   "use relu with he init, fewer layers, or batch norm", "gradient norms")


@check("exploding_gradients", needs_epochs=0)  # divergence needs no history; the trends wait for MIN_EPOCHS
def _exploding(view: RunView) -> Finding | None:
    """Gradients that grow huge make every step overshoot; in the end the loss becomes NaN."""
    norms = np.asarray(view.snap.grad_norms)
    if view.snap.status == "diverged":
        detail = f"the run diverged: {view.snap.message.split(':')[0]}"
    elif view.epochs < MIN_EPOCHS:
        return None
    else:
        ratio, recent = _grad_ratio(view)
        growth = recent.max() / max(norms[:3].mean(axis=0).max(), 1e-12)
        if recent.max() > EXPLODING_NORM:
            detail = f"a mean gradient norm of {recent.max():.3g} in {view.names[int(recent.argmax())]}"
        elif len(view.names) > 1 and ratio > EXPLODING_RATIO:
            detail = f"the gradient norm of {view.names[0]} is {ratio:.3g} times that of the output layer"
        elif growth > EXPLODING_GROWTH and view.epochs > RECENT_EPOCHS:
            detail = f"gradient norms grew {growth:.3g}-fold since the first epochs"
        else:
            return None
    return Finding("exploding_gradients", "problem", "Exploding gradients", detail,
                   "lower the learning rate, turn on gradient clipping, or standardize the inputs",
                   "gradient norms")


@check("lr_too_high", needs_epochs=0)  # as above: divergence is clear at once
def _lr_too_high(view: RunView) -> Finding | None:
    """Steps so large that the loss jumps around (or shoots to NaN) instead of going down."""
    lr = view.cfg.train.learning_rate
    if view.snap.status == "diverged":
        return Finding("lr_too_high", "problem", "Learning rate too high",
                       f"with learning rate {lr:g} the loss became NaN or infinite after {view.epochs} epochs",
                       f"lower the learning rate (try {lr / 10:g}) or turn on gradient clipping", "curves")
    loss = view.series("train_loss")[-RECENT_EPOCHS:]
    if len(loss) < MIN_EPOCHS:
        return None
    ups = float(np.mean(np.diff(loss) > 0))
    bounce = float(np.abs(np.diff(loss)).mean() / loss.mean())
    stuck = loss.mean() / view.baseline_loss
    if ups < OSCILLATING_UPS or bounce < BOUNCE_SIZE or stuck < STUCK_LOSS:
        return None
    return Finding("lr_too_high", "warning", "Learning rate too high",
                   f"over the last {len(loss)} epochs the train loss went up in {_pct(ups)} of the epochs (by "
                   f"{_pct(bounce)} of its level per epoch on average) and stays at {stuck:.2f}× the loss of a blind "
                   f"guess (learning rate {lr:g})",
                   f"lower the learning rate (try {lr / 10:g}), or use a schedule that decays it", "curves")


@check("lr_too_low", needs_epochs=SLOW_EPOCHS)
def _lr_too_low(view: RunView) -> Finding | None:
    """Steps so small that the loss barely moves from where it started."""
    if view.snap.status == "diverged":
        return None
    loss = view.series("train_loss")
    start, now, k = view.initial_loss, loss[-1], MIN_EPOCHS
    drop = (start - now) / start
    early, recent = (start - loss[k - 1]) / k, (loss[-1 - k] - now) / k  # mean fall per epoch
    if abs(drop) >= SLOW_DROP:
        return None  # it moved: down is progress, up is a different problem (see lr_too_high)
    falls = float(np.mean(np.diff(loss) < 0))
    if not (recent > 0 and recent >= STEADY_CREEP * early and falls >= STEADY_SHARE):
        return None  # not creeping steadily: converged or stuck for another reason (see the other checks)
    lr = view.cfg.train.learning_rate
    return Finding("lr_too_low", "warning", "Learning rate too low",
                   f"after {view.epochs} epochs the train loss is {now:.4f}, only {100 * abs(drop):.2f}% "
                   f"{'below' if drop >= 0 else 'above'} the {start:.4f} it had before training "
                   f"and it still falls steadily by about {recent:.2g} per epoch (learning rate {lr:g})",
                   f"raise the learning rate (try {lr * 10:g}) or use adam", "curves")


@check("overfitting", needs_epochs=RECENT_EPOCHS)
def _overfitting(view: RunView) -> Finding | None:
    """Train loss keeps falling while validation loss rises: the network memorizes the training points."""
    train, val = view.series("train_loss"), view.series("val_loss")
    best = int(val.argmin())
    if view.epochs - 1 - best < MIN_EPOCHS:
        return None  # validation loss improved recently: no sustained rise to judge
    now_t, now_v = train[-MIN_EPOCHS:].mean(), val[-MIN_EPOCHS:].mean()  # means: robust to one noisy epoch
    rise = now_v / val[best] - 1
    gap_then, gap_now = val[best] - train[best], now_v - now_t
    if not (rise > OVERFIT_RISE and now_t < train[best] and gap_now > gap_then
            and gap_now > OVERFIT_GAP * view.baseline_loss):
        return None
    severity = "warning" if rise > OVERFIT_RISE_WARN and gap_now > OVERFIT_GAP_WARN * view.baseline_loss else "info"
    fix = "get more data, add L2 or dropout, use a smaller network, or turn on early stopping"
    if view.snap.status == "early_stopped" and view.cfg.train.restore_best:
        severity = "info"  # the weights in use are already those of the best epoch
        fix = "early stopping caught it and restored the best epoch's weights; L2 or dropout would let it train longer"
    return Finding("overfitting", severity, "Overfitting",
                   f"since epoch {best + 1} the validation loss rose {_pct(rise)} ({val[best]:.3f} → {now_v:.3f}, "
                   f"mean of the last {MIN_EPOCHS} epochs) while the train loss fell ({train[best]:.3f} → "
                   f"{now_t:.3f}); the gap between them grew from {gap_then:.3f} to {gap_now:.3f}", fix, "curves")


def _twin_share(rows: np.ndarray) -> float:
    """Share of rows (units) equal to another row within IDENTICAL_TOL. O(n·d): rows are sorted by a fixed
    random projection, so identical ones end up side by side and only neighbours are compared."""
    if len(rows) < 2:
        return 0.0
    tol = IDENTICAL_TOL * max(float(np.abs(rows).max()), 1.0)
    order = np.argsort(rows @ np.random.default_rng(0).normal(size=rows.shape[1]), kind="stable")
    same = np.abs(np.diff(rows[order], axis=0)).max(axis=1) <= tol  # neighbour i and i+1 are alike
    twin = np.zeros(len(rows), dtype=bool)
    twin[:-1] |= same
    twin[1:] |= same
    return float(twin.mean())


@check("identical_units")
def _identical(view: RunView) -> Finding | None:
    """Units that start (and so stay) identical compute the same thing: the layer acts like one unit."""
    shares = [(name, _twin_share(np.column_stack([layer["W"].reshape(len(layer["W"]), -1), layer["b"]])))
              for name, layer in zip(view.names[:-1], view.trainer.engine.get_params()[:-1])]
    name, worst = _worst(shares)
    if worst < IDENTICAL_SHARE:
        return None
    return Finding("identical_units", "problem", "Identical hidden units",
                   f"{_pct(worst)} of the units in {name} have exactly the same incoming weights as another "
                   f"unit (init {view.cfg.model.init}): they get the same gradient and never become different",
                   "use a random init such as he_uniform or xavier_uniform (zeros keeps every unit alike)",
                   "histograms")


@check("unscaled_inputs", needs_epochs=0)  # a property of the data: visible before training starts
def _unscaled(view: RunView) -> Finding | None:
    """Inputs far from unit scale make the first layer's steps too big for some features, tiny for others."""
    ds = view.trainer.dataset
    if view.cfg.data.standardize or np.any(ds.mean != 0) or np.any(ds.std != 1):
        return None  # the inputs were scaled on purpose (standardized, or pixels divided by their maximum)
    spread = view.X.std(axis=0)
    varies = spread > STD_FLOOR  # constant features (e.g. always-blank pixels) carry nothing to scale
    if not varies.any():
        return None
    level, spread = np.abs(view.X).mean(axis=0)[varies], spread[varies]
    ratio = spread.max() / spread.min()
    reasons = []
    if level.max() > UNSCALED_LEVEL or spread.max() > UNSCALED_LEVEL:
        reasons.append(f"mean |x| up to {level.max():.3g} and spread up to {spread.max():.3g}")
    if spread.min() < UNSCALED_TINY:
        reasons.append(f"a feature spread as small as {spread.min():.3g}")
    if ratio > UNSCALED_SPREAD:
        reasons.append(f"feature spreads that differ {ratio:.3g}-fold")
    if not reasons:
        return None
    return Finding("unscaled_inputs", "warning", "Inputs are not scaled",
                   "standardize is off and the network sees " + "; ".join(reasons)
                   + " (well-scaled inputs have mean near 0 and spread near 1)",
                   "turn on standardize (zero mean, unit variance, fitted on the training split)", "boundary")


def diagnose(trainer, sample: int = 512, snapshot=None) -> list[Finding]:
    """Run every check on ``trainer`` (traced on up to ``sample`` training inputs); most severe first.
    Pass the trainer's latest ``snapshot`` if you have it, to save taking another."""
    view = RunView(trainer, sample, snapshot)
    found = [f for f in (fn(view) for fn in CHECKS.values()) if f is not None]
    return sorted(found, key=lambda f: -SEVERITIES.index(f.severity))
