"""The settings table (nncore/settings.py) and the consumers that read it: config, CLI, sidebar, race, search."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import fields, replace

import pytest

from nncore import settings
from nncore.config import (
    IMAGE_DEFAULTS,
    TABLE_DEFAULTS,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    defaults_for,
)
from nncore.errors import ConfigError
from nncore.limits import Limits

SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
NUMERIC = [s for s in settings.TABLE if s.kind in ("int", "float")]


def test_every_config_field_a_user_can_set_is_in_the_table_once():
    names = [(s.section, s.name) for s in settings.TABLE]
    assert len(names) == len(set(names)) and len(settings.SETTINGS) == len(settings.TABLE)
    every = {(section, f.name) for section, kind in SECTIONS.items() for f in fields(kind)}
    assert set(names) == every


def test_the_table_names_only_real_limits_registries_and_optimizers():
    limit_names = {f.name for f in fields(Limits)}
    from nncore.registry import OPTIMIZERS, SCHEDULES
    for s in settings.TABLE:
        assert s.limit is None or s.limit in limit_names, s.name
        assert s.optimizers is None or set(s.optimizers) <= set(OPTIMIZERS), s.name
        assert s.schedules is None or set(s.schedules) <= set(SCHEDULES), s.name
        default = getattr(SECTIONS[s.section](), s.name)
        if s.kind == "choice":
            assert default in s.choices, s.name
    assert settings.for_optimizer("momentum") == ("momentum",)
    assert settings.for_optimizer("adam") == ("beta1", "beta2")
    assert settings.for_optimizer("adamw") == ("beta1", "beta2", "weight_decay")
    assert settings.for_optimizer("sgd") == settings.for_optimizer("rmsprop") == ()


def _build(s, value):
    """The setting's section built with ``value`` (a valid context for the others: 2 classes, adam)."""
    return SECTIONS[s.section](**{s.name: value})


def _inside(s, end, toward):
    """A value just inside an open end (one hundredth in: the split fractions also bound the points needed)."""
    return end + (1 if toward > 0 else -1) * (1 if s.kind == "int" else 0.01)


@pytest.mark.parametrize("s", NUMERIC, ids=lambda s: s.name)
def test_the_tables_rule_is_the_configs_rule(s):
    """Each end the table states is where config validation turns: accepted on the inside, refused just
    outside (or at an open end), with a message naming the field."""
    for end, open_, outward in ((s.lo, s.lo_open, -math.inf), (s.hi, s.hi_open, math.inf)):
        inward = -outward
        edge = _inside(s, end, inward) if open_ else end
        _build(s, edge)
        # the next float outside, at least the smallest normal one (training may flush subnormals to zero)
        tiny = max(math.ulp(float(end)), sys.float_info.min)
        outside = end if open_ else end + (1 if outward > 0 else -1) * (1 if s.kind == "int" else tiny)
        with pytest.raises(ConfigError, match=rf"^{s.name} must be"):
            _build(s, outside)


def test_layer_rules_are_the_configs_rules():
    hidden, channels = settings.get("hidden"), settings.get("channels")
    ModelConfig(hidden=(hidden.hi,) * settings.MAX_LAYERS)
    for bad in ((hidden.hi + 1,), (hidden.lo - 1,), (8,) * (settings.MAX_LAYERS + 1)):
        with pytest.raises(ConfigError, match="hidden"):
            ModelConfig(hidden=bad)
    ModelConfig(channels=(channels.lo, channels.hi))
    with pytest.raises(ConfigError, match="channels"):
        ModelConfig(channels=(channels.hi + 1, 8))


@pytest.mark.parametrize("s", [s for s in settings.TABLE if s.widget in ("slider", "number", "select_slider")],
                         ids=lambda s: s.name)
def test_what_a_widget_offers_is_within_the_rule(s):
    if s.options:  # a select slider offers its options
        values = list(s.options)
    else:
        values = [v / s.scale for v in settings.widget_bounds(s.name, Limits())]
    for value in values:
        _build(s, value if s.kind == "float" else int(value))
    if s.options:
        assert list(s.options) == sorted(s.options)


