"""What a run records: histories named for what they hold, histogram frames in bounded memory, gradient
norms, immutable snapshots, and the speed meter."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from nncore.inspect import metrics
from nncore.train.recording import MAX_HIST_RECORDS, SpeedMeter
from nncore.train.snapshot import history_keys
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg


@pytest.mark.slow
def test_snapshots_are_immutable_and_histograms_use_fixed_bins():
    trainer = Trainer(make_cfg(dataset="spirals", n_points=100, epochs=500))
    first = trainer.run(steps=30)
    with pytest.raises(ValueError):
        first.history["train_loss"][0] = 0.0
    with pytest.raises(FrozenInstanceError):
        first.step = 5  # type: ignore[misc]
    trainer.run(steps=3000)
    later = trainer.snapshot()
    assert later.step > first.step and len(first.history["train_loss"]) < len(later.history["train_loss"])
    np.testing.assert_array_equal(first.hist_edges, later.hist_edges)
    assert later.grad_hist.shape == (len(later.hist_steps), 3, len(later.hist_edges) - 1)
    assert len(later.hist_steps) <= MAX_HIST_RECORDS  # bounded memory, however long the run
    assert np.all(np.diff(later.hist_steps) > 0)
    n_weights = [16 * 2, 16 * 16, 16]
    np.testing.assert_array_equal(later.weight_hist[-1].sum(axis=1), n_weights)  # every weight counted once
    assert later.grad_norms.shape == (later.epoch, 3) and (later.grad_norms > 0).all()


@pytest.mark.parametrize("dataset, score, other", [("moons", "acc", "r2"), ("ripple", "r2", "acc")])
def test_history_keys_name_what_they_hold(dataset, score, other):
    """A classification records accuracy under *_acc, a regression R² under *_r2; neither holds the other."""
    trainer = Trainer(make_cfg(dataset=dataset, n_points=200, epochs=3, engine="numpy"))
    snap = trainer.run(steps=10_000)
    assert snap.score == score and tuple(snap.history) == history_keys(trainer.dataset.task)
    ds = trainer.dataset
    for split in ("train", "val", "test"):
        X, y = ds.split(split)
        out = trainer.engine.forward(X)
        expected = metrics.r2(out, y) if score == "r2" else metrics.accuracy(out, y, ds.task)
        assert snap.last(f"{split}_{score}") == expected  # the held weights, the same computation
        assert f"{split}_{other}" not in snap.history and snap.last(f"{split}_{other}") is None
        assert len(snap.history[f"{split}_{score}"]) == snap.epoch == 3
    assert snap.score_name == {"acc": "accuracy", "r2": "R²"}[score]


def test_speed_meter_measures_steps_over_its_window():
    meter = SpeedMeter()
    assert meter.rate() == 0.0  # nothing measured yet
    meter.mark(0, now=100.0)
    meter.mark(50, now=100.5)
    meter.mark(150, now=101.0)
    assert meter.rate(window=1e9) == pytest.approx(150 / 1.0)  # (150 - 0) steps in 1 s
    meter.mark(150, now=102.0)  # paused: no steps in the last second
    assert meter.rate(window=1e9) == pytest.approx(150 / 2.0)
