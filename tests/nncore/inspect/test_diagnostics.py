"""Diagnostics: every check fires on a real run built to show its problem, stays silent where it does not
apply, and a healthy default run gets no warning at all."""

import re
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from nncore.inspect import diagnostics
from nncore.data import SPECS, split_dataset
from nncore.inspect.diagnostics import CHECKS, diagnose
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg, train

FAST = {"engine": "auto", "n_points": 200}  # small data on the faster engine keeps this file quick


def findings(trainer) -> dict:
    return {f.id: f for f in diagnose(trainer)}


def scaled_run(factor: float, **settings):
    """Train on moons whose raw inputs are ``factor`` times larger (a dataset the generators do not offer)."""
    cfg = make_cfg(**{**FAST, "dataset": "moons", **settings})
    X, y = SPECS["moons"].generate(cfg.data.n_points, cfg.data.noise, 2, np.random.default_rng(cfg.data.seed))
    trainer = Trainer(cfg, dataset=split_dataset("moons", X * factor, y, "classification", cfg.data, ("x1", "x2")))
    while trainer.running:
        trainer.run(steps=5000)
    return trainer


def has_number(text: str) -> bool:
    return re.search(r"\d", text) is not None


def test_registry_holds_every_check():
    assert set(CHECKS) == {"dead_relu", "saturated", "vanishing_gradients", "exploding_gradients", "lr_too_high",
                           "lr_too_low", "overfitting", "identical_units", "unscaled_inputs"}


@pytest.mark.slow
def test_healthy_default_run_gets_no_warning():
    """The app's defaults on moons (torch engine) learn cleanly: nothing to warn about."""
    trainer, snap = train(dataset="moons", epochs=40)
    assert snap.last("test_acc") >= 0.95
    assert [f for f in diagnose(trainer) if f.severity != "info"] == []


@pytest.mark.slow
def test_dead_relu_after_a_huge_sgd_step_but_never_for_leaky_relu():
    trainer, _ = train(**FAST, dataset="moons", optimizer="sgd", learning_rate=5.0, epochs=15)
    f = findings(trainer)["dead_relu"]
    assert f.severity == "problem" and f.chart == "histograms"
    share = int(re.match(r"(\d+)% of the units", f.detail).group(1))
    assert share >= 75 and "120 training samples" in f.detail  # all 120 points of the training split
    leaky, _ = train(**FAST, dataset="moons", optimizer="sgd", learning_rate=3.0, epochs=15, activation="leaky_relu")
    hidden = leaky.engine.trace(leaky.dataset.X_train)[:-1]
    negative = max(np.mean(np.all(layer["post"] <= 0, axis=0)) for layer in hidden)
    assert negative >= diagnostics.DEAD_WARN  # many units are negative on every sample ...
    assert "dead_relu" not in findings(leaky)  # ... yet leaky ReLU still passes them a gradient: not dead


@pytest.mark.slow
@pytest.mark.parametrize("activation, factor", [("tanh", 50), ("sigmoid", 200)])
def test_saturation_on_large_unscaled_inputs(activation, factor):
    init = "xavier_uniform"
    trainer = scaled_run(factor, activation=activation, init=init, standardize=False, epochs=15)
    f = findings(trainer)["saturated"]
    assert f.severity in ("warning", "problem") and activation in f.title and has_number(f.detail)
    calm = scaled_run(factor, activation=activation, init=init, standardize=True, epochs=15)
    assert "saturated" not in findings(calm)  # the same data standardized: the units work in their slope


@pytest.mark.slow
def test_vanishing_gradients_in_deep_sigmoid_with_small_init():
    trainer, _ = train(**FAST, dataset="moons", hidden=(16,) * 6, activation="sigmoid", init="normal", epochs=15)
    f = findings(trainer)["vanishing_gradients"]
    assert f.severity == "problem" and f.chart == "gradient norms"
    ratio = float(re.search(r"is ([\d.e+-]+) times", f.detail).group(1))
    assert ratio < diagnostics.VANISHING_RATIO


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the engine overflows on the way to NaN: that is the point
def test_divergence_is_exploding_gradients_and_too_high_a_learning_rate():
    trainer, snap = train(**FAST, dataset="moons", optimizer="sgd", learning_rate=10.0, hidden=(32, 32, 32),
                          init="normal", activation="linear", standardize=False, noise=0.0, epochs=20)
    assert snap.status == "diverged" and snap.epoch < diagnostics.MIN_EPOCHS  # fires at once, no history needed
    found = findings(trainer)
    assert found["exploding_gradients"].severity == "problem" and "diverged" in found["exploding_gradients"].detail
    assert found["lr_too_high"].severity == "problem" and "learning rate 10" in found["lr_too_high"].detail
    assert diagnose(trainer)[0].severity == "problem"  # most severe first


def test_lr_too_high_when_the_loss_bounces_without_diverging():
    trainer, snap = train(**FAST, dataset="spirals", activation="sigmoid", optimizer="sgd", learning_rate=10.0,
                          epochs=20)
    assert snap.status == "done"
    f = findings(trainer)["lr_too_high"]
    assert f.severity == "warning" and f.chart == "curves"
    ups = int(re.search(r"went up in (\d+)%", f.detail).group(1))
    assert ups >= 100 * diagnostics.OSCILLATING_UPS


