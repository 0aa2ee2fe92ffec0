"""Input features (x1², x1·x2, sin x1, ...): each map's values, the config's rules, both engines computing the
same network on them (within derived rounding bounds), the gradient check, checkpoints, ONNX and script
exports from raw x1, x2, the --inputs flag and the sidebar's "Input features" control."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math

import numpy as np
import pytest
import torch

from nncore.io import export
from nncore import features
from nncore.inspect import metrics
from nncore.io.checkpoint import _header_metadata, check_compatible, load_checkpoint, save_checkpoint, \
    trainer_from_checkpoint
from nncore.cli.main import main
from nncore.config import DataConfig, ModelConfig, RunConfig
from nncore.data import make_dataset
from nncore.engines import engine_class, make_engine, network_sizes
from nncore.errors import ConfigError
from nncore.features import FEATURES
from nncore.engines.numpy_gradcheck import gradcheck
from nncore.train.trainer import Trainer
from tests.helpers import (ELEMENTWISE_ULPS, assert_runs_without_torch, assert_within, make_cfg,
                           mlp_forward_bound, mlp_gradient_bound, train, unit_roundoff)

ALL = ("sin_x2", "x1_x2", "x1_sq", "x2", "sin_x1", "x2_sq", "x1")  # every feature, not in registry order


def feature_bound(keys, x, x_err, u):
    """The exact features of x (n, 2) and a bound on the computed ones' distance from them, when the computed
    features start from inputs within ``x_err`` (n, 2) of x and each operation rounds with unit roundoff u:
    a square or product is off by the propagated input error plus one rounding; sin (Lipschitz 1) passes the
    input error on and adds its own evaluation error (ELEMENTWISE_ULPS, relative to |sin x| + |x|)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.broadcast_to(x_err, x.shape)
    a, b, ea, eb = np.abs(x[:, 0]), np.abs(x[:, 1]), e[:, 0], e[:, 1]
    parts = {
        "x1": (x[:, 0], ea), "x2": (x[:, 1], eb),
        "x1_sq": (x[:, 0] ** 2, 2 * a * ea + ea ** 2 + u * (a + ea) ** 2),
        "x2_sq": (x[:, 1] ** 2, 2 * b * eb + eb ** 2 + u * (b + eb) ** 2),
        "x1_x2": (x[:, 0] * x[:, 1], b * ea + a * eb + ea * eb + u * (a + ea) * (b + eb)),
        "sin_x1": (np.sin(x[:, 0]), ea + ELEMENTWISE_ULPS * u * (np.abs(np.sin(x[:, 0])) + a + ea)),
        "sin_x2": (np.sin(x[:, 1]), eb + ELEMENTWISE_ULPS * u * (np.abs(np.sin(x[:, 1])) + b + eb)),
    }
    return np.stack([parts[k][0] for k in keys], axis=1), np.stack([parts[k][1] for k in keys], axis=1)


# --- the maps ------------------------------------------------------------------------------------------------------
def test_registry_keys_and_labels_in_order():
    assert list(FEATURES) == ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
    assert features.labels() == ["x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2"]
    assert features.KEYS == tuple(FEATURES) and features.LABELS["x1_x2"] == "x1·x2"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_feature_map_gives_its_value_in_the_inputs_dtype(dtype):
    # Values whose squares and products are exact in both dtypes; sin against math.sin within its evaluation error.
    X = np.array([[2.0, -3.0], [0.5, 0.25], [-1.5, 0.0]], dtype=dtype)
    want = {"x1": [2.0, 0.5, -1.5], "x2": [-3.0, 0.25, 0.0], "x1_sq": [4.0, 0.25, 2.25], "x2_sq": [9.0, 0.0625, 0.0],
            "x1_x2": [-6.0, 0.125, -0.0]}
    for key in FEATURES:
        got = features.apply((key,), X)
        assert got.shape == (3, 1) and got.dtype == dtype, key
        if key in want:
            assert got[:, 0].tolist() == want[key], key
        else:
            column = X[:, 0 if key == "sin_x1" else 1].astype(np.float64)
            exact = np.array([math.sin(v) for v in column])
            assert_within(got[:, 0], exact, ELEMENTWISE_ULPS * unit_roundoff(dtype) * (np.abs(exact) + np.abs(column)),
                          key)
    # several at once: one column per key, in the order asked
    both = features.apply(("x2_sq", "x1"), X)
    assert both.tolist() == [[9.0, 2.0], [0.0625, 0.5], [0.0, -1.5]]


