"""The Engine interface holds alike on both engines: what one refuses, the other refuses the same way."""

import numpy as np
import pytest

from nncore.data import make_dataset
from nncore.engines import make_engine

from tests.helpers import make_cfg


@pytest.mark.parametrize("name", ["torch", "numpy"])
def test_parameters_for_another_number_of_layers_are_refused_and_nothing_changes(name):
    cfg = make_cfg(dataset="moons", n_points=100, engine=name, device="cpu", hidden=(4, 4))
    engine = make_engine(cfg, make_dataset(cfg.data))
    before = engine.get_params()
    shifted = [{k: v + 1.0 for k, v in layer.items()} for layer in before]
    for params in (shifted[:-1], shifted + shifted[-1:]):  # a layer short, a layer too many
        with pytest.raises(ValueError, match=f"expected parameters for 3 layers, got {len(params)}"):
            engine.set_params(params)
        for old, now in zip(before, engine.get_params()):
            for key in old:
                np.testing.assert_array_equal(now[key], old[key])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_engines_name_their_float_type_as_the_same_numpy_dtype(dtype):
    for name in ("torch", "numpy"):
        cfg = make_cfg(dataset="moons", n_points=100, engine=name, device="cpu", dtype=dtype)
        engine = make_engine(cfg, make_dataset(cfg.data))
        assert type(engine.dtype) is type(np.dtype(dtype)) and engine.dtype == np.dtype(dtype)