@pytest.mark.slow
def test_lr_too_low_only_after_enough_epochs():
    trainer = Trainer(make_cfg(**FAST, dataset="moons", optimizer="sgd", learning_rate=1e-5, epochs=15))
    while trainer.epoch < diagnostics.SLOW_EPOCHS - 1:
        trainer.run(steps=1)
    assert "lr_too_low" not in findings(trainer)  # too early to judge
    trainer.run(steps=10_000)
    f = findings(trainer)["lr_too_low"]
    assert f.severity == "warning" and "1e-05" in f.detail and "try 0.0001" in f.fix


def test_lr_too_low_is_not_blamed_for_a_network_too_small():
    """A linear model on spirals plateaus because it cannot do better, not because its steps are small."""
    trainer, _ = train(**FAST, dataset="spirals", hidden=(), epochs=20)
    assert "lr_too_low" not in findings(trainer)


@pytest.mark.slow
def test_overfitting_on_tiny_noisy_data_with_a_big_network():
    trainer, _ = train(engine="auto", dataset="moons", n_points=60, noise=0.4, hidden=(64, 64), epochs=200)
    f = findings(trainer)["overfitting"]
    assert f.severity == "warning" and f.chart == "curves"
    rise = int(re.search(r"rose (\d+)%", f.detail).group(1))
    assert rise >= 100 * diagnostics.OVERFIT_RISE_WARN


def test_overfitting_caught_by_early_stopping_is_only_information():
    trainer, snap = train(engine="auto", dataset="moons", n_points=200, val_fraction=0.4, noise=0.4, hidden=(64, 64),
                          epochs=200, early_stopping=30)
    assert snap.status == "early_stopped"
    f = findings(trainer)["overfitting"]
    rise = int(re.search(r"rose (\d+)%", f.detail).group(1))
    assert rise >= 100 * diagnostics.OVERFIT_RISE_WARN  # as large a rise as would otherwise warn ...
    assert f.severity == "info" and "restored" in f.fix  # ... but the weights in use are the best epoch's


def test_identical_units_after_zero_init():
    """Sigmoid units start at zero, move, but move together: symmetry is never broken."""
    trainer, _ = train(**FAST, dataset="xor", activation="sigmoid", init="zeros", hidden=(8, 8), epochs=10)
    assert np.abs(trainer.engine.get_params()[0]["W"]).max() > 1e-3  # they did learn something ...
    f = findings(trainer)["identical_units"]
    assert f.severity == "problem" and "100% of the units in hidden 1" in f.detail and "zeros" in f.detail
    distinct, _ = train(**FAST, dataset="xor", activation="sigmoid", init="xavier_uniform", hidden=(8, 8), epochs=10)
    assert "identical_units" not in findings(distinct)


@pytest.mark.slow
def test_unscaled_inputs_only_when_standardize_is_off():
    raw = scaled_run(50, standardize=False, epochs=6)
    f = findings(raw)["unscaled_inputs"]
    assert f.severity == "warning" and "standardize is off" in f.detail and "standardize" in f.fix
    level = float(re.search(r"mean \|x\| up to ([\d.]+)", f.detail).group(1))
    assert level > diagnostics.UNSCALED_LEVEL
    assert "unscaled_inputs" not in findings(scaled_run(50, standardize=True, epochs=6))
    plain, _ = train(**FAST, dataset="moons", standardize=False, epochs=6)
    assert "unscaled_inputs" not in findings(plain)  # the toy sets' raw range (about ±1.5) is fine


def test_before_any_training_only_data_checks_speak():
    trainer = Trainer(make_cfg(**FAST, dataset="moons", init="zeros", learning_rate=1e-5, optimizer="sgd"))
    assert diagnose(trainer) == []  # zero init is obvious, but the checks wait for MIN_EPOCHS of evidence


def test_findings_are_frozen_and_validated():
    f = diagnostics.Finding("x", "warning", "t", "d 1", "f", "curves")
    with pytest.raises(FrozenInstanceError):
        f.severity = "problem"  # type: ignore[misc]
    with pytest.raises(ValueError):
        diagnostics.Finding("x", "fatal", "t", "d", "f", "curves")


@pytest.mark.slow
def test_convolution_layers_are_read_per_channel():
    """A CNN's conv layers count each channel as one unit: zero init leaves every channel of conv 1 alike."""
    trainer, snap = train(dataset="digits", kind="cnn", channels=(4, 8), hidden=(16,), limit=200, epochs=5,
                          activation="tanh", init="zeros")
    assert snap.layer_names[:2] == ("conv 1", "conv 2")
    f = findings(trainer)["identical_units"]
    assert "100% of the units in conv 1" in f.detail
    healthy, _ = train(dataset="digits", kind="cnn", channels=(4, 8), hidden=(16,), limit=200, epochs=5,
                       standardize=False)  # pixels divided by their maximum: scaled on purpose, not "unscaled"
    assert "identical_units" not in findings(healthy) and "unscaled_inputs" not in findings(healthy)
