"""Drawing your own data: the "drawn" dataset (config, validation, split), the page's drawn set and its edits,
its link text and its CSV download, and a link that opens the Playground on a drawn set."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nncore.io.checkpoint import load_checkpoint, save_checkpoint, trainer_from_checkpoint
from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.data import DATASETS, drawn, make_dataset
from nncore.data.tabular import read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.limits import Limits, check_run
from nncore.train.trainer import Trainer
from ui.controls import drawing

APP = str(Path(__file__).resolve().parents[3] / "app.py")
EPS = np.finfo(np.float64).eps


def _points(n: int, classes: int = 2, seed: int = 0, regression: bool = False):
    """``n`` drawn points (rounded as drawn points are), labels cycling through ``classes`` or a smooth target."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-2, 2, size=(n, 2))
    labels = np.sin(xy[:, 0]) + xy[:, 1] if regression else np.arange(n) % classes
    return tuple((drawn.rounded(a), drawn.rounded(b), drawn.rounded(v) if regression else float(v))
                 for (a, b), v in zip(xy, labels))


def _config(points, **kw) -> DataConfig:
    return DataConfig(dataset="drawn", points=points, **kw)


# --- the dataset -----------------------------------------------------------------------------------------------

def test_drawn_is_a_registered_dataset_whose_config_round_trips_through_json():
    assert "drawn" in DATASETS
    cfg = RunConfig(_config(_points(30)), ModelConfig(hidden=(4,)), TrainConfig(epochs=2))
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.data.points == cfg.data.points
    assert isinstance(again.data.points, tuple) and isinstance(again.data.points[0], tuple)


def test_too_few_points_say_how_many_to_draw_per_class():
    points = _points(15) + _points(4, seed=1)  # class 0: 8 + 2, class 1: 7 + 2
    with pytest.raises(ConfigError) as e:
        _config(points)
    assert str(e.value) == ("points: every class needs at least 10 points so that the train, validation and test "
                            "splits (validation 20% and test 20%) each get some; class 1 has 9: draw 1 more")
    assert e.value.param == "points"
    with pytest.raises(ConfigError, match=r"at least 20 points .* class 0 has 15: draw 5 more, class 1 has 15"):
        _config(_points(30), val_fraction=0.1, test_fraction=0.3)  # 2 / 0.1 per class
    with pytest.raises(ConfigError, match="draw at least 10 points of each of 2 or more classes .* got none"):
        _config(())
    with pytest.raises(ConfigError, match="class 1 has 0: draw 10 more"):
        _config(tuple(p[:2] + (0.0,) for p in _points(30)))  # one class only
    with pytest.raises(ConfigError, match=r"at least 10 points for a regression .* got 9: draw 1 more"):
        _config(_points(9, regression=True), task="regression")


@pytest.mark.parametrize("bad, message", [
    ((1.0, float("nan"), 0.0), r"points\[30\] must have finite coordinates and label, got \(1.0, nan, 0.0\)"),
    ((1.0, 2.0), r"points\[30\] must be three numbers \(x1, x2, label\), got \(1.0, 2.0\)"),
    ((1.0, "2", 0.0), r"points\[30\] must be three numbers"),
    ((1.0, 2.0, 1.5), r"points\[30\] label must be a class id 0-9 for classification, got 1.5"),
    ((1.0, 2.0, 10.0), r"points\[30\] label must be a class id 0-9"),
])
def test_bad_points_are_named(bad, message):
    with pytest.raises(ConfigError, match=message):
        _config(_points(30) + (bad,), task="classification")


def test_the_number_of_points_is_capped_by_the_config_and_by_the_server(monkeypatch):
    monkeypatch.setattr(drawn, "MAX_POINTS", 40)
    with pytest.raises(ConfigError, match="points must hold at most 40 points, got 41"):
        _config(_points(41))
    cfg = RunConfig(_config(_points(40)))
    with pytest.raises(ConfigError, match=r"drawn points must be <= 30 on this server \(NNPLAY_MAX_POINTS\), got 40"):
        check_run(cfg, Limits(max_points=30))
    check_run(cfg, Limits(max_points=40))


