"""The From scratch views: the laid-open backward pass agrees with the engines, and both engines agree."""

import numpy as np
import pytest

from nncore.engines import make_engine
from nncore.errors import ConfigError
from nncore.training import Trainer
from nncore.walkthrough import explain_sample, step_both_engines

from .helpers import make_cfg


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
    for mine, theirs in zip(layers, engine.grads()):
        np.testing.assert_allclose(mine["dW"], theirs["W"], atol=1e-10)
        np.testing.assert_allclose(mine["db"], theirs["b"], atol=1e-10)
    # Output delta of softmax cross-entropy: p - onehot(y).
    z = layers[-1]["pre"][0]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(layers[-1]["delta"][0], p - np.eye(3)[ds.y_train[7]], atol=1e-12)
    # Hidden delta: (W^T delta) * tanh'(z); weight gradient: delta h^T.
    W_out = params[-1]["W"]
    expected = (W_out.T @ layers[-1]["delta"][0]) * (1 - np.tanh(layers[1]["pre"][0]) ** 2)
    np.testing.assert_allclose(layers[1]["delta"][0], expected, atol=1e-12)
    np.testing.assert_allclose(layers[1]["dW"], np.outer(layers[1]["delta"][0], layers[1]["input"][0]), atol=1e-12)


def test_both_engines_take_the_same_step(trained):
    report = step_both_engines(trained.cfg, trained.dataset, trained.engine.get_params(), np.arange(32))
    assert report["max_abs_diff"] < 1e-10
    assert max(r["max_abs_change"] for r in report["layers"]) > 1e-6  # the step really moved the weights
    assert report["loss"]["torch"] == pytest.approx(report["loss"]["numpy"], rel=1e-12)


def test_the_cnn_is_named_as_unsupported():
    cfg = make_cfg(dataset="digits", kind="cnn")
    with pytest.raises(ConfigError, match="covers MLPs"):
        explain_sample(cfg, None, [], 0)
