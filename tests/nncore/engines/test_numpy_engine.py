"""The NumPy engine against the torch engine: same initial weights, same batches, same numbers.

Every parity run trains both engines for 50 steps in float64 and compares each step's loss, then all
parameters, batch-norm statistics, gradients, learning rates and eval-mode outputs at the end.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nncore import registry
from nncore.config import ENGINES, DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.data import make_dataset
from nncore.engines import (ENGINE_CLASSES, engine_class, make_engine,
                            resolve_engine)
from nncore.engines import numpy_functions, numpy_optim
from nncore.engines.numpy_engine import NumpyEngine
from nncore.engines.init import init_params
from nncore.train.trainer import Trainer
from tests.helpers import assert_runs_without_torch

TOL = 1e-5
SIZES = {"multiclass": [2, 8, 8, 3], "binary": [2, 8, 8, 1], "regression": [2, 8, 8, 1]}


def _data(task: str, n: int = 320, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    if task == "multiclass":
        y = (np.arctan2(X[:, 1], X[:, 0]) > 0).astype(np.int64) + (X[:, 0] > 0.5)
    elif task == "binary":
        y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    else:
        y = np.sin(2 * X[:, 0]) * np.cos(X[:, 1])
    return X, y


def _pair(model: ModelConfig, train: TrainConfig, task: str = "multiclass"):
    sizes = [2, *model.hidden, SIZES[task][-1]]
    params = init_params(model, sizes, seed=3)
    return [engine_class(name)(model, train, sizes, task, params, 0) for name in ("torch", "numpy")], params


def _max_diff(a: list[dict], b: list[dict]) -> float:
    assert [sorted(x) for x in a] == [sorted(x) for x in b]
    return max(float(np.abs(x[k] - y[k]).max()) for x, y in zip(a, b) for k in x)


def run_parity(model_kw=None, train_kw=None, task="multiclass", steps=50, epoch_every=0, changes=None):
    """Train torch and numpy side by side; ``changes`` maps step -> TrainConfig applied mid-run.
    Returns (largest difference seen, how far the numpy weights moved from their start)."""
    model = ModelConfig(hidden=(8, 8), dtype="float64", **(model_kw or {}))
    train = TrainConfig(**{"learning_rate": 0.05, **(train_kw or {})})
    (torch_e, numpy_e), start = _pair(model, train, task)
    X, y = _data(task)
    worst, epoch = 0.0, 0
    for step in range(steps):
        if changes and step in changes:
            for e in (torch_e, numpy_e):
                e.set_train_config(changes[step], epoch)
        rows = slice(step * 32 % 320, step * 32 % 320 + 32)
        losses = [e.train_step(X[rows], y[rows]) for e in (torch_e, numpy_e)]
        assert isinstance(losses[1], float)
        worst = max(worst, abs(losses[0] - losses[1]))
        if epoch_every and (step + 1) % epoch_every == 0:
            epoch += 1
            for e in (torch_e, numpy_e):
                e.end_epoch()
            assert numpy_e.lr == pytest.approx(torch_e.lr, rel=1e-12, abs=1e-15)
    worst = max(worst, _max_diff(torch_e.get_params(), numpy_e.get_params()),
                _max_diff(torch_e.grads(), numpy_e.grads()),
                float(np.abs(torch_e.grad_norms() - numpy_e.grad_norms()).max()),
                float(np.abs(torch_e.forward(X) - numpy_e.forward(X)).max()))
    moved = _max_diff(start, [{k: v for k, v in layer.items()} for layer in numpy_e.get_params()])
    return worst, moved


@pytest.mark.slow
@pytest.mark.parametrize("activation", list(registry.ACTIVATIONS))
@pytest.mark.parametrize("optimizer", list(registry.OPTIMIZERS))
def test_parity_every_optimizer_and_activation(optimizer, activation):
    worst, moved = run_parity({"activation": activation}, {"optimizer": optimizer})
    assert worst < TOL
    assert moved > 1e-3  # the runs really trained


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_parity_other_losses(task):
    worst, moved = run_parity({"activation": "tanh"}, {"optimizer": "momentum"}, task=task)
    assert worst < TOL and moved > 1e-3


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_parity_batch_norm(optimizer, activation):
    worst, moved = run_parity({"activation": activation, "batch_norm": True}, {"optimizer": optimizer})
    assert worst < TOL and moved > 1e-3


def test_batch_norm_running_statistics_follow_torch_rules():
    model = ModelConfig(hidden=(4,), batch_norm=True, dtype="float64", activation="linear")
    engine = NumpyEngine(model, TrainConfig(optimizer="sgd", learning_rate=1e-9), [2, 4, 1], "regression",
                         init_params(model, [2, 4, 1], seed=0), seed=0)
    X, y = _data("regression", n=10)
    z = X @ engine.get_params()[0]["W"].T
    engine.train_step(X, y)
    p = engine.get_params()[0]
    np.testing.assert_allclose(p["running_mean"], 0.1 * z.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(p["running_var"], 0.9 + 0.1 * z.var(axis=0, ddof=1), rtol=1e-6)


def test_parity_l1_l2():
    worst, moved = run_parity({"activation": "relu"}, {"optimizer": "sgd", "l1": 1e-3, "l2": 1e-2})
    assert worst < TOL and moved > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_parity_clipping(optimizer):
    clip = 0.05
    worst, _ = run_parity({"activation": "tanh", "batch_norm": True}, {"optimizer": optimizer, "clip_norm": clip})
    assert worst < TOL
    # the clip acts exactly when the global norm exceeds it, scaling to clip·total/(total + 1e-6) like torch
    model = ModelConfig(hidden=(8, 8), dtype="float64", activation="tanh", batch_norm=True)
    X, y = _data("multiclass")
    (_, probe), _ = _pair(model, TrainConfig(optimizer=optimizer))
    _, unclipped = probe.loss_and_grads(X[:32], y[:32])
    total = float(np.sqrt(sum(np.sum(g * g) for layer in unclipped for g in layer.values())))
    for factor in (0.8, 1.25):
        (_, engine), _ = _pair(model, TrainConfig(optimizer=optimizer, clip_norm=factor * total))
        engine.train_step(X[:32], y[:32])
        expected = factor * total * total / (total + 1e-6) if factor < 1 else total
        assert float(np.linalg.norm(engine.grad)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("schedule", list(registry.SCHEDULES))
def test_parity_schedules(schedule):
    worst, moved = run_parity({"activation": "relu"}, {"optimizer": "momentum", "schedule": schedule,
                                                       "step_size": 2, "gamma": 0.6, "epochs": 4},
                              epoch_every=5)
    assert worst < TOL and moved > 1e-3


@pytest.mark.parametrize("schedule", ["step", "cosine", "exponential"])
def test_schedules_match_torch_over_many_epochs(schedule):
    train = TrainConfig(learning_rate=0.3, schedule=schedule, step_size=3, gamma=0.8, epochs=7)
    (torch_e, numpy_e), _ = _pair(ModelConfig(hidden=(2,), dtype="float64"), train)
    seen = set()
    for _ in range(30):  # cosine runs past T_max, where torch's schedule turns back up
        torch_e.end_epoch()
        numpy_e.end_epoch()
        assert numpy_e.lr == pytest.approx(torch_e.lr, rel=1e-12, abs=1e-15)
        seen.add(round(numpy_e.lr, 12))
    assert len(seen) > 3


@pytest.mark.slow
def test_set_train_config_mid_run_lr_and_optimizer_kind():
    base = {"optimizer": "adam", "schedule": "step", "step_size": 1, "gamma": 0.9}
    changes = {
        12: TrainConfig(learning_rate=0.01, **base),                       # same kind: state kept
        25: TrainConfig(learning_rate=0.02, momentum=0.8, **{**base, "optimizer": "nesterov"}),  # new kind
        38: TrainConfig(learning_rate=0.02, momentum=0.5, **{**base, "optimizer": "nesterov"}),  # knob change
    }
    worst, moved = run_parity({"activation": "gelu"}, {**base, "learning_rate": 0.05}, epoch_every=6,
                              changes=changes)
    assert worst < TOL and moved > 1e-3


def test_same_kind_keeps_state_and_new_kind_resets_it():
    model = ModelConfig(hidden=(4,), dtype="float64")
    (_, engine), _ = _pair(model, TrainConfig(optimizer="adam"))
    X, y = _data("multiclass")
    engine.train_step(X[:32], y[:32])
    opt = engine.optimizer
    engine.set_train_config(TrainConfig(optimizer="adam", learning_rate=0.5, beta1=0.5), epoch=0)
    assert engine.optimizer is opt and opt.steps == 1 and opt.beta1 == 0.5 and engine.lr == 0.5
    engine.set_train_config(TrainConfig(optimizer="rmsprop"), epoch=0)
    assert isinstance(engine.optimizer, numpy_optim.RMSprop) and engine.optimizer.steps == 0


def test_float32_engine_tracks_float64_torch():
    model32 = ModelConfig(hidden=(8, 8), dtype="float32")
    model64 = dataclasses.replace(model32, dtype="float64")
    params = init_params(model64, SIZES["multiclass"], seed=3)
    train = TrainConfig(optimizer="momentum", learning_rate=0.05)
    e32 = NumpyEngine(model32, train, SIZES["multiclass"], "multiclass", params, 0)
    t64 = engine_class("torch")(model64, train, SIZES["multiclass"], "multiclass", params, 0)
    X, y = _data("multiclass")
    for step in range(20):
        rows = slice(step * 32 % 320, step * 32 % 320 + 32)
        assert e32.train_step(X[rows], y[rows]) == pytest.approx(t64.train_step(X[rows], y[rows]), abs=1e-4)
    assert e32.flat.dtype == np.float32
    out = e32.forward(X)
    assert out.dtype == np.float64 and out.shape == (320, 3)
    assert _max_diff(e32.get_params(), t64.get_params()) < 1e-4


def test_trace_get_set_params_and_grads_before_training():
    model = ModelConfig(hidden=(5, 4), dtype="float64", activation="relu", batch_norm=True)
    (torch_e, numpy_e), params = _pair(model, TrainConfig())
    X, _ = _data("multiclass", n=20)
    t_trace, n_trace = torch_e.trace(X), numpy_e.trace(X)
    assert [layer["pre"].shape for layer in n_trace] == [(20, 5), (20, 4), (20, 3)]
    for t, n in zip(t_trace, n_trace):
        np.testing.assert_allclose(n["pre"], t["pre"], atol=1e-12)
        np.testing.assert_allclose(n["post"], t["post"], atol=1e-12)
    assert np.all(n_trace[0]["post"] == np.maximum(n_trace[0]["pre"], 0))
    np.testing.assert_array_equal(n_trace[-1]["pre"], n_trace[-1]["post"])
    assert all(np.all(g["W"] == 0) for g in numpy_e.grads()) and np.all(numpy_e.grad_norms() == 0)
    changed = [{k: v + 0.5 for k, v in layer.items()} for layer in params]
    numpy_e.set_params(changed)
    assert _max_diff(numpy_e.get_params(), changed) == 0.0
    numpy_e.get_params()[0]["W"][:] = 99.0  # a copy: the engine is not affected
    assert _max_diff(numpy_e.get_params(), changed) == 0.0


def test_dropout_masks_are_seeded_and_inverted():
    model = ModelConfig(hidden=(400,), activation="linear", dropout=0.25, dtype="float64")
    sizes = [2, 400, 1]
    params = init_params(model, sizes, seed=0)

    def make(seed):
        return NumpyEngine(model, TrainConfig(optimizer="sgd"), sizes, "regression", params, seed)

    X, y = _data("regression", n=50)
    caches = make(1)._forward_train(X, update_stats=False)[1]
    scale = caches[0][3]
    assert set(np.unique(scale)) == {0.0, 1 / 0.75}
    assert abs((scale == 0).mean() - 0.25) < 0.02
    a, b, c = make(1), make(1), make(2)
    for e in (a, b, c):
        e.train_step(X, y)
    assert _max_diff(a.get_params(), b.get_params()) == 0.0
    assert _max_diff(a.get_params(), c.get_params()) > 0.0
    np.testing.assert_array_equal(a.forward(X), a.forward(X))  # eval mode: no dropout


@pytest.fixture
def denormals_kept():
    """Turn the CPU's flush-to-zero off for a test (the Trainer turns it on per thread), then restore it."""
    import torch
    was_on = np.array([3e-39]).astype(np.float32)[0] == 0
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(bool(was_on))