def test_the_per_class_minimum_puts_every_class_in_every_split():
    """The rule the validation states (2 / the smaller holdout share per class) is enough for every split the
    sidebar offers, with unbalanced classes and any seed; one point fewer in a class is refused."""
    rng = np.random.default_rng(0)
    for val in range(5, 45, 5):
        for test in range(5, 45, 5):
            if val + test > 80:
                continue
            need = drawn.per_class_minimum(val / 100, test / 100)
            classes = int(rng.integers(2, 6))
            counts = rng.permutation([need] + [need + int(rng.integers(0, 3 * need)) for _ in range(classes - 1)])
            labels = np.repeat(np.arange(classes), counts)
            xy = rng.normal(size=(len(labels), 2))
            points = tuple((a, b, float(k)) for (a, b), k in zip(xy, labels))
            cfg = _config(points, val_fraction=val / 100, test_fraction=test / 100, seed=int(rng.integers(0, 1000)))
            ds = make_dataset(cfg)
            for split in ("train", "val", "test"):
                assert set(ds.split(split)[1]) == set(range(classes)), (val, test, counts, split)
            short = min(range(classes), key=lambda k: counts[k])
            fewer = tuple(p for i, p in enumerate(points) if i != int(np.flatnonzero(labels == short)[0]))
            with pytest.raises(ConfigError, match=f"class {short} has {need - 1}: draw 1 more"):
                _config(fewer, val_fraction=val / 100, test_fraction=test / 100)


def test_the_split_is_seeded_stratified_and_standardized_like_the_toy_sets():
    points = _points(60, classes=3)
    a, b = make_dataset(_config(points, seed=3)), make_dataset(_config(points, seed=3))
    for split in ("train", "val", "test"):
        assert np.array_equal(a.split(split)[0], b.split(split)[0]) and np.array_equal(a.split(split)[1],
                                                                                       b.split(split)[1])
    other = make_dataset(_config(points, seed=4))
    assert not np.array_equal(a.X_train, other.X_train)
    assert (a.name, a.task, a.n_classes, a.feature_names) == ("drawn", "multiclass", 3, ("x1", "x2"))
    assert [np.bincount(a.split(s)[1]).tolist() for s in ("train", "val", "test")] == [[12] * 3, [4] * 3, [4] * 3]
    tol = 16 * EPS * len(a.y_train)  # sums of n standardized values
    assert np.all(np.abs(a.X_train.mean(axis=0)) < tol) and np.all(np.abs(a.X_train.std(axis=0) - 1) < tol)
    back = np.concatenate([np.column_stack([a.unscale(a.split(s)[0]), a.split(s)[1]]) for s in ("train", "val",
                                                                                              "test")])
    expected = np.asarray(points)
    order = np.lexsort(back.T[::-1])
    np.testing.assert_allclose(back[order], expected[np.lexsort(expected.T[::-1])], rtol=0, atol=8 * EPS * 2)


def test_a_regression_set_keeps_its_targets_in_their_units():
    points = _points(30, regression=True)
    ds = make_dataset(_config(points, task="regression"))
    assert ds.task == "regression" and ds.n_classes == 0
    assert abs(ds.y_train.mean()) < 16 * EPS * len(ds.y_train)  # standardized with training statistics
    targets = np.sort(np.concatenate([ds.targets(s) for s in ("train", "val", "test")]))
    np.testing.assert_allclose(targets, np.sort([p[2] for p in points]), rtol=0, atol=8 * EPS * 4)
    assert drawn.resolve_task(points, "auto") == "regression"  # fractional labels
    assert drawn.resolve_task(_points(30), "auto") == "classification"


def test_a_checkpoint_of_a_drawn_run_carries_its_data(tmp_path):
    cfg = RunConfig(_config(_points(30)), ModelConfig(hidden=(4,)), TrainConfig(epochs=3))
    trainer = Trainer(cfg)
    trainer.run(steps=3)
    loaded = trainer_from_checkpoint(load_checkpoint(save_checkpoint(trainer)))
    assert loaded.cfg == cfg
    assert np.array_equal(loaded.dataset.X_test, trainer.dataset.X_test)
    np.testing.assert_array_equal(loaded.engine.get_params()[0]["W"], trainer.engine.get_params()[0]["W"])


# --- the link text and the CSV ----------------------------------------------------------------------------------

def test_the_link_text_gives_back_the_same_points():
    for points, task in ((_points(200, classes=4), "classification"), (_points(200, regression=True), "regression")):
        text = drawn.to_text(points, task)
        assert drawn.from_text(text) == (points, task)
        assert text.startswith("r:") == (task == "regression")
    assert drawn.to_text(((0.5, -1.3, 1.0),), "classification") == "0.5,-1.3,1"
    assert drawn.rounded(1.234567) == 1.235 and drawn.rounded(-0.000123456) == -0.0001235