def test_widget_bounds_follow_the_limits_read_at_call_time(monkeypatch):
    assert settings.widget_bounds("n_points") == (20, Limits().max_points)
    assert settings.widget_bounds("epochs") == (1, Limits().max_epochs)
    monkeypatch.setenv("NNPLAY_MAX_POINTS", "1234")
    monkeypatch.setenv("NNPLAY_MAX_EPOCHS", "77")
    monkeypatch.setenv("NNPLAY_MAX_WIDTH", "100")
    monkeypatch.setenv("NNPLAY_MAX_LAYERS", "3")
    assert settings.widget_bounds("n_points") == (20, 1234) and settings.widget_bounds("epochs") == (1, 77)
    assert settings.widget_bounds("n_points", capped=False) == (20, settings.get("n_points").hi)
    assert settings.layer_bounds(images=False) == (3, 100)
    assert settings.layer_bounds(images=True) == (3, Limits().max_image_width)
    monkeypatch.setenv("NNPLAY_MAX_POINTS", "5")  # below the rule's least: the widget offers the least alone
    assert settings.widget_bounds("n_points") == (20, 20)


# --- the command line -----------------------------------------------------------------------------------------
def _train_parser() -> argparse.ArgumentParser:
    from nncore.cli.main import add_csv_args, add_network_args
    p = argparse.ArgumentParser()
    add_network_args(p)
    add_csv_args(p)
    return p


def test_the_cli_has_a_flag_for_every_cli_facing_setting_with_the_tables_help_and_bounds():
    actions = {o: a for a in _train_parser()._actions for o in a.option_strings}
    flagged = [s for s in settings.TABLE if s.flag is not None]
    assert {s.name for s in settings.TABLE} - {s.name for s in flagged} == {"points"}  # drawn on the plane only
    for s in flagged:
        action = actions[s.flag]
        if s.flag == "--augment":  # one compound flag for the three augmentations, with their bounds
            assert f"up to {settings.get('augment_shift').hi} pixels" in action.help
            assert f"up to {settings.get('augment_rotate').hi:g} degrees" in action.help
            continue
        assert action.dest == s.dest and action.help.startswith(s.help), s.name
        if s.kind in ("int", "float"):
            rule = s.rule_text().replace("value", s.dest)
            assert rule in action.help, (s.name, action.help)
            assert action.type is (int if s.kind == "int" else float)
        if s.kind == "choice":
            assert ", ".join(s.choices) in action.help, s.name


def test_the_cli_defaults_are_each_presets_defaults():
    from nncore.cli.main import config_from_args
    p = _train_parser()
    assert config_from_args(p.parse_args([])) == RunConfig()
    assert config_from_args(p.parse_args(["--dataset", "digits"])) == IMAGE_DEFAULTS
    assert config_from_args(p.parse_args(["--dataset", "wine"])) == defaults_for("wine")
    assert config_from_args(p.parse_args(["--csv", "t.csv", "--dataset", "csv"])) == TABLE_DEFAULTS
    help_text = p.format_help()
    assert "default 0.01, images 0.001, tables 0.003" in " ".join(help_text.split())  # --lr


@pytest.mark.parametrize("s", [s for s in NUMERIC if s.flag != "--augment"], ids=lambda s: s.name)
def test_each_numeric_flag_sets_its_own_field(s):
    from nncore.cli.main import config_from_args
    lo, hi = settings.widget_bounds(s.name, Limits())
    value = (lo + hi) / 2 / s.scale
    value = int(value) if s.kind == "int" else round(value, 6)
    base = RunConfig()
    if getattr(getattr(base, s.section), s.name) == value:
        value = type(value)(lo / s.scale) if lo else type(value)(hi / s.scale)
    cfg = config_from_args(_train_parser().parse_args([s.flag, str(value)]))
    expected = base.replace(**{s.section: replace(getattr(base, s.section), **{s.name: value})})
    assert cfg == expected


