"""Model export: the ONNX model (run by onnxruntime) and the standalone PyTorch script give the app's own
predictions from raw features, for both engines, batch norm, dropout, a CNN and every activation."""

import csv
import importlib.util
import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from nncore.io import export
from nncore.inspect import metrics
from nncore.io.checkpoint import save_checkpoint_file
from nncore.cli.main import main
from nncore.errors import ConfigError
from nncore.registry import ACTIVATIONS
from nncore.train.trainer import Trainer
from tests.helpers import assert_within, gamma, make_cfg, mlp_forward_bound, train, unit_roundoff

TOL = 1e-5

# Small trained networks covering the tasks, both engines, batch norm + dropout, float64 and a CNN.
MODELS = {
    "multiclass-torch-bn-dropout": dict(dataset="spirals", classes=3, n_points=150, hidden=(8, 8), batch_norm=True,
                                        dropout=0.2, engine="torch", epochs=4),
    "binary-numpy-bn-dropout": dict(dataset="moons", n_points=150, hidden=(6,), activation="tanh", batch_norm=True,
                                    dropout=0.1, engine="numpy", epochs=4),
    "regression-float64-gelu": dict(dataset="ripple", n_points=150, hidden=(8,), activation="gelu", dtype="float64",
                                    engine="torch", epochs=3),
    "cnn-digits": dict(dataset="digits", limit=300, kind="cnn", channels=(4, 8), hidden=(16,), batch_norm=True,
                       dropout=0.1, epochs=1),
}


@pytest.fixture(scope="module")
def trained():
    return {name: train(**settings)[0] for name, settings in MODELS.items()}


def _expected(trainer, rows=slice(None)):
    """What the app shows: engine outputs on scaled inputs, turned into probabilities / values."""
    ds = trainer.dataset
    return metrics.probabilities(trainer.engine.forward(ds.X_test[rows]), ds.task)


def _raw_test(trainer):
    return trainer.dataset.unscale(trainer.dataset.X_test)