@pytest.mark.parametrize("text, message", [
    ("", "the drawn points are empty"),
    ("1,2,0;1,2", r"drawn point 2 must be x,y,label \(three numbers\), got '1,2'"),
    ("1,2,0;a,b,c", "drawn point 2 must be x,y,label"),
    ("1,inf,0", "drawn point 1 must have finite numbers"),
    ("1,2,0.5", "drawn point 1 label must be a class id 0-9, got '0.5'"),
])
def test_a_bad_link_text_is_named(text, message):
    with pytest.raises(ConfigError, match=message):
        drawn.from_text(text)


@pytest.mark.parametrize("regression", [False, True])
def test_the_csv_download_loads_back_through_the_csv_upload(regression):
    points = _points(40, classes=3, regression=regression)
    task = "regression" if regression else "classification"
    df = read_csv_table(drawing.csv_text(points, task).encode())
    assert list(df.columns) == ["x1", "x2", "label"]
    assert np.array_equal(df.to_numpy(dtype=np.float64), np.asarray(points))  # the same numbers, exactly
    ds = table_to_dataset(df, "label", None, DataConfig(dataset="csv", table="drawn_points.csv#0"))
    assert ds.task == ("regression" if regression else "multiclass") and ds.feature_names == ("x1", "x2")
    back = np.concatenate([np.column_stack([ds.unscale(ds.split(s)[0]), ds.targets(s)]) for s in ("train", "val",
                                                                                                "test")])
    expected = np.asarray(points)
    np.testing.assert_allclose(back[np.lexsort(back.T[::-1])], expected[np.lexsort(expected.T[::-1])],
                               rtol=0, atol=8 * EPS * 4)


# --- the page's drawn set: edits, undo, link ---------------------------------------------------------------------

def _page_script():
    """A page with the Playground's sidebar, the data it shows, and one button per test event: the event to
    apply is put in ``st.session_state["event"]`` by the test, the button's callback applies it."""
    import streamlit as st

    from nncore.data import make_dataset
    from nncore.errors import ConfigError
    from ui.controls.drawing import apply_draw
    from ui.controls.sidebar import PLAYGROUND, training_sidebar

    def on_draw():
        st.session_state["message"] = apply_draw(st.session_state["event"], "pg", st.session_state.get("shown"))

    st.button("draw", on_click=on_draw)
    cfg, error = training_sidebar(PLAYGROUND)
    if cfg is not None:
        try:
            st.session_state["shown"] = make_dataset(cfg.data)
        except ConfigError as e:
            error = str(e)
    st.text(f"message: {st.session_state.get('message', '')}")
    st.text(f"config: {cfg.data.dataset} {len(cfg.data.points)}" if cfg else f"error: {error}")
    st.session_state["config"] = cfg


def _page(query: dict) -> AppTest:
    app = AppTest.from_function(_page_script, default_timeout=60)
    app.query_params.update(query)
    app.run()
    assert not app.exception, app.exception
    return app


def _draw(app: AppTest, **event) -> tuple[str, str]:
    app.session_state["event"] = event
    app.button[0].click().run()
    assert not app.exception, app.exception
    return app.text[0].value.removeprefix("message: "), app.text[1].value


@pytest.mark.slow
def test_edits_start_from_the_shown_data_and_undo_goes_back_to_it():
    app = _page({"pg.dataset": "circles", "pg.n_points": "40", "pg.seed": "2"})
    circles = make_dataset(DataConfig(dataset="circles", n_points=40, seed=2))
    start = drawn.dataset_points(circles)
    assert len(start) == 40

    message, config = _draw(app, op="add", x=0.5234, y=-1.3, label=1)
    assert message == "Added a point of class 1 at (0.52, -1.30): a new run started on the drawn data (41 points)."
    assert config == "config: drawn 41" and app.sidebar.selectbox(key="pg.dataset").value == "drawn"
    points = app.session_state["config"].data.points
    assert points[:40] == start and points[40] == (0.5234, -1.3, 1.0)
    assert app.session_state["shown"].name == "drawn"

    message, config = _draw(app, op="remove", x=0.52, y=-1.29)  # the nearest is the point just added
    assert message == ("Removed the point of class 1 at (0.52, -1.30): a new run started on the drawn data "
                       "(40 points).")
    assert app.session_state["config"].data.points == start
    victim = start[7]
    message, config = _draw(app, op="remove", x=victim[0] + 1e-3, y=victim[1])
    assert config == "config: drawn 39" and victim not in app.session_state["config"].data.points
    assert message.startswith(f"Removed the point of class {int(victim[2])} at ({victim[0]:.2f}, {victim[1]:.2f})")

    assert _draw(app, op="undo")[1] == "config: drawn 40"
    assert app.session_state["config"].data.points == start
    assert _draw(app, op="undo")[1] == "config: drawn 41"
    message, config = _draw(app, op="undo")
    assert message == "Undid the last edit: back to circles." and config == "config: circles 0"
    assert app.sidebar.selectbox(key="pg.dataset").value == "circles"
    assert _draw(app, op="undo")[0] == "Nothing to undo."


