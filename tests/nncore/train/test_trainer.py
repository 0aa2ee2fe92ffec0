"""The Trainer's loop with the torch engine: every registry entry learns, runs are reproducible, failure modes
are named, settings change mid-run. (What it records: test_recording; time travel: test_timetravel; the
boundary grid: tests/nncore/inspect/test_grid.)"""

import math

import numpy as np
import pytest

from nncore.inspect import metrics
from nncore import registry
from nncore.config import TrainConfig
from nncore.data import SPECS
from nncore.errors import ConfigError
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg, train


@pytest.mark.parametrize("dataset", [d for d in SPECS if d != "ripple"])
def test_defaults_solve_every_classification_dataset(dataset):
    """First click works: the app's defaults reach >= 95% test accuracy (within 80 epochs here)."""
    _, snap = train(dataset=dataset, epochs=80)
    assert snap.last("test_acc") >= 0.95, snap.history["test_acc"][-5:]


def test_defaults_fit_the_regression_dataset():
    _, snap = train(dataset="ripple", epochs=100)
    assert snap.last("test_r2") >= 0.8  # R² on held-out points
    assert "test_acc" not in snap.history and snap.last("test_acc") is None  # no accuracy for a regression
    assert snap.last("test_loss") < 0.05


@pytest.mark.parametrize("activation", [a for a in registry.ACTIVATIONS if a != "linear"])
def test_every_nonlinear_activation_solves_xor(activation):
    _, snap = train(dataset="xor", n_points=300, epochs=60, activation=activation)
    assert snap.last("test_acc") >= 0.9


def test_linear_activation_cannot_solve_xor():
    """With the identity activation the network is a linear model: XOR stays near chance."""
    _, snap = train(dataset="xor", n_points=300, epochs=60, activation="linear")
    assert snap.last("test_acc") <= 0.75


@pytest.mark.parametrize("init", [i for i in registry.INITIALIZERS if i != "zeros"])
def test_every_initializer_trains_moons(init):
    _, snap = train(dataset="moons", n_points=300, epochs=60, init=init)
    assert snap.last("test_acc") >= 0.9


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_zero_init_leaves_hidden_units_identical(activation):
    trainer, snap = train(dataset="moons", n_points=200, epochs=20, init="zeros", activation=activation,
                          hidden=(6, 5))
    for layer in trainer.engine.get_params()[:-1]:
        W, b = layer["W"], layer["b"]
        assert np.allclose(W, W[0]) and np.allclose(b, b[0]), "hidden units diverged despite symmetric init"
    assert snap.last("test_acc") <= 0.75  # and so the network cannot learn the moons


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("momentum", 0.03), ("nesterov", 0.03),
                                           ("rmsprop", 0.01), ("adam", 0.01), ("adamw", 0.01)])
def test_every_optimizer_trains_moons(optimizer, lr):
    _, snap = train(dataset="moons", n_points=300, epochs=60, optimizer=optimizer, learning_rate=lr)
    assert snap.last("test_acc") >= 0.9
    assert snap.history["train_loss"][-1] < snap.history["train_loss"][0] * 0.5


@pytest.mark.parametrize("schedule", list(registry.SCHEDULES))
def test_every_schedule_trains_and_follows_its_curve(schedule):
    trainer, snap = train(dataset="moons", n_points=300, epochs=60, schedule=schedule, step_size=20, gamma=0.9,
                          learning_rate=0.01)
    assert snap.last("test_acc") >= 0.9
    lr = snap.history["lr"]  # the rate after each epoch's schedule step is recorded before it: epoch e uses lr[e-1]
    epochs = np.arange(len(lr))
    expected = {
        "constant": np.full(len(lr), 0.01),
        "step": 0.01 * 0.9 ** (epochs // 20),
        "cosine": 0.005 * (1 + np.cos(np.pi * epochs / 60)),
        "exponential": 0.01 * 0.9 ** epochs,
    }[schedule]
    np.testing.assert_allclose(lr, expected, rtol=1e-5, atol=1e-9)


def test_same_seed_same_run_however_the_budget_is_sliced():
    cfg = make_cfg(dataset="spirals", n_points=200, epochs=10, dropout=0.2)
    a, b = Trainer(cfg), Trainer(cfg)
    while a.running:
        a.run(steps=7)
    while b.running:
        b.run(steps=1000)
    for key in ("train_loss", "val_loss", "test_acc"):
        np.testing.assert_array_equal(a.snapshot().history[key], b.snapshot().history[key])
    c = Trainer(make_cfg(dataset="spirals", n_points=200, epochs=10, dropout=0.2, seed=1))
    c.run(steps=10_000)
    assert not np.array_equal(c.snapshot().history["train_loss"], a.snapshot().history["train_loss"])


def test_divergence_stops_with_an_explanation_and_keeps_finite_weights():
    trainer, snap = train(dataset="moons", optimizer="sgd", learning_rate=10.0, hidden=(32, 32, 32),
                          init="normal", activation="linear", epochs=50, standardize=False, noise=0.0)
    assert snap.status == "diverged"
    assert snap.message.startswith("loss became ")
    assert f"at step {snap.step}: learning rate too high?" in snap.message
    assert all(np.isfinite(v).all() for layer in trainer.engine.get_params() for v in layer.values())
    assert np.isfinite(trainer.engine.forward(trainer.dataset.X_test)).all()
    assert all(math.isfinite(x) for x in snap.history["train_loss"])  # no NaN ever reported as a metric
    assert not trainer.running
    step = trainer.step
    trainer.run(steps=10)
    assert trainer.step == step  # a diverged run does not continue


def test_early_stopping_restores_the_best_epoch():
    trainer, snap = train(dataset="moons", n_points=100, noise=0.4, hidden=(64, 64), learning_rate=0.03,
                          epochs=400, early_stopping=10, restore_best=True)
    assert snap.status == "early_stopped"
    val = snap.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) - 1 - best == 10  # stopped exactly `patience` epochs after the best
    restored = metrics.data_loss(trainer.engine.forward(trainer.dataset.X_val), trainer.dataset.y_val, "binary")
    assert restored == pytest.approx(val[best], rel=1e-5)
    assert "restored" in snap.message


