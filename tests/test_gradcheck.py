"""The gradient check: passes on the real backprop for every activation, loss and option, and fails, naming
the right layers, when a derivative is broken."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from nncore import registry
from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.datasets import make_dataset
from nncore.engines import numpy_functions
from nncore.engines.numpy_engine import NumpyEngine
from nncore.errors import ConfigError
from nncore.gradcheck import KINK_MARGIN, THRESHOLD, add_command, gradcheck, relative_error, run_gradcheck


def check(dataset="xor", classes=2, **settings):
    model = {k: v for k, v in settings.items() if k in ModelConfig.__dataclass_fields__}
    train = {k: v for k, v in settings.items() if k in TrainConfig.__dataclass_fields__}
    cfg = RunConfig(DataConfig(dataset=dataset, classes=classes, n_points=200), ModelConfig(**model),
                    TrainConfig(**train))
    return gradcheck(cfg, make_dataset(cfg.data))


def rows(result):
    return {(r["layer"], r["param"]): r["max_rel_error"] for r in result["layers"]}


def test_relative_error_formula():
    assert relative_error(2.0, 2.0) == 0.0
    assert relative_error(1.0, 3.0) == pytest.approx(0.5)
    assert relative_error(1e-9, 0.0) == pytest.approx(0.1)  # the 1e-8 floor
    assert relative_error(-1.0, 1.0) == pytest.approx(1.0)


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
