"""Time travel: kept moments in bounded memory, a look back without touching the run, and branches built by
``Trainer.from_kept`` that replay or change the rest of the run."""

import numpy as np
import pytest

from nncore.config import TrainConfig
from nncore.inspect.grid import boundary_grid
from nncore.train.timetravel import MAX_KEPT
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg


def test_time_travel_shows_a_kept_epoch_and_branches_reproduce_the_run():
    cfg = make_cfg(dataset="moons", n_points=200, epochs=12, optimizer="sgd", learning_rate=0.1)
    trainer = Trainer(cfg)
    trainer.run(steps=10_000)
    assert trainer.kept_epochs() == list(range(13))
    past = trainer.snapshot_at(5)
    assert past.epoch == 5 and len(past.history["val_loss"]) == 5 and past.grad_norms.shape[0] == 5
    assert np.all(past.hist_steps <= past.step)
    then = boundary_grid(trainer.engine_at(5), trainer.dataset, 20)
    assert not np.allclose(then.values, boundary_grid(trainer.engine, trainer.dataset, 20).values)  # epoch 5's
    # Branching with the same settings replays the rest of the run exactly (same weights, same batches; plain
    # SGD keeps no moments, so nothing is lost in the branch).
    same = Trainer.from_kept(trainer, 5)
    same.run(steps=10_000)
    np.testing.assert_allclose(same.snapshot().history["train_loss"], trainer.snapshot().history["train_loss"],
                               rtol=1e-5)
    # Branching with new settings continues from there.
    faster = Trainer.from_kept(trainer, 5, TrainConfig(optimizer="sgd", learning_rate=0.5, epochs=12))
    assert faster.engine.lr == pytest.approx(0.5) and faster.step == past.step
    faster.run(steps=10_000)
    assert faster.snapshot().epoch == 12
    assert not np.allclose(faster.snapshot().history["train_loss"][5:], trainer.snapshot().history["train_loss"][5:])


def test_looking_back_and_branching_leave_the_run_as_it_was():
    """snapshot_at and engine_at build what they show from the kept moment; from_kept builds the branch
    from the source's records without writing into the source, and the two runs then go their own ways."""
    trainer = Trainer(make_cfg(dataset="moons", n_points=200, epochs=8, engine="numpy"))
    trainer.run(steps=10_000)
    engine, before = trainer.engine, trainer.snapshot()
    weights = [{k: v.copy() for k, v in layer.items()} for layer in engine.get_params()]
    past, viewer = trainer.snapshot_at(3), trainer.engine_at(3)
    assert trainer.engine is engine and viewer is not engine
    np.testing.assert_array_equal(viewer.get_params()[0]["W"], trainer.kept.at(3).params[0]["W"])
    branch = Trainer.from_kept(trainer, 3, TrainConfig(learning_rate=0.05, epochs=8, engine="numpy"))
    assert branch.recording is not trainer.recording and branch.kept is not trainer.kept
    assert branch.kept_epochs() == [0, 1, 2, 3] and trainer.kept_epochs() == list(range(9))
    branch.run(steps=10_000)
    after = trainer.snapshot()
    assert (after.step, after.epoch, after.status) == (before.step, before.epoch, before.status)
    for key in before.history:
        np.testing.assert_array_equal(after.history[key], before.history[key])
    np.testing.assert_array_equal(after.weight_hist, before.weight_hist)
    for mine, kept in zip(trainer.engine.get_params(), weights):
        np.testing.assert_array_equal(mine["W"], kept["W"])
    assert past.epoch == 3 and branch.snapshot().epoch == 8 and len(branch.snapshot().history["val_loss"]) == 8


def test_time_travel_memory_is_bounded():
    trainer = Trainer(make_cfg(dataset="moons", n_points=100, epochs=300))
    trainer.run(steps=100_000)
    kept = trainer.kept_epochs()
    assert len(kept) <= MAX_KEPT and kept[0] == 0 and kept[-1] <= 300
    assert len(kept) >= MAX_KEPT // 2
