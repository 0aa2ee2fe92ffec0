"""Races: racers share one dataset, see the same mini-batches in the same order, advance in lockstep, and
differ only by their own settings."""

import numpy as np
import pytest

from nncore.errors import ConfigError
from nncore.inspect.grid import boundary_grid
from nncore.train.race import Race

from tests.helpers import make_cfg

DATA = dict(dataset="spirals", n_points=200, noise=0.1, seed=3)  # 120 training samples: 4 batches of 32 per epoch


def racers(**tweaks_by_name) -> dict:
    return {name: make_cfg(**{**DATA, **tweaks}) for name, tweaks in tweaks_by_name.items()}


def record_batches(trainer) -> list:
    """Wrap the trainer's engine so every training batch it is given is recorded (copied)."""
    seen = []
    step = trainer.engine.train_step

    def recording(X, y):
        seen.append((np.array(X, copy=True), np.array(y, copy=True)))
        return step(X, y)

    trainer.engine.train_step = recording
    return seen


def test_run_advances_every_racer_by_the_same_number_of_steps():
    race = Race(racers(adam={}, sgd=dict(optimizer="sgd", learning_rate=0.1), tanh=dict(activation="tanh")))
    snaps = race.run(7)
    assert {name: s.step for name, s in snaps.items()} == {"adam": 7, "sgd": 7, "tanh": 7}
    snaps = race.run(13)
    assert {s.step for s in snaps.values()} == {20}
    assert {t.epoch for t in race.trainers.values()} == {5}  # 20 steps of 4 batches per epoch
    assert race.step == 20 and race.running


def test_run_for_keeps_the_racers_in_lockstep_and_speeds_up_after_measuring():
    race = Race(racers(a={}, b=dict(optimizer="momentum")))
    first = race.run_for(0.05)
    assert {s.step for s in first.values()} == {1}  # the first call measures with a single step
    for _ in range(3):
        snaps = race.run_for(0.05)
    steps = {s.step for s in snaps.values()}
    assert len(steps) == 1 and steps.pop() > 4


def test_racers_share_one_dataset_and_see_identical_batches():
    race = Race(racers(adam={}, sgd=dict(optimizer="sgd", learning_rate=0.5, activation="tanh", hidden=(8,))))
    adam, sgd = race.trainers["adam"], race.trainers["sgd"]
    assert adam.dataset is sgd.dataset is race.dataset
    seen = {name: record_batches(trainer) for name, trainer in race.trainers.items()}
    race.run(3)
    race.run(6)  # 9 steps: crosses two epoch ends, so the reshuffled orders are compared too
    assert len(seen["adam"]) == len(seen["sgd"]) == 9
    for (xa, ya), (xs, ys) in zip(seen["adam"], seen["sgd"]):
        np.testing.assert_array_equal(xa, xs)
        np.testing.assert_array_equal(ya, ys)
    first_epoch, second_epoch = seen["adam"][0:4], seen["adam"][4:8]
    assert [len(y) for _, y in first_epoch] == [32, 32, 32, 24]
    assert not np.array_equal(first_epoch[0][0], second_epoch[0][0])  # each epoch is shuffled afresh
    train_rows = np.sort(np.concatenate([x for x, _ in first_epoch]), axis=0)
    np.testing.assert_array_equal(train_rows, np.sort(race.dataset.X_train.astype(np.float32), axis=0))


@pytest.mark.parametrize("field, value, message", [
    ("noise", 0.2, "racers must share data.noise (same data, same batches): a has 0.1, b has 0.2"),
    ("seed", 4, "racers must share data.seed (same data, same batches): a has 3, b has 4"),
    ("batch_size", 64, "racers must share train.batch_size (same data, same batches): a has 32, b has 64"),
])
def test_racers_with_different_data_or_batches_are_refused_by_name(field, value, message):
    configs = racers(a={}, b={field: value})
    with pytest.raises(ConfigError) as caught:
        Race(configs)
    assert str(caught.value) == message
    assert caught.value.param == field


def test_a_race_needs_two_racers():
    with pytest.raises(ConfigError, match="at least 2 racers, got 1"):
        Race(racers(alone={}))


def test_racers_differ_when_their_optimizers_differ_and_agree_when_they_do_not():
    race = Race(racers(adam={}, sgd=dict(optimizer="sgd"), twin={}))
    snaps = race.run(12)
    adam, sgd, twin = (snaps[n].history["val_loss"] for n in ("adam", "sgd", "twin"))
    assert len(adam) == 3
    assert np.all(np.abs(adam - sgd) > 1e-6)
    np.testing.assert_array_equal(adam, twin)  # same settings, same batches: the same run
    weights = {n: t.engine.get_params()[0]["W"] for n, t in race.trainers.items()}
    assert not np.allclose(weights["adam"], weights["sgd"])
    np.testing.assert_array_equal(weights["adam"], weights["twin"])


def test_the_same_race_twice_gives_the_same_histories_however_it_is_sliced():
    configs = racers(adam={}, momentum=dict(optimizer="momentum", dropout=0.2), bn=dict(batch_norm=True))
    first = Race(configs)
    one = first.run(25)
    other = Race(configs)
    for steps in (1, 9, 15):
        two = other.run(steps)
    for name in configs:
        assert one[name].step == two[name].step == 25
        for key in ("train_loss", "val_loss", "test_acc", "batch_loss"):
            np.testing.assert_array_equal(one[name].history[key], two[name].history[key])
        grids = [boundary_grid(race.trainers[name].engine, race.dataset) for race in (first, other)]
        np.testing.assert_array_equal(grids[0].values, grids[1].values)


def test_a_finished_racer_waits_while_the_others_go_on():
    race = Race(racers(short=dict(epochs=1), long={}))
    snaps = race.run(10)
    assert snaps["short"].status == "done" and snaps["short"].step == 4
    assert snaps["long"].step == 10 and race.running
    assert race.run(2)["long"].step == 12


def test_a_race_can_reuse_a_dataset_built_elsewhere():
    """The Compare page hands over the Playground's own data (an uploaded table cannot be rebuilt)."""
    from nncore.data import make_dataset
    configs = racers(a={}, b=dict(optimizer="sgd"))
    dataset = make_dataset(configs["a"].data)
    race = Race(configs, dataset=dataset)
    assert race.dataset is dataset
    assert all(t.dataset is dataset for t in race.trainers.values())


def test_the_race_data_line_names_each_kind_of_dataset_with_balanced_brackets():
    from nncore.config import defaults_for
    from ui.panels.race import data_summary
    toy = data_summary(make_cfg(**DATA))
    assert toy.startswith("Data: **spirals** (200 points, noise 0.1, seed 3); batch size 32")
    table = data_summary(defaults_for("wine"))
    assert table.startswith("Data: **wine** (seed 0); batch size")
    for line in (toy, table):
        assert line.count("(") == line.count(")") and "(," not in line