def test_the_torch_map_equals_the_numpy_map_and_is_differentiable():
    X = np.random.default_rng(0).normal(size=(50, 2))
    mapped, err = feature_bound(ALL, X, 0.0, unit_roundoff(np.float64))
    x = torch.tensor(X, requires_grad=True)
    out = features.torch_apply(ALL, x)
    assert out.dtype == torch.float64 and out.shape == (50, 7)
    assert_within(out.detach().numpy(), mapped, err, "torch features")
    assert_within(features.apply(ALL, X), mapped, err, "numpy features")
    out[:, ALL.index("x1_x2")].sum().backward()  # d(x1·x2)/dx1 = x2, d/dx2 = x1
    np.testing.assert_array_equal(x.grad.numpy(), X[:, ::-1])


def test_a_map_needs_two_columns():
    with pytest.raises(ConfigError, match=r"computed from 2 features \(x1, x2\); got data shaped \(4, 3\)"):
        features.apply(("x1_sq",), np.zeros((4, 3)))


# --- the config -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, needle", [
    (("x1", "x3"), "inputs must be keys from x1, x2, x1_sq, x2_sq, x1_x2, sin_x1, sin_x2, got 'x3'"),
    ("x1,nope", "got 'nope'"),
    ((), "inputs must name at least one feature (from x1, x2, x1_sq"),
    (("x1_sq", "x1", "x1_sq"), "inputs must name each feature once, got x1_sq more than once"),
    (("x1", 2), "got 2"),
])
def test_bad_inputs_are_refused_naming_the_valid_keys(value, needle):
    with pytest.raises(ConfigError, match="inputs") as err:
        ModelConfig(inputs=value)
    assert needle in str(err.value) and err.value.param == "inputs"


def test_inputs_round_trip_through_dicts_and_default_when_missing():
    cfg = make_cfg(dataset="circles", inputs="x1_sq, x2_sq")
    assert cfg.model.inputs == ("x1_sq", "x2_sq")
    d = cfg.to_dict()
    assert d["model"]["inputs"] == ["x1_sq", "x2_sq"] and json.loads(json.dumps(d)) == d
    assert RunConfig.from_dict(d) == cfg
    del d["model"]["inputs"]
    assert RunConfig.from_dict(d).model.inputs == ("x1", "x2")


def test_non_default_inputs_need_two_features():
    # bundled tables and image sets are refused in the config; an uploaded 13-column table when the network is built
    with pytest.raises(ConfigError, match="need data with exactly 2 features .*wine is a table with more"):
        RunConfig(DataConfig(dataset="wine"), ModelConfig(inputs=("x1_sq", "x2_sq")))
    with pytest.raises(ConfigError, match="digits is an image set"):
        RunConfig(DataConfig(dataset="digits", standardize=False), ModelConfig(inputs=("x1",)))
    with pytest.raises(ConfigError, match="x1,x2 for model cnn"):
        ModelConfig(kind="cnn", inputs=("x1_sq",))
    import pandas as pd

    from nncore.data.tabular import table_to_dataset
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(120, 13)), columns=[f"c{i}" for i in range(13)])
    df["y"] = (df["c0"] > 0).astype(int)
    cfg = make_cfg(dataset="csv", inputs=("x1_sq", "x2_sq"))
    ds = table_to_dataset(df, "y", None, cfg.data)
    with pytest.raises(ConfigError, match=r"need data with exactly 2 features \(x1, x2\); .* has 13: use inputs"):
        Trainer(cfg, ds)
    # the default keeps a table's 13 features as they are
    trainer = Trainer(dataclasses.replace(cfg, model=ModelConfig()), ds)
    assert trainer.engine.sizes[0] == 13 and trainer.engine.forward(ds.X_test).shape == (len(ds.X_test), 1)