def test_snapshot_final_is_the_held_weights_metrics():
    """After early stopping restored the best epoch, final() gives that epoch's metrics, which the held
    weights reproduce; last() stays the stop epoch's (the curves show what happened)."""
    trainer, snap = train(dataset="moons", n_points=100, noise=0.4, hidden=(64, 64), learning_rate=0.03,
                          epochs=400, early_stopping=10, restore_best=True)
    assert snap.best_epoch is not None and snap.best_epoch < snap.epoch
    ds = trainer.dataset
    for split in ("train", "val", "test"):
        X, y = ds.split(split)
        out = trainer.engine.forward(X)
        assert snap.final(f"{split}_loss") == metrics.data_loss(out, y, ds.task)  # same weights, same bits
        assert snap.final(f"{split}_acc") == metrics.accuracy(out, y, ds.task)
    assert snap.final("val_loss") < snap.last("val_loss")
    assert snap.weights_epoch == snap.best_epoch and snap.kept_note == (
        f"best epoch {snap.best_epoch} of {snap.epoch}, weights restored")
    _, kept = train(dataset="moons", n_points=100, noise=0.4, hidden=(64, 64), learning_rate=0.03,
                    epochs=400, early_stopping=10, restore_best=False)
    assert kept.best_epoch is None and kept.final("test_loss") == kept.last("test_loss") and kept.kept_note == ""


@pytest.mark.parametrize("min_delta, stops_at", [(1e-4, 1 + 5), (0.0, None)])
def test_min_delta_counts_only_real_improvements(min_delta, stops_at, monkeypatch):
    """A validation loss creeping down by 3e-7 per epoch is no progress once min_delta is above that."""
    cfg = make_cfg(dataset="moons", epochs=30)
    cfg = cfg.replace(train=TrainConfig(**{**cfg.train.__dict__, "early_stopping": 5, "min_delta": min_delta}))
    trainer = Trainer(cfg)
    real = trainer._evaluate
    monkeypatch.setattr(trainer, "_evaluate", lambda: {**real(), "val_loss": 0.5 - 3e-7 * trainer.epoch})
    snap = trainer.run(steps=10**6)
    if stops_at is None:
        assert snap.status == "done" and snap.epoch == 30
    else:
        assert snap.status == "early_stopped" and snap.epoch == stops_at and snap.best_epoch == 1


def test_learning_rate_changes_mid_run_without_reset():
    cfg = make_cfg(dataset="moons", learning_rate=0.01, epochs=100)
    trainer = Trainer(cfg)
    trainer.run(steps=50)
    before = trainer.engine.get_params()
    step = trainer.step
    trainer.update_train(TrainConfig(learning_rate=0.1, epochs=100))
    assert trainer.engine.lr == pytest.approx(0.1)
    assert trainer.step == step
    np.testing.assert_array_equal(trainer.engine.get_params()[0]["W"], before[0]["W"])  # weights kept
    trainer.run(steps=5)
    assert trainer.step == step + 5
    assert trainer.snapshot().config.train.learning_rate == 0.1


def test_optimizer_kind_changes_mid_run():
    trainer = Trainer(make_cfg(dataset="moons", epochs=80))
    trainer.run(steps=100)
    trainer.update_train(TrainConfig(optimizer="momentum", learning_rate=0.05, epochs=80))
    while trainer.running:
        trainer.run(steps=2000)
    assert trainer.snapshot().last("test_acc") >= 0.95


