"""The gradient check: passes on the real backprop for every activation, loss and option, and fails, naming
the right layers, when a derivative is broken."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from nncore import registry
from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.data import make_dataset
from nncore.engines import numpy_functions
from nncore.engines.numpy_engine import NumpyEngine
from nncore.errors import ConfigError
from nncore.engines import network_sizes
from nncore.cli.gradcheck import add_command
from nncore.engines.numpy_gradcheck import (KINK_MARGIN, THRESHOLD, UNIT_ROUNDOFF, compare_direction, gradcheck,
                                            noise_bound, relative_error, rounding_steps, run_gradcheck)
from nncore.engines.init import init_params


def check(dataset="xor", classes=2, **settings):
    model = {k: v for k, v in settings.items() if k in ModelConfig.__dataclass_fields__}
    train = {k: v for k, v in settings.items() if k in TrainConfig.__dataclass_fields__}
    cfg = RunConfig(DataConfig(dataset=dataset, classes=classes, n_points=200), ModelConfig(**model),
                    TrainConfig(**train))
    return gradcheck(cfg, make_dataset(cfg.data))


def rows(result):
    return {(r["layer"], r["param"]): r["max_rel_error"] for r in result["layers"]}


def test_relative_error_formula():
    assert relative_error(2.0, 2.0, 1e-8) == 0.0
    assert relative_error(1.0, 3.0, 1e-8) == pytest.approx(0.5)
    assert relative_error(1e-9, 0.0, 1e-8) == pytest.approx(0.1)  # the floor
    assert relative_error(-1.0, 1.0, 1e-8) == pytest.approx(1.0)


def _tanh_case(batch_norm=False):
    cfg = RunConfig(DataConfig(dataset="spirals", classes=3, n_points=200),
                    ModelConfig(activation="tanh", hidden=(8, 8), dtype="float64", batch_norm=batch_norm),
                    TrainConfig())
    ds = make_dataset(cfg.data)
    sizes = network_sizes(cfg.model, ds.n_features, ds.n_outputs)
    engine = NumpyEngine(cfg.model, cfg.train, sizes, ds.task, init_params(cfg.model, sizes, seed=0), 0)
    X, y = ds.X_train[:8], ds.y_train[:8]
    loss, grads = engine.loss_and_grads(X, y, train=True)
    return engine, X, y, loss, grads, rounding_steps(sizes, len(X), batch_norm)


def test_a_small_derivative_is_held_to_the_noise_bound_not_to_a_relative_accuracy(monkeypatch):
    # The error model's worst case: every computed loss off by κ·u·max(|f|, 1), upwards at T + h·v and
    # downwards at T − h·v (CPUs differ in how they round; the verdict must not). Along a direction where
    # the derivative is small (1e-5) that rounding alone is 4e-4 of it: a correct gradient the check must
    # pass, and one a relative error against a fixed floor fails.
    engine, X, y, loss, grads, steps = _tanh_case(batch_norm=True)
    view, grad = engine.parameter_views()[1]["W"], grads[1]["W"]
    v = np.random.default_rng(3).standard_normal(view.shape)
    v -= np.sum(v * grad) / np.sum(grad * grad) * grad       # orthogonal to the gradient ...
    v += 1e-5 * grad / np.sum(grad * grad)                   # ... plus a derivative of 1e-5 along v
    exact = engine.total_loss
    delta = steps * UNIT_ROUNDOFF * max(abs(loss), 1.0)
    signs = iter([1, -1] * 2)
    monkeypatch.setattr(engine, "total_loss", lambda X, y, train: exact(X, y, train=train) + next(signs) * delta)
    error, gap, noise = compare_direction(engine, view, grad, v, 1e-6, X, y, loss, steps)
    analytic = float(np.sum(grad * v))
    assert analytic == pytest.approx(1e-5, rel=1e-6)
    assert gap == pytest.approx(delta / 1e-6, rel=1e-2)      # the rounding the model allows, all of it
    assert relative_error(analytic, analytic + gap, 1e-8) > 100 * THRESHOLD  # a fixed floor: "FAILED"
    assert gap <= noise and error < THRESHOLD


def test_noise_bound_terms_follow_the_error_model():
    u = np.finfo(np.float64).eps / 2
    # rounding κ·u·max(|f|, 1)/h, the analytic side's κ·u·|a|, truncation 2·|n(2h) − n(h)|/3
    assert noise_bound(0.5, 0.0, None, None, 1e-6, 10) == pytest.approx(10 * u / 1e-6)
    assert noise_bound(4.0, 0.0, None, None, 1e-6, 10) == pytest.approx(40 * u / 1e-6)
    assert noise_bound(4.0, 2.0, None, None, 1e-6, 10) == pytest.approx(40 * u / 1e-6 + 20 * u)
    assert noise_bound(1.0, 0.0, 1.0, 1.0 + 3e-9, 1e-3, 10) == pytest.approx(10 * u / 1e-3 + 2e-9)
    assert rounding_steps((2, 8, 3), batch=8, batch_norm=False) == (2 + 2) + (8 + 2) + (3 + 3) + 8
    assert rounding_steps((2, 8, 3), batch=8, batch_norm=True) == 28 + (2 * 8 + 4)


@pytest.mark.parametrize("eps", [1e-3, 1e-4, 1e-8])
def test_the_verdict_holds_for_any_reasonable_step(eps):
    # large steps are dominated by truncation (h²), tiny ones by rounding (1/h); the bound covers both
    cfg = RunConfig(DataConfig(dataset="spirals", classes=3, n_points=200),
                    ModelConfig(activation="gelu", hidden=(8, 8), batch_norm=True), TrainConfig())
    result = gradcheck(cfg, make_dataset(cfg.data), eps=eps)
    assert result["passed"], result
    assert all(r["max_abs_error"] <= r["noise"] for r in result["layers"])


def test_a_derivative_off_by_a_hundredth_of_a_percent_fails(monkeypatch):
    tanh = numpy_functions.ACTIVATIONS["tanh"]
    slightly_off = numpy_functions.Activation(tanh.forward, lambda z, a: (1 - a * a) * (1 + 1e-4))
    monkeypatch.setitem(numpy_functions.ACTIVATIONS, "tanh", slightly_off)
    result = check("spirals", 3, activation="tanh", hidden=(8, 8))
    assert not result["passed"]
    assert rows(result)[("hidden 1", "W")] > THRESHOLD and rows(result)[("output", "W")] < THRESHOLD


def test_bad_step_is_refused_with_a_clear_error():
    cfg = RunConfig(DataConfig(dataset="xor", n_points=100), ModelConfig(hidden=(4,)), TrainConfig())
    for eps in (0.0, -1e-6, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="eps must be a finite number > 0"):
            gradcheck(cfg, make_dataset(cfg.data), eps=eps)


@pytest.mark.parametrize("activation", list(registry.ACTIVATIONS))
def test_every_activation_passes(activation):
    result = check(activation=activation, hidden=(6, 5))
    assert result["passed"] and result["max_rel_error"] < THRESHOLD
    assert {r["param"] for r in result["layers"]} == {"W", "b"} and len(result["layers"]) == 6
    if activation in ("relu", "leaky_relu"):
        assert result["kink_distance"] >= KINK_MARGIN * result["eps"]


@pytest.mark.parametrize("dataset, classes, loss", [("xor", 2, "sigmoid_bce"), ("spirals", 3, "softmax_ce"),
                                                    ("blobs", 4, "softmax_ce"), ("ripple", 2, "mse")])
def test_every_loss_passes(dataset, classes, loss):
    ds = make_dataset(DataConfig(dataset=dataset, classes=classes, n_points=200))
    assert registry.TASK_LOSS[ds.task] == loss
    result = check(dataset, classes, activation="tanh")
    assert result["passed"], result


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_batch_norm_passes_and_checks_gamma_beta(activation):
    result = check("spirals", 3, activation=activation, batch_norm=True, hidden=(8, 8))
    assert result["passed"], result
    params = {(r["layer"], r["param"]): r["reference"] for r in result["layers"]}
    assert params[("hidden 1", "gamma")] == "central differences"
    assert params[("hidden 2", "b")].startswith("exactly 0")
    assert params[("output", "b")] == "central differences"


def test_l1_l2_and_dropout_forced_off():
    result = check("ripple", activation="relu", l1=1e-2, l2=1e-1, dropout=0.3, batch_norm=True)
    assert result["passed"], result
    assert any("dropout 0.3 turned off" in note for note in result["notes"])


def test_broken_activation_derivative_fails_in_the_hidden_layers(monkeypatch):
    good = check(activation="tanh")
    assert good["passed"]
    broken = numpy_functions.Activation(np.tanh, lambda z, a: 1 - a)  # should be 1 - a²
    monkeypatch.setitem(numpy_functions.ACTIVATIONS, "tanh", broken)
    result = check(activation="tanh")
    assert not result["passed"]
    errors = rows(result)
    assert errors[("hidden 1", "W")] > 1e-2 and errors[("hidden 2", "W")] > 1e-2
    assert errors[("output", "W")] < THRESHOLD and errors[("output", "b")] < THRESHOLD


def test_broken_batch_norm_backward_fails(monkeypatch):
    def affine_only(self, dout, i, bn, g):  # forgets that the batch statistics depend on z
        xhat, inv, _ = bn
        np.add.reduce(dout, axis=0, out=g.beta[i])
        np.add.reduce(dout * xhat, axis=0, out=g.gamma[i])
        return dout * (self.p.gamma[i] * inv)

    monkeypatch.setattr(NumpyEngine, "_bn_backward", affine_only)
    result = check(activation="tanh", batch_norm=True)
    assert not result["passed"]
    errors = rows(result)
    assert errors[("hidden 1", "b")] > 1e-2  # must be ~0 with batch norm; the broken code says otherwise
    assert errors[("output", "W")] < THRESHOLD


def test_cli_command_prints_json_and_sets_the_exit_code(capsys, monkeypatch):
    parser = argparse.ArgumentParser()
    add_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gradcheck", "--dataset", "spirals", "--classes", "3", "--activation", "gelu",
                              "--batch-norm", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] and out["n_samples"] == 8 and len(out["layers"]) == 3 * 2 + 2 * 2
    monkeypatch.setitem(numpy_functions.ACTIVATIONS, "gelu",
                        numpy_functions.Activation(numpy_functions.ACTIVATIONS["gelu"].forward, None))
    assert args.func(args) == 1


def test_run_gradcheck_uses_the_defaults():
    cfg = RunConfig(DataConfig(dataset="xor", n_points=100), ModelConfig(hidden=(4,)), TrainConfig())
    result = run_gradcheck(cfg, make_dataset(cfg.data))
    assert result["passed"] and result["eps"] == 1e-6 and result["n_samples"] == 8


def test_convolutional_models_are_refused_with_a_clear_error():
    cfg = RunConfig(DataConfig(dataset="xor", n_points=100), ModelConfig(kind="cnn"), TrainConfig())
    with pytest.raises(ConfigError, match="model mlp"):
        gradcheck(cfg, make_dataset(cfg.data))
