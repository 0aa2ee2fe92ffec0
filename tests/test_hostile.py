"""Hostile input never breaks or spoofs the app: weights that overflow, Markdown in visitors' text, settings
outside the widgets' ranges (files and links), downloads that trickle."""

import json
import struct

import numpy as np
import pytest

from nncore.checkpoint import load_checkpoint, save_checkpoint
from nncore.errors import ConfigError
from nncore.training import Trainer
from tests.helpers import make_cfg

F32_MAX = float(np.finfo(np.float32).max)


def _tampered(data: bytes, name: str, value: np.ndarray) -> bytes:
    """The checkpoint ``data`` with tensor ``name`` replaced by ``value`` (metadata kept)."""
    from safetensors.numpy import load, save
    (length,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + length])["__metadata__"]
    tensors = load(data)
    tensors[name] = np.ascontiguousarray(value)
    return save(tensors, metadata=metadata)


@pytest.fixture(scope="module")
def small_trainer() -> Trainer:
    return Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), epochs=1))


# --- B9: weights that do not fit the network's float type -------------------------------------------------

@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("bad, words", [(1e300, "beyond the float32 network's range"),
                                        (np.nan, "NaN or infinite"), (np.inf, "NaN or infinite")])
def test_engines_refuse_weights_the_network_cannot_hold_and_name_the_tensor(engine, bad, words):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), engine=engine))
    before = trainer.engine.get_params()
    params = trainer.engine.get_params()
    params[1]["b"][0] = bad
    with pytest.raises(ConfigError, match=rf"layers\.1\.b .*{words}"):
        trainer.load_params(params)
    for old, now in zip(before, trainer.engine.get_params()):  # nothing was changed
        for key in old:
            np.testing.assert_array_equal(old[key], now[key])


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_engines_take_the_largest_float32_weight(engine):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), engine=engine))
    params = trainer.engine.get_params()
    params[0]["W"][0, 0] = F32_MAX  # the boundary itself fits
    trainer.load_params(params)
    assert trainer.engine.get_params()[0]["W"][0, 0] == F32_MAX


def test_a_float32_checkpoint_with_float64_weights_beyond_float32_is_refused(small_trainer):
    data = save_checkpoint(small_trainer)
    W = small_trainer.engine.get_params()[0]["W"].astype(np.float64)
    W[0, 0] = 1e300
    with pytest.raises(ConfigError, match=r"'layers\.0\.W' holds 1e\+300, beyond what its float32 network"):
        load_checkpoint(_tampered(data, "layers.0.W", W))
    W[0, 0] = float(np.nextafter(np.float64(F32_MAX), 0))  # just inside float32's range: loads
    assert load_checkpoint(_tampered(data, "layers.0.W", W)).params[0]["W"][0, 0] == W[0, 0]


def test_a_float64_checkpoint_keeps_large_weights(small_trainer):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), dtype="float64"))
    W = trainer.engine.get_params()[0]["W"]
    W[0, 0] = 1e300
    loaded = load_checkpoint(_tampered(save_checkpoint(trainer), "layers.0.W", W))
    assert loaded.params[0]["W"][0, 0] == 1e300