def _load_script(path):
    spec = importlib.util.spec_from_file_location(f"exported_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_model_gives_the_app_predictions_from_raw_features_at_any_batch_size(name, trained, tmp_path):
    trainer = trained[name]
    ds = trainer.dataset
    if name.startswith("binary"):  # the numpy engine's model
        assert trainer.engine.name == "numpy"
    if name.startswith("multiclass"):
        data = export.export_from_trainer(trainer, "onnx")
    else:
        data = export.export_onnx(trainer.cfg, trainer.engine.get_params(), ds, tmp_path / "m.onnx")
        assert (tmp_path / "m.onnx").read_bytes() == data
    session = ort.InferenceSession(data)
    [inp], [out] = session.get_inputs(), session.get_outputs()
    assert inp.name == "features" and isinstance(inp.shape[0], str) and inp.shape[1] == ds.n_features
    raw = _raw_test(trainer).astype(np.float32)
    full = session.run(None, {"features": raw})[0]
    few = session.run(None, {"features": raw[:3]})[0]
    want = _expected(trainer)
    assert full.shape == want.shape and few.shape == want[:3].shape
    np.testing.assert_allclose(full, want, rtol=0, atol=TOL)
    np.testing.assert_allclose(few, want[:3], rtol=0, atol=TOL)
    if ds.task == "regression":
        assert out.name == "prediction"
    else:
        assert out.name == "probabilities"
        # Softmax normalizes whatever its exps are: the sum of K probabilities then carries only the roundings
        # of onnxruntime's sum of exps (K - 1), its division (by a reciprocal: 2) and our float32 row sum
        # (K - 1), 2K factors (1 + delta) in all.
        K = full.shape[1]
        assert_within(full.sum(axis=1), np.ones(len(full)), gamma(np.float32, 2 * K), "probability sums")
        assert full.shape[1] == max(ds.n_outputs, 2)
    props = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    assert json.loads(props["class_names"]) == list(ds.class_names) and props["task"] == ds.task
    assert json.loads(props["config"]) == trainer.cfg.to_dict()


@pytest.mark.slow
def test_python_script_runs_standalone_on_a_csv_and_prints_the_app_predictions(trained, tmp_path):
    trainer = trained["multiclass-torch-bn-dropout"]
    ds = trainer.dataset
    script = tmp_path / "model.py"
    script.write_text(export.export_python(trainer.cfg, trainer.engine.get_params(), ds))
    raw = _raw_test(trainer)
    features = tmp_path / "x.csv"
    # columns in another order than the model's, with a header: the script picks them by name
    np.savetxt(features, raw[:, ::-1], delimiter=",", header=",".join(ds.feature_names[::-1]), comments="")
    proc = subprocess.run([sys.executable, str(script), str(features)], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["predicted", *ds.class_names] and len(rows) == 1 + len(raw)
    probs = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    want = _expected(trainer)
    np.testing.assert_allclose(probs, want, rtol=0, atol=TOL)
    assert [row[0] for row in rows[1:]] == [ds.class_names[k] for k in want.argmax(axis=1)]


@pytest.mark.parametrize("name", list(MODELS))
def test_python_script_predict_matches_the_app(name, trained, tmp_path):
    trainer = trained[name]
    path = tmp_path / "model.py"
    path.write_bytes(export.export_from_trainer(trainer, "python"))
    module = _load_script(path)
    got = module.predict(_raw_test(trainer))
    np.testing.assert_allclose(got, _expected(trainer), rtol=0, atol=TOL)
    np.testing.assert_allclose(module.predict(_raw_test(trainer)[:1]), _expected(trainer, slice(0, 1)), rtol=0,
                               atol=TOL)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_python_script_reproduces_every_activation(activation, tmp_path):
    trainer = Trainer(make_cfg(dataset="blobs", classes=3, n_points=60, hidden=(5, 4), activation=activation,
                               init="xavier_normal", batch_norm=activation == "gelu"))
    path = tmp_path / "model.py"
    path.write_text(export.export_python(trainer.cfg, trainer.engine.get_params(), trainer.dataset))
    got = _load_script(path).predict(_raw_test(trainer))
    np.testing.assert_allclose(got, _expected(trainer), rtol=0, atol=TOL)


def test_export_refuses_params_of_another_network_and_unknown_formats(trained):
    trainer = trained["multiclass-torch-bn-dropout"]
    other = Trainer(make_cfg(dataset="spirals", classes=3, n_points=150, hidden=(4,))).engine.get_params()
    with pytest.raises(ConfigError, match="params must match the network"):
        export.export_python(trainer.cfg, other, trainer.dataset)
    with pytest.raises(ConfigError, match="format must be one of onnx, python"):
        export.export_from_trainer(trainer, "pickle")
    assert set(export.FILES) == set(export.EXPORT_FORMATS)


def test_cli_exports_a_checkpoint(trained, tmp_path, capsys):
    trainer = trained["binary-numpy-bn-dropout"]
    ckpt = tmp_path / "run.safetensors"
    save_checkpoint_file(trainer, ckpt)
    out = tmp_path / "exported.py"
    assert main(["export", str(ckpt), "--format", "python", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    np.testing.assert_allclose(_load_script(out).predict(_raw_test(trainer)), _expected(trainer), rtol=0, atol=TOL)


@pytest.mark.parametrize("content", [None, b"not a checkpoint at all", b"\x80\x04K\x01."])
def test_cli_export_of_a_bad_file_exits_2_with_one_line(content, tmp_path, capsys):
    path = tmp_path / "bad.safetensors"
    if content is not None:
        path.write_bytes(content)
    assert main(["export", str(path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_exports_of_a_table_regression_predict_in_the_targets_units(tmp_path):
    """Targets standardized for training (a price table): the exported model and script answer in dollars."""
    import pandas as pd

    from nncore.data.tabular import table_to_dataset
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "price": 200_000 + 50_000 * x[:, 0]})
    cfg = make_cfg(dataset="csv", hidden=(8,), epochs=3)
    trainer = Trainer(cfg, table_to_dataset(df, "price", ["a", "b"], cfg.data))
    while trainer.running:
        trainer.run(steps=5000)
    ds = trainer.dataset
    assert ds.y_std > 1000
    want = ds.unscale_targets(_expected(trainer))  # the app's predictions in dollars
    session = ort.InferenceSession(export.export_from_trainer(trainer, "onnx"))
    raw = _raw_test(trainer)
    got = session.run(None, {"features": raw.astype(np.float32)})[0]
    # Each side is bounded against the exact network on x = (raw - mean) / std: the float32 forward pass
    # (mlp_forward_bound), its inputs' scaling, and the output's unscaling z * y_std + y_mean.
    u32, u64 = unit_roundoff(np.float32), unit_roundoff(np.float64)
    params, act, s, m = trainer.engine.get_params(), trainer.cfg.model.activation, ds.y_std, abs(ds.y_mean)
    x = (raw - ds.mean) / ds.std

    def dollars_bound(input_error, unscale_u):
        z, err = mlp_forward_bound(params, x, np.float32, act, input_error)
        z = np.abs(z[:, 0])
        return s * err[:, 0] + unscale_u * (2 * z * s + m + (z * s + m))  # 2 roundings of z * y_std, 2 of + y_mean

    # the app: X_test = x up to raw's float64 round trip (raw = X_test * std + mean); unscaled in float64
    app = dollars_bound(u64 * (2 * np.abs(ds.X_test) + np.abs(raw) / ds.std), u64)
    # ONNX: raw, mean and std rounded to float32, then a subtraction and a division (or a reciprocal and a
    # multiplication); the unscaling in float32
    onnx_side = dollars_bound(u32 * (np.abs(raw) + np.abs(ds.mean)) / ds.std + 4 * u32 * np.abs(x), u32)
    assert_within(got, want, app + onnx_side, "ONNX predictions in dollars")
    path = tmp_path / "model.py"
    path.write_bytes(export.export_from_trainer(trainer, "python"))
    # the script: the app's float64 scaling (a subtraction and a division), float32 network, float64 unscaling
    script = dollars_bound(2 * u64 * np.abs(x), u64)
    assert_within(_load_script(path).predict(raw), want, app + script, "the script's predictions in dollars")


@pytest.mark.slow
def test_exports_of_a_table_with_a_categorical_column_take_the_raw_columns(tmp_path):
    """ONNX: inputs ``numbers`` and ``categories`` one-hot encoded in the graph; the script: ``encode`` of raw
    cells, and the command line on the raw table. Both give the app's probabilities, an unseen category too."""
    from nncore.data.columns import encode
    from nncore.data.tabular import read_csv_table, table_to_dataset
    rng = np.random.default_rng(0)
    lines = ["id,price,shop,y"] + [f'r{i},"{int(rng.integers(500, 3000)):,}",{("north", "south", "east")[i % 3]},'
                                   f'{"yes" if i % 3 == 0 else "no"}' for i in range(90)]
    df = read_csv_table(("\n".join(lines) + "\n").encode())
    cfg = make_cfg(dataset="csv", hidden=(6,), epochs=3)
    trainer = Trainer(cfg, table_to_dataset(df, "y", None, cfg.data))
    trainer.run(steps=20)
    ds = trainer.dataset
    raw = df[["price", "shop"]].copy()
    raw.loc[0, "shop"] = "west"  # not seen in training: no category
    want = metrics.probabilities(trainer.engine.forward(ds.scale(encode(raw, ds.encoding))), ds.task)
    assert want[0].tolist() != want[3].tolist()  # row 0 ("west") differs from a "north" row
    data = export.export_from_trainer(trainer, "onnx")
    session = ort.InferenceSession(data)
    assert [(i.name, i.type) for i in session.get_inputs()] == [("numbers", "tensor(float)"),
                                                               ("categories", "tensor(string)")]
    props = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    assert json.loads(props["numeric_columns"]) == ["price"] and json.loads(props["categorical_columns"]) == ["shop"]
    got = session.run(None, {"numbers": raw[["price"]].to_numpy(np.float32),
                             "categories": raw[["shop"]].to_numpy(dtype=object).astype(str)})[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    path = tmp_path / "model.py"
    path.write_bytes(export.export_from_trainer(trainer, "python"))
    module = _load_script(path)
    np.testing.assert_allclose(module.predict(module.encode(raw.to_numpy().tolist())), want, rtol=0, atol=TOL)
    table = tmp_path / "rows.csv"
    table.write_text("shop,id,price\n" + "".join(f'{s},x,"{p:,.0f}"\n' for p, s in raw.itertuples(index=False)))
    proc = subprocess.run([sys.executable, str(path), str(table)], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    probs = np.array([[float(v) for v in row[1:]] for row in list(csv.reader(io.StringIO(proc.stdout)))[1:]])
    np.testing.assert_allclose(probs, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("name", ["multiclass-torch-bn-dropout", "cnn-digits"])
def test_the_export_and_the_torch_engine_load_parameters_through_one_loader(name, trained):
    """Distinct values in every tensor (weights, biases, batch norm's scale, shift and running statistics):
    a layer's parameters put into another layer's module, or a batch norm skipped, changes the outputs."""
    import torch

    from nncore.engines import make_engine
    from nncore.engines.torch_engine import read_params

    trainer = trained[name]
    rng = np.random.default_rng(1)
    params = [{k: rng.normal(size=np.shape(v)) for k, v in layer.items()} for layer in trainer.engine.get_params()]
    for layer in params:
        if "running_var" in layer:
            layer["running_var"] = 0.5 + np.abs(layer["running_var"])  # a variance: positive
    cfg = trainer.cfg.replace(model=replace(trainer.cfg.model, dtype="float32"),
                              train=replace(trainer.cfg.train, engine="torch"))
    engine = make_engine(cfg, trainer.dataset, params=params)
    exported = export.torch_module(cfg, params, trainer.dataset)
    for got in (engine.get_params(), read_params(exported.net)):
        assert [set(layer) for layer in got] == [set(layer) for layer in params]
        for layer, want in zip(got, params):  # both hold the float32 rounding of each value
            assert all(np.array_equal(layer[k], want[k].astype(np.float32)) for k in want)
    X = torch.as_tensor(trainer.dataset.X_test[:64], dtype=torch.float32)
    engine.net.eval()
    with torch.no_grad():
        out = exported.net(X)
        assert torch.isfinite(out).all() and torch.equal(out, engine.net(X))
