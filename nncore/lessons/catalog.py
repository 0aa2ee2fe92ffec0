"""One-click lessons that prove themselves: each states in advance what you will see, runs its variants, and
measures whether it happened.

A ``Lesson`` is data: named ``RunConfig`` variants (1-4), an epoch budget, an optional dataset transform (for
data the generators do not offer, e.g. inputs in large units), and a ``check`` that reads the finished runs
and returns ``(passed, observation)`` with the numbers it measured. Every run is seeded, so a lesson gives the
same numbers every time. ``python -m nncore lessons --check`` runs them all headless.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from nncore.inspect import metrics
from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.data import SPECS, Dataset, split_dataset
from nncore.engines import make_engine
from nncore.errors import ConfigError
from nncore.train.snapshot import Snapshot
from nncore.train.trainer import Trainer


# --- dataset transforms: raw inputs the generators do not offer, reproducible by the app -------------------
@dataclass(frozen=True)
class Transform:
    description: str
    apply: Callable[[np.ndarray], np.ndarray]  # raw X (n, d) -> X (n, d), before the split and scaling


TRANSFORMS: dict[str, Transform] = {
    "scaled_x50": Transform("both inputs measured in units 50 times smaller (values up to ~75)",
                            lambda X: X * 50.0),
}


def make_lesson_dataset(cfg: RunConfig, transform: str | None) -> Dataset | None:
    """The dataset a lesson variant trains on: None (the Trainer's own) unless a transform is named."""
    if transform is None:
        return None
    d = cfg.data
    spec = SPECS[d.dataset]
    X, y = spec.generate(d.n_points, d.noise, d.classes if spec.takes_classes else 2, np.random.default_rng(d.seed))
    return split_dataset(d.dataset, TRANSFORMS[transform].apply(X), y, spec.task, d, feature_names=("x1", "x2"))


# --- lessons as data ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunResult:
    """One finished variant: the trainer (current weights), its last snapshot and its final metrics."""

    trainer: Trainer
    snapshot: Snapshot
    final: dict


Check = Callable[[dict[str, RunResult]], tuple[bool, str]]


@dataclass(frozen=True, eq=False)
class Lesson:
    id: str
    title: str
    what_to_watch: str          # one sentence: where to look while it runs
    expected: str               # the observation, stated before running
    configs: dict[str, RunConfig]  # 1-4 named variants, each with the lesson's epoch budget
    epochs: int
    check: Check
    dataset_transform: str | None = None  # key of TRANSFORMS applied to every variant's raw inputs

    def __post_init__(self):
        if not 1 <= len(self.configs) <= 4:
            raise ValueError(f"lesson {self.id} needs 1-4 variants, got {len(self.configs)}")
        if any(c.train.epochs != self.epochs for c in self.configs.values()):
            raise ValueError(f"lesson {self.id}: every variant must train for {self.epochs} epochs")


def _config(epochs: int, **settings) -> RunConfig:
    """A seeded RunConfig from flat settings; small data and the faster engine keep lessons quick."""
    settings = {"n_points": 200, "engine": "auto", "epochs": epochs, **settings}
    parts = {kind: {} for kind in (DataConfig, ModelConfig, TrainConfig)}
    for key, value in settings.items():
        kind = next(k for k in parts if key in {f.name for f in fields(k)})
        parts[kind][key] = value
    return RunConfig(*(kind(**values) for kind, values in parts.items()))


def _variants(epochs: int, common: dict, **named: dict) -> dict[str, RunConfig]:
    return {name.replace("_", " "): _config(epochs, **{**common, **extra}) for name, extra in named.items()}


# --- measurements the checks share ----------------------------------------------------------------------------
def final_metrics(trainer: Trainer) -> dict:
    """Loss and accuracy of the current weights (after an early stop these are the restored best ones)."""
    ds, snap = trainer.dataset, trainer.snapshot()
    out = {"epochs": snap.epoch, "steps": snap.step, "status": snap.status}
    for split in ("train", "val", "test"):
        X, y = ds.split(split)
        z = trainer.engine.forward(X)
        out[f"{split}_loss"] = metrics.data_loss(z, y, ds.task)
        out[f"{split}_acc"] = metrics.accuracy(z, y, ds.task)
    return out


def _start_engine(r: RunResult):
    """The variant's network as it was before training (rebuilt from its seed)."""
    return make_engine(r.trainer.cfg, r.trainer.dataset)


def _initial_loss(r: RunResult) -> float:
    ds = r.trainer.dataset
    return metrics.data_loss(_start_engine(r).forward(ds.X_train), ds.y_train, ds.task)


def _unit_spread(r: RunResult) -> tuple[float, float]:
    """Largest difference between two units' incoming weights in any hidden layer, and the largest weight."""
    hidden = r.trainer.engine.get_params()[:-1]
    rows = [np.column_stack([p["W"], p["b"]]) for p in hidden]
    return max(float(np.abs(w - w[0]).max()) for w in rows), max(float(np.abs(w).max()) for w in rows)


def _ups(r: RunResult) -> float:
    """Share of epochs in which the train loss went up."""
    return float(np.mean(np.diff(r.snapshot.history["train_loss"]) > 0))


def _grad_ratio(r: RunResult, last: int = 5) -> float:
    """First hidden layer's gradient norm over the output layer's, mean of the last epochs."""
    g = np.asarray(r.snapshot.grad_norms)[-last:].mean(axis=0)
    return float(g[0] / g[-1])


def _epochs_to(r: RunResult, key: str, target: float) -> float:
    """First epoch at which history ``key`` is <= target (inf if never)."""
    hits = np.nonzero(np.asarray(r.snapshot.history[key]) <= target)[0]
    return float(hits[0] + 1) if len(hits) else math.inf


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a ** 2)))