def test_finished_run_continues_when_epochs_are_raised():
    trainer, snap = train(dataset="moons", epochs=3)
    assert snap.status == "done" and snap.epoch == 3 and "3 epochs" in snap.message
    trainer.update_train(TrainConfig(epochs=5))
    assert trainer.running
    trainer.run(steps=10_000)
    assert trainer.snapshot().epoch == 5


def test_l2_shrinks_weights_and_dropout_and_batch_norm_train():
    plain, _ = train(dataset="moons", n_points=200, epochs=40)
    shrunk, _ = train(dataset="moons", n_points=200, epochs=40, l2=0.01)
    norm = lambda t: sum(float((p["W"] ** 2).sum()) for p in t.engine.get_params())  # noqa: E731
    assert norm(shrunk) < 0.7 * norm(plain)
    l1, _ = train(dataset="moons", n_points=200, epochs=40, l1=0.003)
    small = lambda t: np.mean([np.mean(np.abs(p["W"]) < 1e-2) for p in t.engine.get_params()])  # noqa: E731
    assert small(l1) > small(plain) + 0.1  # L1 drives many weights to (near) zero
    _, snap = train(dataset="moons", n_points=300, epochs=40, dropout=0.2, batch_norm=True, clip_norm=1.0)
    assert snap.last("test_acc") >= 0.9


def test_callbacks_observe_epochs_and_the_stop():
    trainer = Trainer(make_cfg(dataset="moons", epochs=4))
    seen = []
    trainer.add_callback("on_epoch_end", lambda t: seen.append(("epoch", t.epoch)))
    trainer.add_callback("on_stop", lambda t: seen.append(("stop", t.status)))
    trainer.run(steps=10_000)
    assert seen == [("epoch", 1), ("epoch", 2), ("epoch", 3), ("epoch", 4), ("stop", "done")]


def test_switching_engine_mid_run_keeps_the_weights():
    trainer = Trainer(make_cfg(dataset="moons", epochs=40))
    trainer.run(steps=60)
    before = trainer.engine.get_params()
    out_before = trainer.engine.forward(trainer.dataset.X_test)
    trainer.update_train(TrainConfig(engine="numpy", epochs=40))
    assert trainer.engine.name == "numpy" and trainer.step == 60
    for a, b in zip(before, trainer.engine.get_params()):
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-6)
    np.testing.assert_allclose(trainer.engine.forward(trainer.dataset.X_test), out_before, atol=1e-5)
    trainer.run(steps=10_000)
    assert trainer.snapshot().last("test_acc") >= 0.95


def test_augmentation_changes_training_batches_only():
    cfg = make_cfg(dataset="digits", hidden=(16,), limit=200, epochs=2, augment_shift=2, augment_rotate=10.0)
    plain = make_cfg(dataset="digits", hidden=(16,), limit=200, epochs=2)
    a, b = Trainer(cfg), Trainer(plain)
    seen = []
    original = a.engine.train_step
    a.engine.train_step = lambda X, y: (seen.append(X.copy()), original(X, y))[1]
    a.run(steps=1)
    b_first = b._splits["train"][0][b._order][:cfg.train.batch_size]
    assert not np.allclose(seen[0], b_first)  # same order, perturbed images
    np.testing.assert_array_equal(a._splits["test"][0], b._splits["test"][0])  # evaluation data untouched
    a.run(steps=1000)
    assert a.snapshot().epoch == 2


@pytest.mark.slow
def test_cnn_learns_digits():
    trainer, snap = train(dataset="digits", kind="cnn", channels=(8, 16), hidden=(32,), limit=600,
                          learning_rate=3e-3, batch_size=32, epochs=6)
    assert snap.layer_names == ("conv 1", "conv 2", "hidden 1", "output")
    assert snap.last("test_acc") >= 0.85
    assert trainer.engine.get_params()[0]["W"].shape == (8, 1, 3, 3)


@pytest.mark.slow
def test_image_mlp_defaults_reach_97_percent_on_digits():
    """The Images page defaults (784-style MLP 512-512, Adam 1e-3, batch 256) on digits."""
    _, snap = train(dataset="digits", hidden=(512, 512), learning_rate=1e-3, batch_size=256, epochs=40,
                    standardize=False)
    assert snap.last("test_acc") >= 0.97


def test_batch_size_one_trains_and_batch_norm_needs_two():
    trainer, snap = train(dataset="moons", n_points=100, batch_size=1, epochs=2)
    assert snap.step == 2 * 60  # one step per training sample
    with pytest.raises(ConfigError, match="batch_size must be >= 2 with batch norm"):
        make_cfg(batch_norm=True, batch_size=1)