def test_the_first_layer_reads_one_input_per_feature():
    assert network_sizes(ModelConfig(hidden=(8,), inputs=ALL), 2, 3) == [7, 8, 3]
    assert network_sizes(ModelConfig(hidden=(8,)), 13, 3) == [13, 8, 3]
    for name in ("numpy", "torch"):
        cfg = make_cfg(dataset="circles", n_points=100, hidden=(4,), inputs=("sin_x1",), engine=name)
        engine = make_engine(cfg, make_dataset(cfg.data))
        assert engine.sizes == [1, 4, 1] and engine.get_params()[0]["W"].shape == (4, 1)


# --- the engines --------------------------------------------------------------------------------------------------
def _engines(inputs, activation, dtype, params=None):
    cfg = make_cfg(dataset="blobs", classes=3, n_points=90, hidden=(8, 6), activation=activation, inputs=inputs,
                   init="xavier_normal", learning_rate=1e-9, dtype=dtype)
    ds = make_dataset(cfg.data)
    params = params or make_engine(cfg, ds).get_params()
    sizes = network_sizes(cfg.model, ds.n_features, ds.n_outputs)
    return ds, params, {name: engine_class(name)(cfg.model, cfg.train, sizes, ds.task, params, 0)
                        for name in ("numpy", "torch")}


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_both_engines_compute_the_network_on_the_features_within_the_rounding_bounds(activation):
    """float32 outputs from raw x1, x2 within the bound of the exact network on the exact features; float64
    gradients within the bound of the exact gradients on the features each engine computes; and the same bound
    rejects an engine whose features come in another order."""
    ds, params, engines = _engines(ALL, activation, "float32")
    X, y = ds.X_train[:32], ds.y_train[:32]
    u32 = unit_roundoff(np.float32)
    mapped, mapped_err = feature_bound(ALL, X, u32 * np.abs(X), u32)  # X rounded to float32, features in float32
    z, z_err = mlp_forward_bound(params, mapped, np.float32, activation, mapped_err)
    for name, engine in engines.items():
        assert_within(engine.forward(X), z, z_err, f"{name} outputs")
        assert_within(engine.trace(X)[-1]["post"], z, z_err, f"{name} traced outputs")
    swapped = ALL[1::-1] + ALL[2:]
    _, _, wrong = _engines(swapped, activation, "float32", params=params)
    for name, engine in wrong.items():
        with pytest.raises(AssertionError, match="beyond the derived bound"):
            assert_within(engine.forward(X), z, z_err)
    ds, params, engines = _engines(ALL, activation, "float64")
    own = {"numpy": features.apply(ALL, X), "torch": features.torch_apply(ALL, torch.from_numpy(X)).numpy()}
    for name, engine in engines.items():
        exact = mlp_gradient_bound(params, own[name], y, np.float64, activation)
        loss = engine.train_step(X, y)
        assert abs(loss - exact["loss"]) <= exact["loss_error"], name
        for i, grads in enumerate(engine.grads()):
            assert_within(grads["W"], exact["dW"][i], exact["dW_error"][i], f"{name} layer {i} weight gradients")
            assert_within(grads["b"], exact["db"][i], exact["db_error"][i], f"{name} layer {i} bias gradients")


def test_every_numpy_entry_point_takes_raw_x1_x2():
    ds, params, engines = _engines(("x1_sq", "x1_x2", "sin_x2"), "tanh", "float64")
    engine, X, y = engines["numpy"], ds.X_train[:16], ds.y_train[:16]
    mapped = features.apply(("x1_sq", "x1_x2", "sin_x2"), X)
    explained = engine.explain(X[:2], y[:2])
    np.testing.assert_array_equal(explained[0]["input"], mapped[:2])  # the first layer reads the features
    np.testing.assert_array_equal(explained[-1]["post"], engine.forward(X[:2]))
    loss, _ = engine.loss_and_grads(X, y, train=False)
    assert loss == pytest.approx(engine.total_loss(X, y, train=False), rel=1e-12)
    assert loss == pytest.approx(metrics.data_loss(engine.forward(X), y, ds.task), rel=1e-12)
    pre = engine.pre_activations(X, train=False)
    np.testing.assert_allclose(np.tanh(pre[0]), engine.trace(X)[0]["post"], rtol=0, atol=1e-15)