def _fmt_epochs(e: float) -> str:
    return "never" if math.isinf(e) else f"epoch {e:.0f}"


# --- the checks -------------------------------------------------------------------------------------------------
def _check_zero_init(r):
    zero, rand = r["zero init"], r["xavier init"]
    (zs, zw), (rs, _) = _unit_spread(zero), _unit_spread(rand)
    za, ra = zero.final["val_acc"], rand.final["val_acc"]
    passed = zs <= 1e-9 * max(zw, 1.0) and zw > 1e-3 and rs > 0.1 and ra >= za + 0.1
    return passed, (f"zero init: hidden units differ by at most {zs:.2g} although weights grew to {zw:.2f}, "
                    f"val accuracy {za:.2f}; xavier init: units differ by up to {rs:.2f}, val accuracy {ra:.2f}")


def _check_lr_high(r):
    good, high = r["lr 0.01"], r["lr 1"]
    gl, hl = good.final["train_loss"], high.final["train_loss"]
    passed = _ups(high) >= 0.3 and _ups(good) <= 0.1 and (hl > 1.3 * gl or high.final["status"] == "diverged")
    return passed, (f"lr 1: train loss went up in {_ups(high):.0%} of epochs and ended at {hl:.3f} "
                    f"({high.final['status']}); lr 0.01: up in {_ups(good):.0%} of epochs, ended at {gl:.3f}")


def _check_lr_low(r):
    drops = {n: 1 - x.final["train_loss"] / _initial_loss(x) for n, x in r.items()}
    passed = drops["lr 0.0001"] < 0.05 and drops["lr 0.1"] > 0.5
    return passed, "; ".join(f"{n}: train loss fell {d:.1%} from its start" for n, d in drops.items())


def _check_vanishing(r):
    sig, relu = r["sigmoid, small init"], r["relu, he init"]
    rs, rr = _grad_ratio(sig), _grad_ratio(relu)
    sa, ra = sig.final["val_acc"], relu.final["val_acc"]
    passed = rs < 1e-3 and rr > 1e-2 and ra >= 0.9 and ra >= sa + 0.2
    return passed, (f"first/last layer gradient norm: sigmoid {rs:.1e}, relu {rr:.2f}; "
                    f"val accuracy: sigmoid {sa:.2f}, relu {ra:.2f}")


def _check_xavier_he(r):
    ratio = {}
    for name, x in r.items():
        trace = _start_engine(x).trace(x.trainer.dataset.X_train)[:-1]
        ratio[name] = _rms(trace[-1]["post"]) / _rms(trace[0]["post"])
    xa, he = ratio["xavier"], ratio["he"]
    passed = 0.4 <= he <= 2.5 and xa <= 0.6 * he  # He: roughly the same size; Xavier: clearly smaller
    return passed, (f"signal size (RMS) in the last hidden layer relative to the first, before training: "
                    f"he {he:.2f}, xavier {xa:.2f}; val accuracy after {r['he'].final['epochs']} epochs: "
                    f"he {r['he'].final['val_acc']:.2f}, xavier {r['xavier'].final['val_acc']:.2f}")