@pytest.mark.slow
def test_clear_and_bad_events_say_what_happens():
    app = _page({"pg.dataset": "moons", "pg.n_points": "40"})
    message, config = _draw(app, op="clear")
    assert message == ("Cleared the drawn points (0 points). No run yet: points: draw at least 10 points of each of "
                       "2 or more classes (with validation 20% and test 20%), got none.")
    assert config.startswith("error: points: draw at least 10 points")
    message, _ = _draw(app, op="add", x=0.1, y=0.2, label=0)
    assert message == ("Added a point of class 0 at (0.10, 0.20) (1 point). No run yet: points: every class needs "
                       "at least 10 points so that the train, validation and test splits (validation 20% and test "
                       "20%) each get some; class 0 has 1: draw 9 more, class 1 has 0: draw 10 more.")
    assert _draw(app, op="paint")[0] == "Ignored a drawing event: op must be add, remove, undo or clear, got 'paint'."
    assert _draw(app, op="add", x=0.1, y=0.2, label=12)[0].startswith("Ignored the point: its class must be a "
                                                                       "class id 0-9, got 12")
    assert _draw(app, op="add", x="[x](https://e.example)", y=0.2, label=1)[0] == (
        "Ignored a drawing event: x and y must be finite numbers, got '\\[x\\](https\\://e.example)' and 0\\.2.")
    assert _draw(app, op="undo")[1].startswith("error: points: draw at least 10 points of each")  # before the add
    assert _draw(app, op="undo")[0] == "Undid the last edit: back to moons."


@pytest.mark.slow
def test_a_set_of_200_points_travels_in_the_link_and_201_do_not():
    points = _points(200, classes=2, seed=5)
    text = drawn.to_text(points, "classification")
    app = _page({"pg.dataset": "drawn", "pg.points": text, "pg.seed": "7"})
    cfg = app.session_state["config"]
    assert cfg.data.points == points and cfg.data.seed == 7
    assert app.query_params["pg.points"] == text
    caption = " ".join(c.value for c in app.sidebar.caption)
    assert "200 points: class 0 100 (train 60, validation 20, test 20); class 1 100" in caption
    assert app.sidebar.get("download_button")  # the CSV download

    message, config = _draw(app, op="add", x=0.0, y=0.0, label=1)
    assert config == "config: drawn 201" and "pg.points" not in app.query_params
    assert any("201 points are too many for a link (at most 200): the link leaves them out; download them instead"
               in c.value for c in app.sidebar.caption)
    _draw(app, op="undo")
    assert app.query_params["pg.points"] == text and app.session_state["config"].data.points == points


@pytest.mark.slow
def test_a_bad_link_text_is_warned_about_as_plain_text_and_the_other_settings_apply():
    app = _page({"pg.dataset": "drawn", "pg.points": "[click](https://e.example),1,0", "pg.seed": "7"})
    warnings = [w.value for w in app.sidebar.warning]
    assert len(warnings) == 1 and warnings[0].startswith(
        "ignored pg.points=\\[click\\](https\\://e.example),1,0: drawn point 1 must be x,y,label (three numbers)")
    assert "pg.points" not in app.query_params
    assert app.sidebar.number_input(key="pg.seed").value == 7
    assert app.text[1].value.startswith("error: points: draw at least 10 points")


# --- the whole app -----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_link_with_drawn_points_opens_the_playground_on_them_and_trains():
    points = _points(36, classes=3, seed=9)
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"pg.dataset": "drawn", "pg.points": drawn.to_text(points, "classification")})
    app.run()
    assert not app.exception, app.exception
    next(b for b in app.button if b.label == "Step").click().run()
    assert not app.exception, app.exception
    status = next(m.value for m in app.markdown if "| Step " in m.value)
    assert int(re.search(r"Step (\d+)", status).group(1)) == 1
    trainer = app.session_state["nnplay"]["run.playground"].trainer
    assert trainer.cfg.data.dataset == "drawn" and trainer.cfg.data.points == points
    assert trainer.dataset.n_classes == 3 and trainer.step == 1