@pytest.mark.parametrize("key", list(FEATURES))
def test_gradient_check_passes_with_each_feature(key):
    inputs = (key,) if key in ("x1", "x2") else ("x1", key)  # x1, x2 alone would be the default
    cfg = make_cfg(dataset="spirals", classes=3, n_points=150, hidden=(6,), activation="tanh", inputs=inputs)
    result = gradcheck(cfg, make_dataset(cfg.data))
    assert result["passed"], result["layers"]


def test_gradient_check_passes_with_every_feature_at_once_and_batch_norm():
    cfg = make_cfg(dataset="circles", n_points=150, hidden=(6, 4), activation="relu", batch_norm=True, inputs=ALL,
                   l2=0.01)
    result = gradcheck(cfg, make_dataset(cfg.data))
    assert result["passed"] and len(result["layers"]) == 3 * 2 + 2 * 2  # W, b, gamma, beta on hidden layers


@pytest.mark.slow
def test_a_numpy_run_with_features_does_not_import_torch():
    code = ("import sys; from nncore.config import RunConfig, DataConfig, ModelConfig, TrainConfig;"
            "from nncore.train.trainer import Trainer; from nncore.engines.numpy_gradcheck import gradcheck;"
            "cfg = RunConfig(DataConfig(dataset='circles', n_points=100), ModelConfig(hidden=(), "
            "inputs=('x1_sq', 'x2_sq', 'sin_x1')), TrainConfig(engine='numpy', epochs=3));"
            "t = Trainer(cfg); t.run(steps=100); assert gradcheck(cfg, t.dataset)['passed']")
    assert_runs_without_torch(code)


# --- checkpoints and exports ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def squares():
    """A float32 network on x1², x2², x1·x2 and sin x1 of circles, trained a few epochs."""
    return train(dataset="circles", n_points=150, hidden=(6,), activation="tanh",
                 inputs=("x1_sq", "x2_sq", "x1_x2", "sin_x1"), epochs=5)[0]


def test_checkpoint_round_trip_keeps_the_inputs(squares):
    ckpt = load_checkpoint(save_checkpoint(squares))
    assert ckpt.config.model.inputs == ("x1_sq", "x2_sq", "x1_x2", "sin_x1")
    assert ckpt.network_text == "4 → 6 → 1"
    loaded = trainer_from_checkpoint(ckpt)
    X = squares.dataset.X_test
    np.testing.assert_array_equal(loaded.engine.forward(X), squares.engine.forward(X))
    other = dataclasses.replace(ckpt.config, model=dataclasses.replace(ckpt.config.model,
                                                                        inputs=("x1_sq", "x2_sq", "x1_x2", "sin_x2")))
    with pytest.raises(ConfigError, match="reads the inputs x1², x2², x1·x2, sin x1; the current network reads "
                                          "x1², x2², x1·x2, sin x2"):
        check_compatible(ckpt, other, squares.dataset)


def test_a_checkpoint_saved_before_inputs_existed_loads_with_the_default():
    from safetensors.numpy import load, save
    trainer = train(dataset="moons", n_points=100, hidden=(4,), epochs=1)[0]
    data = save_checkpoint(trainer)
    metadata = _header_metadata(data)
    config = json.loads(metadata["config"])
    del config["model"]["inputs"]
    old = save(load(data), metadata={**metadata, "config": json.dumps(config)})
    ckpt = load_checkpoint(old)
    assert ckpt.config.model.inputs == ("x1", "x2")
    np.testing.assert_array_equal(trainer_from_checkpoint(ckpt).engine.forward(trainer.dataset.X_test),
                                  trainer.engine.forward(trainer.dataset.X_test))