def _check_overfitting(r):
    gap = {n: x.final["val_loss"] - x.final["train_loss"] for n, x in r.items()}
    val = {n: x.final["val_loss"] for n, x in r.items()}
    cures = [n for n in r if n != "plain"]
    passed = gap["plain"] > 0.2 and all(val[n] < val["plain"] and gap[n] < gap["plain"] for n in cures)
    return passed, "; ".join(f"{n}: val loss {val[n]:.3f}, gap {gap[n]:.3f}" for n in r)


def _check_normalization(r):
    raw, std = r["raw inputs"], r["standardized"]
    re, se = _epochs_to(raw, "train_loss", 0.3), _epochs_to(std, "train_loss", 0.3)
    at5 = {n: float(x.snapshot.history["train_loss"][4]) for n, x in r.items()}
    passed = at5["raw inputs"] >= 2 * at5["standardized"] and se < re
    return passed, (f"train loss at epoch 5: standardized {at5['standardized']:.3f}, raw {at5['raw inputs']:.3f}; "
                    f"train loss <= 0.3 reached: standardized {_fmt_epochs(se)}, raw {_fmt_epochs(re)}")


def _check_optimizers(r):
    when = {n: _epochs_to(x, "train_loss", 0.2) for n, x in r.items()}
    passed = when["adam"] < when["momentum"] < when["sgd"]
    return passed, "train loss <= 0.2 reached: " + ", ".join(f"{n} {_fmt_epochs(e)}" for n, e in when.items())


def _batch_noise(r: RunResult, size: int, draws: int = 200) -> float:
    """Spread (std) of the loss over random batches of ``size`` at the starting weights: the step's noise."""
    ds = r.trainer.dataset
    z = _start_engine(r).forward(ds.X_train)
    rng = np.random.default_rng(0)
    n = len(ds.y_train)
    picks = [rng.choice(n, size=min(size, n), replace=False) for _ in range(draws)]
    return float(np.std([metrics.data_loss(z[p], ds.y_train[p], ds.task) for p in picks]))


def _check_batch_size(r):
    names = list(r)
    steps = [r[n].final["steps"] / r[n].final["epochs"] for n in names]
    loss = [r[n].final["train_loss"] for n in names]
    noise = [_batch_noise(r[n], r[n].trainer.cfg.train.batch_size) for n in names]
    passed = steps[0] > steps[1] > steps[2] and loss[0] < loss[1] < loss[2] and noise[0] > noise[1] > noise[2]
    return passed, "; ".join(f"{n}: {s:.0f} steps per epoch, batch-loss spread {q:.3f}, train loss {x:.3f}"
                             for n, s, q, x in zip(names, steps, noise, loss))


def _check_underfitting(r):
    acc = {n: x.final["train_acc"] for n, x in r.items()}
    big = r["16,16"].final
    passed = acc["no hidden layer"] <= 0.75 and acc["1 hidden unit"] <= 0.75 and big["train_acc"] >= 0.95 \
        and big["val_acc"] >= 0.9
    return passed, ("train accuracy: " + ", ".join(f"{n} {a:.2f}" for n, a in acc.items())
                    + f"; 16,16 val accuracy {big['val_acc']:.2f}")


# The best any straight line does on clean circles (ring of radius 1.2 around a disc of radius 0.6, equal
# shares): a line at distance 0.6 from the centre keeps the whole disc and a third of the ring on its sides
# (arccos(0.6 / 1.2) / π), so 2/3 of the points; a logistic model on x1, x2 usually finds less, near chance.
# On n test points one std of the accuracy is sqrt(2/3 · 1/3 / n) (0.043 for 120), so a line stays below
# 2/3 + 2 std (0.75). On x1², x2² the model is linear in the squared radius, which separates the radii 0.6 and 1.2
# exactly: with jitter std 0.12, a point crosses the middle radius 0.9 only 2.5 std off (about 1%).
CIRCLES_LINE_BEST = 2 / 3


def _check_input_features(r):
    raw, squares = r["x1, x2"].final["test_acc"], r["x1², x2²"].final["test_acc"]
    n = len(r["x1, x2"].trainer.dataset.y_test)
    limit = CIRCLES_LINE_BEST + 2 * math.sqrt(CIRCLES_LINE_BEST * (1 - CIRCLES_LINE_BEST) / n)
    passed = raw <= limit and squares >= 0.9
    return passed, (f"no hidden layer, test accuracy: inputs x1, x2 {raw:.2f} (a straight line gets "
                    f"{CIRCLES_LINE_BEST:.2f} at best, {limit:.2f} with {n} test points' chance); inputs x1², x2² "
                    f"{squares:.2f}")


