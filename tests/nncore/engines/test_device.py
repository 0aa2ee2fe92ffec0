"""Devices: the torch engine computes where it is told (CUDA / MPS when present), CPU otherwise; results agree
across devices. Parametrized over the devices this machine really has, so a CPU-only machine tests the CPU
path and the refusal of a missing accelerator, and a GPU machine tests the GPU too."""

import numpy as np
import pytest
import torch

from nncore.engines import make_engine
from nncore.engines.torch_engine import available_devices, resolve_device
from nncore.errors import ConfigError
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg, train

DEVICES = available_devices()


def test_auto_prefers_an_accelerator_and_falls_back_to_the_cpu():
    expected = DEVICES[-1] if len(DEVICES) > 1 else "cpu"
    assert resolve_device("auto") == expected
    trainer = Trainer(make_cfg(dataset="moons", device="auto", engine="torch"))
    assert trainer.engine_label == f"torch on {expected}"


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_both_engines_name_their_device_with_the_same_plain_string(device):
    # the same config on both engines: "cpu" is the CPU on both; "auto" is where torch computes (an accelerator
    # where there is one) and the CPU for NumPy, each named as config.DEVICES names it
    expected = {"torch": resolve_device(device), "numpy": "cpu"}
    for name in ("torch", "numpy"):
        trainer = Trainer(make_cfg(dataset="moons", n_points=100, device=device, engine=name))
        engine = make_engine(trainer.cfg, trainer.dataset)
        assert type(engine.device) is str and engine.device == expected[name]
        assert trainer.engine_label == f"{name} on {expected[name]}"
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize("missing", [d for d in ("cuda", "mps") if d not in DEVICES])
def test_a_device_that_is_not_here_is_refused_with_the_choices(missing):
    with pytest.raises(ConfigError, match=f"device must be one available here .*got '{missing}'"):
        Trainer(make_cfg(dataset="moons", device=missing))  # engine "auto": a named accelerator means torch


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_training_on_each_device_matches_the_cpu(device):
    settings = dict(dataset="spirals", n_points=200, epochs=5, dtype="float64", dropout=0.0, batch_norm=True,
                    optimizer="adam", learning_rate=0.01)
    cpu, cpu_snap = train(device="cpu", engine="torch", **settings)
    other, snap = train(device=device, engine="torch", **settings)
    assert other.engine.device == device
    if device == "cpu":  # the same kernels in the same order: the same numbers, bit for bit
        np.testing.assert_array_equal(snap.history["train_loss"], cpu_snap.history["train_loss"])
        for a, b in zip(cpu.engine.get_params(), other.engine.get_params()):
            np.testing.assert_array_equal(a["W"], b["W"])
        return
    # Another device rounds differently (summation order, fused multiply-adds) and 5 epochs of Adam amplify
    # those float64 differences; agreement to half of float64's digits still tells a wrong device path apart.
    tol = float(np.sqrt(np.finfo(np.float64).eps))
    np.testing.assert_allclose(snap.history["train_loss"], cpu_snap.history["train_loss"], rtol=tol)
    for a, b in zip(cpu.engine.get_params(), other.engine.get_params()):
        np.testing.assert_allclose(a["W"], b["W"], rtol=tol, atol=tol)


def test_moving_a_run_to_another_device_keeps_its_weights():
    trainer = Trainer(make_cfg(dataset="moons", device="cpu", epochs=20, engine="torch"))
    trainer.run(steps=30)
    before = trainer.engine.forward(trainer.dataset.X_test)
    old_engine = trainer.engine
    # An accelerator where there is one; on a CPU-only machine "auto", which is a change of setting that
    # rebuilds the engine from the weights just the same (and resolves to the CPU).
    target = DEVICES[-1] if len(DEVICES) > 1 else "auto"
    trainer.update_train(trainer.cfg.train.__class__(**{**trainer.cfg.train.__dict__, "device": target}))
    assert trainer.engine is not old_engine
    assert trainer.engine_label == f"torch on {DEVICES[-1]}"
    after = trainer.engine.forward(trainer.dataset.X_test)
    if target == "auto":
        np.testing.assert_array_equal(after, before)  # same weights, same device: the same outputs exactly
    else:
        # float32 outputs in [0, 1]; each of the Σ fan-in + 2·layers roundings of a forward pass may differ by
        # one float32 ulp on another device (Higham's bound for sums)
        sizes = trainer.engine.sizes
        np.testing.assert_allclose(after, before, rtol=0,
                                   atol=(sum(sizes[:-1]) + 2 * len(sizes)) * np.finfo(np.float32).eps)
    trainer.run(steps=10)
    assert trainer.step == 40
    assert not np.array_equal(trainer.engine.forward(trainer.dataset.X_test), before)  # it trains on


def test_cpu_only_machines_report_just_the_cpu():
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert DEVICES == ["cpu"]
    else:
        assert len(DEVICES) > 1