# --- the sidebar --------------------------------------------------------------------------------------------
def test_sidebar_bounds_and_layer_limits_come_from_the_table_and_the_limits(monkeypatch):
    from ui.controls import sidebar
    assert sidebar.bounds("val_pct") == (5, 40, 5) and sidebar.bounds("gamma_exponential") == (0.5, 0.999, 0.001)
    assert sidebar.options("learning_rate") == settings.LEARNING_RATES and sidebar.options("noise") is None
    assert (sidebar.PLAYGROUND.max_layers, sidebar.PLAYGROUND.max_width) == (6, 64)
    assert (sidebar.IMAGES.max_layers, sidebar.IMAGES.max_width) == (4, 1024)  # the Images page caps layers at 4
    monkeypatch.setenv("NNPLAY_MAX_WIDTH", "100")
    monkeypatch.setenv("NNPLAY_MAX_LAYERS", "2")
    monkeypatch.setenv("NNPLAY_MAX_POINTS", "900")
    assert (sidebar.PLAYGROUND.max_layers, sidebar.PLAYGROUND.max_width) == (2, 100)
    assert sidebar.IMAGES.max_layers == 2
    assert sidebar.bounds("n_points") == (20, 900, 10)
    assert sidebar._link_problem(sidebar.PLAYGROUND, "n_points", "901") == "must be a whole number from 20 to 900"
    assert sidebar._link_problem(sidebar.PLAYGROUND, "n_points", "900") is None


def test_a_checkpoint_beyond_the_limits_is_kept_for_the_gate_and_one_beyond_the_page_refused(monkeypatch):
    from tests.helpers import make_cfg
    from ui.controls import sidebar
    monkeypatch.setenv("NNPLAY_MAX_POINTS", "900")
    cfg = make_cfg(dataset="moons", n_points=1500, hidden=(100,), epochs=50_000)
    fitted, notes = sidebar.fit_config(sidebar.PLAYGROUND, cfg)  # the gate refuses these by the limit's name
    assert (fitted.data.n_points, fitted.model.hidden, fitted.train.epochs, notes) == (1500, (100,), 50_000, [])
    with pytest.raises(ConfigError, match="hidden layers must be at most 4 here, got 5"):
        sidebar.fit_config(sidebar.IMAGES, replace(IMAGE_DEFAULTS, model=replace(IMAGE_DEFAULTS.model,
                                                                                 hidden=(8,) * 5)))
    _, notes = sidebar.fit_config(sidebar.PLAYGROUND, make_cfg(dataset="moons", noise=0.8, batch_size=48))
    assert notes == ["noise 0.8 -> 0.5 (most this page offers)", "batch size 48 -> 64 (nearest choice)"]


def _playground_sidebar():
    import streamlit as st

    from ui.controls.sidebar import PLAYGROUND, training_sidebar
    cfg, message = training_sidebar(PLAYGROUND)
    st.text(",".join(map(str, cfg.model.hidden)) if cfg else f"error: {message}")


def _sidebar_app(hidden: str):
    from streamlit.testing.v1 import AppTest
    app = AppTest.from_function(_playground_sidebar, default_timeout=60)
    app.query_params["pg.hidden"] = hidden
    app.run()
    assert not app.exception, app.exception
    return app


def _shown(app) -> str:
    return app.text[0].value.replace("\\", "")  # as written, before Markdown escapes


@pytest.mark.slow
def test_the_sidebar_offers_width_65_when_the_server_allows_100_and_refuses_above(monkeypatch):
    assert _shown(_sidebar_app("65")).startswith("error: hidden[0] width must be between 1 and 64, got 65")
    monkeypatch.setenv("NNPLAY_MAX_WIDTH", "100")
    app = _sidebar_app("65")
    assert _shown(app) == "65"
    assert "1–100 units" in app.sidebar.text_input(key="pg.hidden").help
    app.sidebar.text_input(key="pg.hidden").input("100,8").run()
    assert _shown(app) == "100,8"
    app.sidebar.text_input(key="pg.hidden").input("101").run()
    assert _shown(app).startswith("error: hidden[0] width must be between 1 and 100, got 101")