LESSONS: dict[str, Lesson] = {lesson.id: lesson for lesson in [
    Lesson("zero_init_symmetry", "Zero init: every unit stays the same",
           "Watch the weight histograms: with zero init each hidden layer's weights form a single spike.",
           "With zero init all units of a layer get the same gradient, so they move together and the network "
           "acts like one unit per layer: it cannot learn XOR well; random (xavier) init breaks the tie.",
           _variants(40, dict(dataset="xor", activation="sigmoid", hidden=(8, 8), learning_rate=0.05),
                     zero_init=dict(init="zeros"), xavier_init=dict(init="xavier_uniform")),
           40, _check_zero_init),
    Lesson("lr_too_high", "Learning rate too high: the loss bounces",
           "Watch the loss curve: with a huge learning rate it jumps up and down instead of going down.",
           "Adam with learning rate 1 overshoots: its loss rises in many epochs and ends higher than with 0.01, "
           "whose loss falls smoothly.",
           _variants(25, dict(dataset="circles", activation="tanh"),
                     **{"lr 0.01": dict(learning_rate=0.01), "lr 1": dict(learning_rate=1.0)}),
           25, _check_lr_high),
    Lesson("lr_too_low", "Learning rate too low: nothing seems to happen",
           "Watch the loss curve: with a tiny learning rate it is an almost flat line.",
           "Plain SGD with learning rate 0.0001 lowers the loss by under 5% in 20 epochs; with 0.1 it falls by "
           "more than half.",
           _variants(20, dict(dataset="moons", optimizer="sgd"),
                     **{"lr 0.0001": dict(learning_rate=1e-4), "lr 0.1": dict(learning_rate=0.1)}),
           20, _check_lr_low),
    Lesson("vanishing_sigmoid_vs_relu_he", "Vanishing gradients: deep sigmoid vs ReLU with He init",
           "Watch the gradient norms chart: the sigmoid network's first layers get almost no gradient.",
           "In 6 sigmoid layers with small init the first layer's gradient is over 1000 times smaller than the "
           "output layer's and the network stays at chance; ReLU with He init keeps gradients alive and learns.",
           _variants(20, dict(dataset="moons", hidden=(16,) * 6),
                     **{"sigmoid, small init": dict(activation="sigmoid", init="normal"),
                        "relu, he init": dict(activation="relu", init="he_uniform")}),
           20, _check_vanishing),
    Lesson("xavier_vs_he", "Xavier vs He init in a widening ReLU network",
           "Watch the weight histograms layer by layer, and compare the activations' size across depth.",
           "He scales each layer by its inputs only, so the ReLU signal keeps its size through layers that widen "
           "4→128; Xavier averages inputs and outputs (here with ReLU's gain, so equal-width layers would match "
           "He) and the signal shrinks at every widening layer, to well under half by the last one.",
           _variants(10, dict(dataset="spirals", hidden=(4, 8, 16, 32, 64, 128)),
                     xavier=dict(init="xavier_uniform"), he=dict(init="he_uniform")),
           10, _check_xavier_he),
    Lesson("overfitting_and_cures", "Overfitting and three cures",
           "Watch train vs validation loss: without a cure they drift apart as the network memorizes noise.",
           "A big network on 80 noisy points drives its train loss near 0 while validation loss climbs; L2, "
           "dropout and early stopping each end with a lower validation loss and a smaller gap.",
           _variants(150, dict(dataset="moons", noise=0.4, val_fraction=0.4, hidden=(64, 64)),
                     plain={}, L2=dict(l2=0.01), dropout=dict(dropout=0.5),
                     early_stopping=dict(early_stopping=10)),
           150, _check_overfitting),
    Lesson("input_normalization", "Standardize your inputs",
           "Watch the loss curves: raw inputs in large units make training slow and bumpy.",
           "The same moons with inputs 50 times larger: after 5 epochs the raw run's train loss is at least twice "
           "the standardized run's, and the standardized run reaches a train loss of 0.3 first.",
           _variants(20, dict(dataset="moons"), raw_inputs=dict(standardize=False), standardized={}),
           20, _check_normalization, dataset_transform="scaled_x50"),
    Lesson("optimizers_sgd_momentum_adam", "SGD vs momentum vs Adam",
           "Watch how many epochs each needs to bring the loss down, all at learning rate 0.01.",
           "At the same learning rate Adam reaches a train loss of 0.2 first, momentum later, and plain SGD "
           "not within 60 epochs.",
           _variants(60, dict(dataset="circles", learning_rate=0.01),
                     sgd=dict(optimizer="sgd"), momentum=dict(optimizer="momentum"), adam=dict(optimizer="adam")),
           60, _check_optimizers),
    Lesson("batch_size", "Batch size: many noisy steps or few exact ones",
           "Watch the step counter and the loss after each epoch.",
           "Batches of 2 take 60 noisy steps per epoch and get furthest per epoch; batches of 32 take 4; the full "
           "batch takes one exact step per epoch and is slowest per epoch.",
           _variants(15, dict(dataset="moons"), **{"batch 2": dict(batch_size=2), "batch 32": dict(batch_size=32),
                                                   "full batch": dict(batch_size=1024)}),
           15, _check_batch_size),
    Lesson("underfitting_too_small", "Underfitting: a network too small for the data",
           "Watch the decision boundary: with no hidden layer it can only be a straight line.",
           "On two spirals a network without hidden layers, or with one hidden unit, stays at or below 75% "
           "training accuracy; 16,16 fits above 95%.",
           _variants(60, dict(dataset="spirals", n_points=300, learning_rate=0.03),
                     **{"no hidden layer": dict(hidden=()), "1 hidden unit": dict(hidden=(1,)),
                        "16,16": dict(hidden=(16, 16))}),
           60, _check_underfitting),
    Lesson("input_features_circles", "Input features: a linear model solves circles with x1², x2²",
           "Watch the decision boundary: on x1, x2 it is a straight line; on x1², x2² it closes into a ring.",
           "Without a hidden layer the network is linear in its inputs: on x1, x2 it cannot separate a disc from the "
           "ring around it and stays near chance (test accuracy at most 0.75); on x1², x2² the same model draws a "
           "circle and passes 0.9.",
           _variants(60, dict(dataset="circles", n_points=600, hidden=(), learning_rate=0.03),
                     **{"x1, x2": dict(inputs=("x1", "x2")), "x1², x2²": dict(inputs=("x1_sq", "x2_sq"))}),
           60, _check_input_features),
]}


