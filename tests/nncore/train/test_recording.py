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


def test_a_column_view_never_changes_as_values_are_appended_and_the_buffer_grows():
    from nncore.train.recording import Column

    rows, values = Column(3), Column()
    kept = []
    for i in range(200):  # past several doublings of the buffer (16, 32, 64, 128, 256)
        rows.append([i, i + 0.5, -i])
        values.append(i / 7)
        kept.append((rows.view(), values.view()))
    for i, (r, v) in enumerate(kept):  # every view still holds exactly what it held when taken
        assert r.shape == (i + 1, 3) and v.shape == (i + 1,)
        np.testing.assert_array_equal(r[:, 0], np.arange(i + 1))
        np.testing.assert_array_equal(r[:, 2], -np.arange(i + 1))
        np.testing.assert_array_equal(v, np.arange(i + 1) / 7)
        with pytest.raises(ValueError):
            r[0, 0] = 1.0
    head = rows.head(5)
    head.append([9, 9, 9])  # a head is a copy: appending to it leaves the original alone
    assert len(head) == 6 and len(rows) == 200 and rows.view()[5, 0] == 5
    np.testing.assert_array_equal(np.asarray(values), values.view())
    assert Column(2).view().shape == (0, 2)


def test_snapshots_taken_along_a_run_keep_their_own_history():
    trainer = Trainer(make_cfg(dataset="moons", n_points=100, epochs=200, engine="numpy"))
    snaps = []
    while trainer.running and trainer.epoch < 60:  # 60 epochs: the histories' buffers grow twice (16 -> 64)
        trainer.run(steps=4)
        snaps.append(trainer.snapshot())
    last = snaps[-1]
    for snap in snaps:
        n = snap.epoch
        assert len(snap.history["val_loss"]) == n and snap.grad_norms.shape == (n, 3)
        np.testing.assert_array_equal(snap.history["val_loss"], last.history["val_loss"][:n])
        np.testing.assert_array_equal(snap.grad_norms, last.grad_norms[:n])