def _probability_bound(z_err, u):
    """|Δ probability| from logits within z_err: sigmoid's slope is at most 1/4; its evaluation and 1 - p round."""
    return 0.25 * z_err[:, 0] + (ELEMENTWISE_ULPS + 1) * u


@pytest.mark.slow
def test_onnx_and_script_exports_take_raw_x1_x2_and_give_the_engines_probabilities(squares, tmp_path):
    import onnxruntime as ort
    trainer, ds = squares, squares.dataset
    keys, act, params = trainer.cfg.model.inputs, trainer.cfg.model.activation, trainer.engine.get_params()
    want = metrics.probabilities(trainer.engine.forward(ds.X_test), ds.task)  # what the app shows
    raw = ds.unscale(ds.X_test)
    x = (raw - ds.mean) / ds.std  # the exact standardized inputs, the reference of every bound below
    u32, u64 = unit_roundoff(np.float32), unit_roundoff(np.float64)

    def side(x_err, u_features):
        """Probability bound of a float32 network on features computed from inputs within x_err of x."""
        mapped, mapped_err = feature_bound(keys, x, x_err, u_features)
        _, z_err = mlp_forward_bound(params, mapped, np.float32, act, mapped_err)
        return z_err

    # the app: X_test = x up to raw's float64 round trip, then rounded to float32; features in float32
    app = side(u64 * (2 * np.abs(ds.X_test) + np.abs(raw) / ds.std) + u32 * np.abs(x), u32)
    app_p = 0.25 * app[:, 0] + ELEMENTWISE_ULPS * u64
    # ONNX: raw, mean and std rounded to float32, a subtraction and a division; features, sigmoid in float32
    session = ort.InferenceSession(export.export_from_trainer(trainer, "onnx"))
    assert [i.shape[1] for i in session.get_inputs()] == [2]  # raw x1, x2
    got = session.run(None, {"features": raw.astype(np.float32)})[0]
    onnx_p = _probability_bound(side(u32 * (np.abs(raw) + np.abs(ds.mean)) / ds.std + 4 * u32 * np.abs(x), u32), u32)
    assert_within(got, want, (app_p + onnx_p)[:, None] * np.ones((1, 2)), "ONNX probabilities")
    # the script: float64 scaling and features, a float32 network, float64 probabilities
    path = tmp_path / "model.py"
    path.write_bytes(export.export_from_trainer(trainer, "python"))
    spec = importlib.util.spec_from_file_location("exported_features", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.INPUTS == list(keys)
    script_p = _probability_bound(side(2 * u64 * np.abs(x), u64), u64)
    assert_within(module.predict(raw), want, (app_p + script_p)[:, None] * np.ones((1, 2)), "script probabilities")
    # the bound tells a network on other features apart: the script with sin x2 in place of sin x1
    module.input_features = lambda scaled: features.apply(("x1_sq", "x2_sq", "x1_x2", "sin_x2"), scaled)
    with pytest.raises(AssertionError, match="beyond the derived bound"):
        assert_within(module.predict(raw), want, (app_p + script_p)[:, None] * np.ones((1, 2)))


# --- command line ------------------------------------------------------------------------------------------------
def test_inputs_flag_reaches_the_config_and_the_json_result(capsys):
    assert main(["train", "--dataset", "circles", "--n", "100", "--hidden", "", "--inputs", "x1_sq,x2_sq",
                 "--epochs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["inputs"] == ["x1_sq", "x2_sq"] and result["config"]["model"]["inputs"] == ["x1_sq", "x2_sq"]
    assert main(["train", "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["inputs"] == ["x1", "x2"]


def test_inputs_help_lists_every_feature(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--inputs" in text
    for key, feature in FEATURES.items():
        assert key in text and feature.label in text, key


def test_a_bad_input_key_on_the_command_line_is_one_clear_line(capsys):
    assert main(["train", "--inputs", "x1,cos_x1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: inputs must be keys from x1, x2, x1_sq, x2_sq, x1_x2, sin_x1, sin_x2, got 'cos_x1'"


# --- sidebar ------------------------------------------------------------------------------------------------------
def _sidebar_script():
    import streamlit as st

    from ui.controls.sidebar import PLAYGROUND, toggle_input, training_sidebar
    st.button("add x1²", on_click=toggle_input, args=("pg", "x1_sq", True))
    st.button("drop x1", on_click=toggle_input, args=("pg", "x1", False))
    st.button("drop x2", on_click=toggle_input, args=("pg", "x2", False))
    cfg, message = training_sidebar(PLAYGROUND)
    st.text(",".join(cfg.model.inputs) if cfg else f"error: {message}")


def _app(query=None):
    from streamlit.testing.v1 import AppTest
    app = AppTest.from_function(_sidebar_script, default_timeout=60)
    app.query_params.update(query or {})
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.mark.slow
def test_sidebar_input_features_come_from_a_link_and_reach_the_config():
    app = _app({"pg.dataset": "circles", "pg.inputs": ["x1²", "x2²"]})
    widget = app.sidebar.multiselect(key="pg.inputs")
    assert widget.value == ["x1_sq", "x2_sq"] and widget.options == features.labels()
    assert app.text[0].value == "x1_sq,x2_sq"
    widget.select("sin_x1").run()
    assert app.text[0].value == "x1_sq,x2_sq,sin_x1"
    app.sidebar.multiselect(key="pg.inputs").set_value([]).run()
    assert app.text[0].value.startswith("error: inputs must name at least one feature")


@pytest.mark.slow
def test_toggle_input_changes_the_widget_from_a_callback():
    app = _app({"pg.dataset": "circles"})
    assert app.sidebar.multiselect(key="pg.inputs").value == ["x1", "x2"] and app.text[0].value == "x1,x2"
    app.button[0].click().run()
    assert app.sidebar.multiselect(key="pg.inputs").value == ["x1", "x2", "x1_sq"]
    assert app.text[0].value == "x1,x2,x1_sq" and not app.exception
    app.button[1].click().run()
    app.button[2].click().run()
    assert app.text[0].value == "x1_sq"
    app.button[2].click().run()  # x2 is already off
    assert app.text[0].value == "x1_sq"
    app.sidebar.multiselect(key="pg.inputs").select("x1_x2").run()  # the widget still takes the user's choice
    assert app.text[0].value == "x1_sq,x1_x2"


@pytest.mark.slow
def test_the_last_input_feature_stays_on_and_unknown_keys_are_refused():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from ui.controls.sidebar import toggle_input
        st.session_state["pg.inputs"] = ["x1_sq"]
        st.text(",".join(toggle_input("pg", "x1_sq", False)))
        try:
            toggle_input("pg", "cos_x1", True)
        except Exception as e:  # noqa: BLE001 - the message is the point
            st.text(str(e))

    app = AppTest.from_function(script, default_timeout=30).run()
    assert [t.value for t in app.text] == ["x1_sq", "input feature must be one of x1, x2, x1_sq, x2_sq, x1_x2, "
                                                    "sin_x1, sin_x2, got 'cos_x1'"]


@pytest.mark.slow
def test_a_bad_link_value_is_ignored_with_a_note_and_tables_show_no_control():
    app = _app({"pg.dataset": "circles", "pg.inputs": ["x1²", "x3"]})
    assert any("ignored pg.inputs=x1²,x3: must name one or more different input features" in w.value
               for w in app.sidebar.warning)
    assert app.text[0].value == "x1,x2"
    app = _app({"pg.dataset": "wine"})
    assert len(app.sidebar.multiselect) == 0 and app.text[0].value == "x1,x2"


def test_fit_config_and_widget_values_keep_the_inputs():
    from ui.controls.sidebar import IMAGES, PLAYGROUND, _link_problem, fit_config, widget_values
    cfg = make_cfg(dataset="circles", hidden=(), inputs=("x2_sq", "x1_sq"))
    fitted, notes = fit_config(PLAYGROUND, cfg)
    assert fitted.model.inputs == ("x2_sq", "x1_sq") and notes == []
    assert widget_values(PLAYGROUND, cfg)["pg.inputs"] == ["x2_sq", "x1_sq"]
    assert _link_problem(IMAGES, "inputs", "x1²") == "not a setting on this page"
