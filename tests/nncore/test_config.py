"""Config validation: one error type, a message naming parameter, rule and value; dict round trips."""

from dataclasses import FrozenInstanceError

import pytest

from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig, build, parse_hidden
from nncore.errors import ConfigError


@pytest.mark.parametrize("kind, field, value, message", [
    (TrainConfig, "learning_rate", -0.1, "learning_rate must be > 0, got -0.1"),
    (TrainConfig, "learning_rate", 0.0, "learning_rate must be > 0, got 0.0"),
    (TrainConfig, "batch_size", 0, "batch_size must be >= 1, got 0"),
    (TrainConfig, "batch_size", 2.5, "batch_size must be an integer, got 2.5"),
    (TrainConfig, "momentum", 1.0, "momentum must be < 1, got 1.0"),
    (TrainConfig, "optimizer", "adagrad", "optimizer must be one of sgd, momentum, nesterov, rmsprop, adam, adamw, "
                                          "got 'adagrad'"),
    (TrainConfig, "l2", float("nan"), "l2 must be a finite number, got nan"),
    (TrainConfig, "early_stopping", -1, "early_stopping must be >= 0, got -1"),
    (ModelConfig, "activation", "swish", "activation must be one of relu, leaky_relu, tanh, sigmoid, gelu, linear, "
                                         "got 'swish'"),
    (ModelConfig, "dropout", 1.0, "dropout must be < 1, got 1.0"),
    (ModelConfig, "hidden", (8, 0), "hidden[1] must be >= 1, got 0"),
    (ModelConfig, "init", "orthogonal", "init must be one of zeros, uniform, normal, xavier_uniform, xavier_normal, "
                                        "he_uniform, he_normal, got 'orthogonal'"),
    (DataConfig, "dataset", "mnist3d", None),
    (DataConfig, "n_points", 5, "n_points must be >= 20, got 5"),
    (DataConfig, "noise", -0.5, "noise must be >= 0, got -0.5"),
    (DataConfig, "classes", 1, "classes must be >= 2, got 1"),
    (DataConfig, "standardize", "yes", "standardize must be true or false, got 'yes'"),
])
def test_bad_value_raises_config_error_naming_parameter_rule_and_value(kind, field, value, message):
    with pytest.raises(ConfigError) as info:
        kind(**{field: value})
    assert info.value.param.startswith(field)
    if message is not None:
        assert str(info.value) == message
    else:
        assert field in str(info.value) and repr(value) in str(info.value)


def test_split_fractions_must_leave_training_data():
    with pytest.raises(ConfigError, match=r"val_fraction \+ test_fraction must be <= 0.8"):
        DataConfig(val_fraction=0.45, test_fraction=0.45)


def test_configs_are_frozen():
    cfg = TrainConfig()
    with pytest.raises(FrozenInstanceError):
        cfg.learning_rate = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("text, widths", [("16,16", (16, 16)), ("8", (8,)), ("", ()), (" 4 , 2 ", (4, 2)),
                                          ("3 5", (3, 5))])
def test_hidden_layers_parse_from_compact_text(text, widths):
    assert parse_hidden(text) == widths
    assert ModelConfig(hidden=text).hidden == widths


def test_hidden_layers_text_that_is_not_numbers_names_the_format():
    with pytest.raises(ConfigError, match="hidden must be comma-separated layer widths such as 16,16, got '8,x'"):
        ModelConfig(hidden="8,x")


def test_run_config_round_trips_through_a_dict():
    cfg = RunConfig(DataConfig(dataset="moons", noise=0.3, seed=7), ModelConfig(hidden=(5, 3), activation="tanh"),
                    TrainConfig(optimizer="nesterov", learning_rate=0.05, schedule="cosine"))
    d = cfg.to_dict()
    assert d["model"]["hidden"] == [5, 3]
    assert RunConfig.from_dict(d) == cfg


def test_unknown_setting_in_a_dict_is_named():
    with pytest.raises(ConfigError, match="lr is not a setting of TrainConfig"):
        build(TrainConfig, {"lr": 0.1})


def test_changed_fields_names_exactly_the_fields_that_differ():
    from dataclasses import replace

    from nncore.config import ModelConfig, changed_fields

    a = ModelConfig()
    assert changed_fields(a, a) == []
    b = replace(a, hidden=(3,), activation="relu" if a.activation != "relu" else "tanh")
    assert sorted(changed_fields(a, b)) == ["activation", "hidden"]