def test_moments_in_the_denormal_range_are_flushed(denormals_kept):
    opt = numpy_optim.Adam(1000, np.float32)
    opt.configure(TrainConfig())
    m, v = opt.buffers
    m[:] = 3e-39
    v[:] = 3e-39  # denormal in float32
    p, g = np.ones(1000, np.float32), np.zeros(1000, np.float32)
    for _ in range(numpy_optim.FLUSH_EVERY - 1):
        opt.step(p, g, 1e-3)
    assert np.all(v > 0) and np.all(v < np.finfo(np.float32).tiny)
    opt.step(p, g, 1e-3)
    assert np.all(m == 0) and np.all(v == 0)


@pytest.mark.slow
def test_every_engine_implements_every_registry_key():
    assert set(ENGINES) == set(ENGINE_CLASSES) | {"auto"}
    assert set(numpy_functions.ACTIVATIONS) == set(registry.ACTIVATIONS)
    assert set(numpy_functions.LOSSES) == set(registry.LOSSES)
    assert set(numpy_optim.OPTIMIZERS) == set(registry.OPTIMIZERS)
    assert set(numpy_optim.SCHEDULES) == set(registry.SCHEDULES)
    X, _ = _data("binary", n=16)
    for name in ENGINE_CLASSES:
        cls = engine_class(name)
        for task, loss in registry.TASK_LOSS.items():
            for activation in registry.ACTIVATIONS:
                for optimizer, schedule in zip(registry.OPTIMIZERS, list(registry.SCHEDULES) * 2):
                    model = ModelConfig(hidden=(3,), activation=activation)
                    train = TrainConfig(optimizer=optimizer, schedule=schedule, gamma=0.5, step_size=1, epochs=1)
                    sizes = SIZES[task][:1] + [3] + SIZES[task][-1:]
                    engine = cls(model, train, sizes, task, init_params(model, sizes, 0), 0)
                    assert engine.loss_name == loss
                    y = _data(task, n=16)[1]
                    assert np.isfinite(engine.train_step(X, y))
                    engine.end_epoch()
                    expected = 0.01 if schedule == "constant" else (0.0 if schedule == "cosine" else 0.005)
                    assert engine.lr == pytest.approx(expected, abs=1e-12)