# --- running ----------------------------------------------------------------------------------------------------
def run_variants(configs: dict[str, RunConfig], transform: str | None = None) -> dict[str, RunResult]:
    """Train each named config to its end and collect the results."""
    results = {}
    for name, cfg in configs.items():
        trainer = Trainer(cfg, dataset=make_lesson_dataset(cfg, transform))
        snap = trainer.snapshot()
        while trainer.running:
            snap = trainer.run(steps=10_000)
        results[name] = RunResult(trainer, snap, final_metrics(trainer))
    return results


def run_lesson(lesson_id: str) -> dict:
    """Run one lesson: ``{"passed", "observation", "runs": {name: final metrics}}``."""
    if lesson_id not in LESSONS:
        raise ConfigError(f"lesson must be one of {', '.join(LESSONS)}, got {lesson_id!r}", "lesson")
    lesson = LESSONS[lesson_id]
    results = run_variants(lesson.configs, lesson.dataset_transform)
    passed, observation = lesson.check(results)
    return {"passed": bool(passed), "observation": observation,
            "runs": {name: r.final for name, r in results.items()}}


def check_all(ids: list[str] | None = None) -> dict[str, dict]:
    """Run every lesson (or those in ``ids``): ``{id: {"passed", "observation"}}``."""
    out = {}
    for lesson_id in lesson_ids(ids):  # unknown ids fail here, before time is spent on the others
        result = run_lesson(lesson_id)
        out[lesson_id] = {"passed": result["passed"], "observation": result["observation"]}
    return out


def lesson_ids(ids: list[str] | None) -> list[str]:
    """``ids`` (default: every lesson), or a one-line error naming the first unknown one."""
    ids = list(ids or LESSONS)
    unknown = [i for i in ids if i not in LESSONS]
    if unknown:
        raise ConfigError(f"lesson must be one of {', '.join(LESSONS)}, got {unknown[0]!r}", "lesson")
    return ids
