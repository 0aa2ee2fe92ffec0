"""The live view asks for the boundary grid when it builds a frame (training no longer computes one): one
forward pass over the grid, and the grid the Trainer used to put in every snapshot."""

import numpy as np

from nncore.inspect import grid as grid_module
from nncore.train.trainer import Trainer
from ui.liveview.payload import FrameBuilder, decode

from tests.helpers import make_cfg
from tests.nncore.inspect.test_grid import reference_grid


def test_a_frame_asks_for_the_grid_and_gets_the_one_snapshots_used_to_carry():
    trainer = Trainer(make_cfg(dataset="moons", n_points=200, epochs=40, engine="numpy"))
    snap = trainer.run(steps=200)
    rows = []
    forward = trainer.engine.forward
    trainer.engine.forward = lambda X: (rows.append(len(X)), forward(X))[1]
    header, a = decode(FrameBuilder(trainer.dataset, panels=("boundary",)).build(snap, trainer.engine, 1))
    r = grid_module.RESOLUTION
    assert rows == [r * r] and header["plane"]["res"] == r  # asked once, at the view's resolution
    xs, ys, values = reference_grid(trainer.engine, trainer.dataset, r)
    assert header["plane"]["x"] == [xs[0], xs[-1]] and header["plane"]["y"] == [ys[0], ys[-1]]
    assert a["boundary"].shape == (r, r)
    assert np.abs(a["boundary"] / 255.0 - values[..., 1]).max() <= 0.5 / 255 + 1e-12  # P(class 1), quantized