def test_auto_engine_picks_numpy_for_small_and_torch_for_large_networks():
    model = ModelConfig(hidden=(16, 16))
    assert resolve_engine("auto", model, [2, 16, 16, 2]) == "numpy"
    assert resolve_engine("auto", model, [784, 2048, 2048, 10], batch_size=256) == "torch"
    assert resolve_engine("torch", model, [2, 16, 16, 2]) == "torch"
    assert resolve_engine("auto", ModelConfig(hidden=(16, 16), kind="cnn"), [2, 16, 16, 2]) == "torch"
    assert resolve_engine("auto", model, [2, 16, 16, 2], device="cpu") == "numpy"
    assert resolve_engine("auto", model, [2, 16, 16, 2], device="cuda") == "torch"  # only torch uses a GPU
    assert TrainConfig().engine == "auto"  # the app's and the CLI's default: the faster engine
    cfg = RunConfig(DataConfig(dataset="xor", n_points=100), ModelConfig(hidden=(8,)), TrainConfig(engine="auto"))
    assert make_engine(cfg, make_dataset(cfg.data)).name == "numpy"


@pytest.mark.slow
def test_numpy_engine_solves_moons_through_the_trainer():
    cfg = RunConfig(DataConfig(dataset="moons", n_points=400, noise=0.1, seed=1),
                    ModelConfig(hidden=(16, 16), activation="tanh"),
                    TrainConfig(engine="numpy", optimizer="adam", learning_rate=0.02, epochs=60))
    trainer = Trainer(cfg)
    assert trainer.engine.name == "numpy"
    while trainer.running:
        snap = trainer.run(steps=2000)
    assert snap.status == "done" and snap.epoch == 60
    assert snap.last("test_acc") >= 0.95
    assert snap.history["train_loss"][-1] < 0.5 * snap.history["train_loss"][0]


@pytest.mark.slow
def test_numpy_engine_and_gradcheck_run_without_importing_torch():
    code = ("import sys; from nncore.config import RunConfig, DataConfig, ModelConfig, TrainConfig;"
            "from nncore.data import make_dataset; from nncore.engines import make_engine;"
            "from nncore.engines.numpy_gradcheck import gradcheck;"
            "cfg = RunConfig(DataConfig(dataset='xor', n_points=60), ModelConfig(hidden=(4,), batch_norm=True),"
            " TrainConfig(engine='numpy'));"
            "ds = make_dataset(cfg.data); e = make_engine(cfg, ds);"
            "loss = e.train_step(ds.X_train[:16], ds.y_train[:16]); e.forward(ds.X_val);"
            "assert gradcheck(cfg, ds)['passed']")
    assert_runs_without_torch(code)
