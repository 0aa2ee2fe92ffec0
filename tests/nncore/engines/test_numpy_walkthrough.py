"""The From scratch views: the laid-open backward pass agrees with the engines, and both engines agree."""

from dataclasses import replace

import numpy as np
import pytest

from nncore.data import make_dataset
from nncore.engines import make_engine
from nncore.errors import ConfigError
from nncore.registry import ACTIVATIONS
from nncore.train.trainer import Trainer
from nncore.engines.numpy_walkthrough import explain_sample, step_both_engines

from tests.helpers import (ELEMENTWISE_ULPS, assert_within, gamma, make_cfg, mlp_forward_bound, mlp_gradient_bound,
                      unit_roundoff)


@pytest.fixture(scope="module")
def trained():
    trainer = Trainer(make_cfg(dataset="blobs", classes=3, hidden=(5, 4), activation="tanh", epochs=3))
    trainer.run(steps=1000)
    return trainer


def test_explained_gradients_equal_the_engines_and_follow_the_chain_rule(trained):
    cfg, ds, params = trained.cfg, trained.dataset, trained.engine.get_params()
    layers = explain_sample(cfg, ds, params, index=7)
    assert [layer["dW"].shape for layer in layers] == [(5, 2), (4, 5), (3, 4)]
    # The torch engine's gradient of the same single-sample loss (no penalty, no dropout) matches.
    engine = make_engine(cfg.replace(model=cfg.model.__class__(**{**cfg.model.__dict__, "dtype": "float64"})), ds,
                         params=params)
    engine.set_train_config(cfg.train.__class__(**{**cfg.train.__dict__, "learning_rate": 1e-9}), 0)
    engine.train_step(ds.X_train[7:8], ds.y_train[7:8])
    # two float64 evaluations of the same gradients, each within the running error bound of the exact ones
    bound = mlp_gradient_bound(params, ds.X_train[7:8], ds.y_train[7:8], np.float64, "tanh")
    for i, (mine, theirs) in enumerate(zip(layers, engine.grads())):
        assert_within(mine["dW"], theirs["W"], 2 * bound["dW_error"][i], f"layer {i} weight gradients")
        assert_within(mine["db"], theirs["b"], 2 * bound["db_error"][i], f"layer {i} bias gradients")
    u = unit_roundoff(np.float64)
    # Output delta of softmax cross-entropy: p - onehot(y), here and in the engine from the same z, twice:
    # z - max(z) (its rounding, u |z - max|, is a relative error of exp), exp, a sum of 3 and a division
    # (p_i within u p_i (2 ulps + 2 max|z - max| + 4)), then the subtraction of onehot.
    z = layers[-1]["pre"][0]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    want = p - np.eye(3)[ds.y_train[7]]
    one = u * p * (2 * ELEMENTWISE_ULPS + 2 * np.abs(z - z.max()).max() + 4) + u * np.abs(want)
    assert_within(layers[-1]["delta"][0], want, 2 * one, "output deltas")
    # Hidden delta: (W^T delta) * tanh'(z), from the same delta and z: a 3-term dot product, tanh (a few ulp,
    # its error doubled by 1 - t^2), a square, a subtraction and a product, twice.
    W_out = params[-1]["W"]
    back = W_out.T @ layers[-1]["delta"][0]
    expected = back * (1 - np.tanh(layers[1]["pre"][0]) ** 2)
    scale = np.abs(W_out.T) @ np.abs(layers[-1]["delta"][0])
    assert_within(layers[1]["delta"][0], expected, 2 * (gamma(np.float64, 3) * scale + u * (2 * ELEMENTWISE_ULPS + 4)
                                                       * scale), "hidden deltas")
    # weight gradient of one sample: delta h^T, each entry one rounded product either way: the same bits
    np.testing.assert_array_equal(layers[1]["dW"], np.outer(layers[1]["delta"][0], layers[1]["input"][0]))