@pytest.mark.slow
def test_the_sidebars_points_slider_follows_the_limit(monkeypatch):
    monkeypatch.setenv("NNPLAY_MAX_POINTS", "3000")
    app = _sidebar_app("8")
    slider = app.sidebar.slider(key="pg.n_points")
    assert (slider.min, slider.max, slider.step) == (20, 3000, 10)
    assert app.sidebar.slider(key="pg.noise").max == settings.get("noise").span[1]


# --- race knobs -----------------------------------------------------------------------------------------------
def _racer_script():
    import streamlit as st

    from nncore.config import RunConfig
    from ui.panels.race import racer_knobs
    cfg = racer_knobs("A", RunConfig())
    st.text(repr((cfg.train.optimizer, cfg.train.learning_rate, cfg.train.l2, cfg.model.dropout, cfg.model.hidden)))


@pytest.mark.slow
def test_the_race_knobs_and_their_labels_come_from_the_table():
    from streamlit.testing.v1 import AppTest
    assert settings.RACE_KNOBS == ("optimizer", "learning_rate", "activation", "init", "hidden", "batch_norm",
                                   "dropout", "l2")
    app = AppTest.from_function(_racer_script, default_timeout=60).run()
    assert not app.exception, app.exception
    widgets = [w for kind in ("selectbox", "select_slider", "slider", "text_input", "toggle") for w in app.get(kind)]
    assert {w.key: w.label for w in widgets} == {f"race.A.{k}": settings.label(k) for k in settings.RACE_KNOBS}
    assert list(app.select_slider(key="race.A.l2").options) == [settings.get("l2").option_text(o)
                                                                 for o in settings.PENALTIES]
    app.select_slider(key="race.A.l2").set_value(0.01).run()
    app.slider(key="race.A.dropout").set_value(0.25).run()
    app.selectbox(key="race.A.optimizer").set_value("rmsprop").run()
    assert app.text[0].value == repr(("rmsprop", 0.01, 0.01, 0.25, (16, 16)))


# --- the search space -----------------------------------------------------------------------------------------
def test_search_space_bounds_stay_within_the_tables_bounds():
    from nncore.search.space import KNOBS, SearchSpace
    space = SearchSpace(init=("he_uniform",))
    for knob in space.knobs:
        values = getattr(space, knob)
        if knob == "depth":
            assert 0 <= min(values) <= max(values) <= settings.MAX_LAYERS
            continue
        if knob == "width":
            s = settings.get("hidden")
            assert all(s.lo <= v <= s.hi for v in values)
            continue
        s = settings.get(knob)
        for value in values:
            _build(s, value)  # each end (or choice) is a value the setting accepts
    from ui.panels.search import KNOB_LABELS, range_steps
    assert list(KNOB_LABELS) == list(KNOBS)
    assert all(KNOB_LABELS[k] == settings.label(k) for k in KNOBS if k in settings.SETTINGS)
    for knob in ("learning_rate", "l2", "batch_size"):
        steps = range_steps(knob)
        assert steps == [v for v in settings.get(knob).options if v > 0]  # the table's values, not a copy
        for value in steps:
            _build(settings.get(knob), value)


def test_the_search_spaces_rules_are_the_tables():
    from nncore.search.space import SearchSpace
    SearchSpace(learning_rate=(1e-3, settings.get("learning_rate").hi), l2=(1e-6, settings.get("l2").hi))
    for knob, bad in (("learning_rate", (0.0, 0.1)), ("dropout", (0.0, settings.get("dropout").hi)),
                      ("l2", (1e-6, 1.5)), ("width", (settings.get("hidden").hi + 1,)),
                      ("batch_size", (settings.get("batch_size").hi + 1,)), ("optimizer", ("adagrad",)),
                      ("depth", (0, settings.MAX_LAYERS + 1))):
        with pytest.raises(ConfigError, match=knob):
            SearchSpace(**{knob: bad})