def test_both_engines_take_the_same_step(trained):
    cfg, ds, params = trained.cfg, trained.dataset, trained.engine.get_params()
    batch = np.arange(32)
    report = step_both_engines(cfg, ds, params, batch)
    assert max(r["max_abs_change"] for r in report["layers"]) > 1e-6  # the step really moved the weights
    # Each engine's float64 gradients lie within the running error bound of the exact ones. Adam's first step
    # moves a weight by U(g) = lr g / (|g| + eps) (m and v are g and g^2 after bias correction): at most 16
    # roundings of U (moments, bias corrections, square root, eps, division, learning rate), U's slope
    # lr eps / (|g| + eps)^2 times the gradient's error, and the rounding of w - U.
    assert (cfg.train.optimizer, cfg.train.l1, cfg.train.l2, cfg.model.batch_norm) == ("adam", 0, 0, False)
    grads = mlp_gradient_bound(params, ds.X_train[batch], ds.y_train[batch], np.float64, cfg.model.activation)
    lr, eps, u = cfg.train.learning_rate, 1e-8, unit_roundoff(np.float64)
    for row in report["layers"]:
        i = ["hidden 1", "hidden 2", "output"].index(row["layer"])
        key = {"W": "dW", "b": "db"}[row["param"]]
        g, g_err = grads[key][i], grads[f"{key}_error"][i]
        step = lr * np.abs(g) / (np.abs(g) + eps)
        after = np.abs(params[i][row["param"]]) + step
        one = gamma(np.float64, 16) * step + lr * eps / (np.abs(g) + eps) ** 2 * g_err + u * after
        assert row["max_abs_diff"] <= 2 * one.max(), (row, 2 * one.max())
    assert abs(report["loss"]["torch"] - report["loss"]["numpy"]) <= 2 * grads["loss_error"]
    assert abs(report["loss"]["numpy"] - grads["loss"]) <= grads["loss_error"]  # and it is this batch's loss


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_the_error_bounds_hold_in_float32_and_one_weight_off_by_1e_3_breaks_them(activation):
    """The bounds the tests compare with (tests/helpers.py) hold where rounding shows: both engines' float32
    outputs, gradients and loss against the exact ones; and a network with one weight off by 1e-3 lies
    outside them, so a comparison within them tells a wrong network apart."""
    cfg = make_cfg(dataset="blobs", classes=3, n_points=90, hidden=(16, 8), activation=activation,
                   init="xavier_normal", learning_rate=1e-9)
    ds = make_dataset(cfg.data)
    X, y = ds.X_train[:32], ds.y_train[:32]
    params = make_engine(cfg, ds).get_params()
    off = [dict(layer) for layer in params]
    off[0]["W"] = off[0]["W"].copy()
    off[0]["W"][0, 0] += 1e-3
    z, z_err = mlp_forward_bound(params, X, np.float32, activation)
    exact = mlp_gradient_bound(params, X, y, np.float32, activation)
    for name in ("numpy", "torch"):
        engine = make_engine(replace(cfg, train=replace(cfg.train, engine=name)), ds, params=params)
        assert_within(engine.forward(X), z, z_err, f"{name} outputs")
        loss = engine.train_step(X, y)
        for i, grads in enumerate(engine.grads()):
            assert_within(grads["W"], exact["dW"][i], exact["dW_error"][i], f"{name} layer {i} weight gradients")
            assert_within(grads["b"], exact["db"][i], exact["db_error"][i], f"{name} layer {i} bias gradients")
        assert abs(loss - exact["loss"]) <= exact["loss_error"]
        wrong = make_engine(replace(cfg, train=replace(cfg.train, engine=name)), ds, params=off)
        with pytest.raises(AssertionError, match="beyond the derived bound"):
            assert_within(wrong.forward(X), z, z_err)
        wrong.train_step(X, y)
        with pytest.raises(AssertionError, match="beyond the derived bound"):
            assert_within(wrong.grads()[0]["W"], exact["dW"][0], exact["dW_error"][0])


def test_the_cnn_is_named_as_unsupported():
    cfg = make_cfg(dataset="digits", kind="cnn")
    with pytest.raises(ConfigError, match="covers MLPs"):
        explain_sample(cfg, None, [], 0)
