"""Checkpoints: exact round trips, refusal of every file that is not ours, and never running a file's code."""

import ast
import io
import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load as st_load, save as st_save

import nncore.io.checkpoint as checkpoint_module
from nncore.io.checkpoint import (Checkpoint, check_compatible, load_checkpoint, save_checkpoint,
                               save_checkpoint_file, trainer_from_checkpoint)
from nncore.cli.main import main
from nncore.config import DataConfig, TrainConfig
from nncore.data import make_dataset
from nncore.data.tabular import read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.limits import Limits
from nncore.train.trainer import Trainer
from tests.helpers import assert_within, gamma, make_cfg


def _rescaling_bound(values, mean):
    """Values v rescaled to another scale and back in float64, ((v - mean) / std) * std + mean: four
    roundings, off by at most gamma_4 (|v - mean| + |v|)."""
    return gamma(np.float64, 4) * (np.abs(values - mean) + np.abs(values))

REPO = Path(__file__).resolve().parents[3]


def trained(epochs=4, **settings) -> Trainer:
    settings = {"dataset": "spirals", "n_points": 200, "hidden": (8, 8), **settings}
    trainer = Trainer(make_cfg(epochs=epochs, **settings))
    while trainer.running:
        trainer.run(steps=1000)
    return trainer


@pytest.fixture(scope="module")
def spirals():
    trainer = trained()
    return trainer, save_checkpoint(trainer)


def refused(data, **kwargs) -> str:
    with pytest.raises(ConfigError) as e:
        load_checkpoint(data, **kwargs)
    assert "\n" not in str(e.value)
    return str(e.value)


def metadata_of(data: bytes) -> dict:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])["__metadata__"]


def rewrite(data: bytes, tensors=None, **metadata_changes) -> bytes:
    """The checkpoint with some tensors and metadata entries replaced (None removes an entry)."""
    tensors = dict(st_load(data)) if tensors is None else tensors
    metadata = {**metadata_of(data), **metadata_changes}
    return st_save(tensors, metadata={k: v for k, v in metadata.items() if v is not None})


# --- round trips ------------------------------------------------------------------------------------------

def test_round_trip_keeps_weights_config_metrics_and_data(spirals):
    trainer, data = spirals
    ckpt = load_checkpoint(data)
    assert isinstance(ckpt, Checkpoint)
    assert ckpt.config == trainer.cfg and ckpt.step == trainer.step and ckpt.epoch == trainer.epoch == 4
    original = trainer.engine.get_params()
    assert len(ckpt.params) == len(original) == 3
    for mine, theirs in zip(ckpt.params, original):
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert mine[key].dtype == np.float64 and np.array_equal(mine[key], theirs[key])
    snap = trainer.snapshot()
    for key in ("train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc", "lr"):
        assert ckpt.metrics[key] == snap.last(key)
    assert ckpt.metrics["status"] == "done" and ckpt.metrics["message"] == snap.message
    ds = trainer.dataset
    info = ckpt.signature
    assert (info.name, info.task, info.n_features, info.n_outputs, info.n_classes) == ("spirals", "binary", 2, 1, 2)
    assert info.class_names == ds.class_names and info.feature_names == ds.feature_names
    assert np.array_equal(info.mean, ds.mean) and np.array_equal(info.std, ds.std)
    assert ckpt.network_text == "2 → 8 → 8 → 1"


def test_tensor_names_and_metadata_are_plain(spirals):
    _, data = spirals
    names = set(st_load(data))
    assert names == {"layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b", "layers.2.W", "layers.2.b",
                     "dataset.mean", "dataset.std"}
    meta = metadata_of(data)
    assert meta["format"] == "nn-playground-checkpoint" and meta["format_version"] == "1"
    assert json.loads(meta["config"])["model"]["hidden"] == [8, 8]
    assert st_load(data)["layers.0.W"].dtype == np.float32  # stored in the network's own float type


def test_reloaded_trainer_predicts_exactly_like_the_original(spirals):
    trainer, data = spirals
    again = trainer_from_checkpoint(load_checkpoint(data))
    X = np.concatenate([trainer.dataset.X_test, trainer.dataset.X_val])
    assert np.array_equal(again.engine.forward(X), trainer.engine.forward(X))
    assert np.array_equal(again.dataset.X_test, trainer.dataset.X_test)  # regenerated from the config
    assert again.step == 0 and again.status == "ready"
    snap = again.run(steps=15)
    assert snap.step == 15 and np.isfinite(again.engine.forward(X)).all()


@pytest.mark.slow
@pytest.mark.parametrize("settings", [
    dict(batch_norm=True, activation="tanh", engine="numpy", dtype="float64"),
    dict(dataset="ripple", hidden=(6,), engine="torch"),
    dict(dataset="blobs", classes=4, hidden=(5, 7, 3), batch_norm=True, engine="torch"),
    dict(dataset="digits", limit=200, kind="cnn", channels=(4, 8), hidden=(16,), engine="torch"),
])
def test_round_trip_per_architecture(settings):
    trainer = trained(epochs=2, **settings)
    ckpt = load_checkpoint(save_checkpoint(trainer))
    for mine, theirs in zip(ckpt.params, trainer.engine.get_params()):
        assert mine.keys() == theirs.keys()
        assert all(np.array_equal(mine[k], theirs[k]) for k in mine)
    again = trainer_from_checkpoint(ckpt)
    X = trainer.dataset.X_val
    assert np.array_equal(again.engine.forward(X), trainer.engine.forward(X))
    assert ckpt.signature.n_outputs == trainer.dataset.n_outputs
    assert ckpt.signature.image_shape == trainer.dataset.image_shape


def test_a_cnn_checkpoint_names_its_layers():
    trainer = trained(epochs=1, dataset="digits", limit=100, kind="cnn", channels=(2, 3), hidden=(5,))
    ckpt = load_checkpoint(save_checkpoint(trainer))
    assert ckpt.network_text == "8×8 → conv 2 → conv 3 → 5 → 10"
    assert [p["W"].shape for p in ckpt.params] == [(2, 1, 3, 3), (3, 2, 3, 3), (5, 12), (10, 5)]
    mlp = make_cfg(dataset="digits", limit=100, hidden=(5,))
    with pytest.raises(ConfigError, match="this checkpoint is for 8×8 → conv 2 → conv 3 → 5 → 10 \\(digits\\); "
                                          "the current network is 64 → 5 → 10"):
        check_compatible(ckpt, mlp, make_dataset(mlp.data))


def test_save_to_a_file(spirals, tmp_path):
    trainer, data = spirals
    path = tmp_path / "model.safetensors"
    save_checkpoint_file(trainer, path)
    saved, expected = load_checkpoint(path.read_bytes()), load_checkpoint(data)
    assert saved.config == expected.config and saved.metrics == expected.metrics and saved.step == expected.step
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(saved.params, expected.params) for k in a)


def test_divergence_after_loading_falls_back_to_the_loaded_weights():
    settings = dict(dataset="moons", optimizer="sgd", learning_rate=1e-3, hidden=(32, 32, 32), init="normal",
                    activation="linear", standardize=False, noise=0.0, n_points=200, batch_size=2)
    ckpt = load_checkpoint(save_checkpoint(trained(epochs=1, **settings)))
    again = trainer_from_checkpoint(ckpt)
    again.update_train(TrainConfig(optimizer="sgd", learning_rate=10.0, batch_size=2, epochs=50))
    snap = again.run(steps=500)
    assert snap.status == "diverged" and snap.epoch == 0
    for mine, theirs in zip(again.engine.get_params(), ckpt.params):
        assert all(np.allclose(mine[k], theirs[k]) for k in mine)


# --- compatibility ----------------------------------------------------------------------------------------

def test_a_different_network_is_named_with_both_shapes(spirals):
    _, data = spirals
    ckpt = load_checkpoint(data)
    cfg = make_cfg(hidden=(8,), n_points=200)
    with pytest.raises(ConfigError) as e:
        check_compatible(ckpt, cfg, make_dataset(cfg.data))
    assert str(e.value) == ("this checkpoint is for 2 → 8 → 8 → 1 (spirals); the current network is "
                            "2 → 8 → 1: load its settings first or pick a matching network")


@pytest.mark.parametrize("settings, needle", [
    (dict(activation="tanh"), "network uses activation relu; the current network uses activation tanh: load its "
                              "settings first or pick a matching network"),
    (dict(batch_norm=True), "network uses batch norm off; the current network uses batch norm on"),
    (dict(dataset="spirals", classes=3), "this checkpoint is for 2 → 8 → 8 → 1 (spirals); the current network "
                                         "is 2 → 8 → 8 → 3"),
    (dict(dataset="ripple"), "this checkpoint solves a binary task (spirals); the current data (ripple) is "
                             "regression"),
])
def test_mismatches_are_refused(spirals, settings, needle):
    _, data = spirals
    ckpt = load_checkpoint(data)
    cfg = make_cfg(**{"hidden": (8, 8), "n_points": 200, **settings})
    with pytest.raises(ConfigError) as e:
        check_compatible(ckpt, cfg, make_dataset(cfg.data))
    assert needle in str(e.value)


def test_same_shape_other_toy_set_is_allowed(spirals):
    _, data = spirals
    cfg = make_cfg(dataset="moons", hidden=(8, 8), learning_rate=0.5)
    check_compatible(load_checkpoint(data), cfg, make_dataset(cfg.data))


def _table(seed):
    rng = np.random.default_rng(0)
    rows = ["p,q,r,label"] + [f"{a:.3f},{b:.3f},{c:.3f},{'hi' if a - b > 0 else 'lo'}"
                              for a, b, c in rng.normal(size=(120, 3)) * [1, 2, 50] + [0, 0, 100]]
    df = read_csv_table("\n".join(rows).encode(), Limits())
    return df, table_to_dataset(df, "label", None, DataConfig(seed=seed), limits=Limits(), name="data.csv")


def test_uploaded_tables_need_their_data_and_are_rescaled_like_in_training():
    df, ds = _table(seed=0)
    trainer = Trainer(make_cfg(hidden=(6,), epochs=3), ds)
    trainer.run(steps=100)
    ckpt = load_checkpoint(save_checkpoint(trainer))
    with pytest.raises(ConfigError, match="trained on 'data.csv' \\(uploaded data\\): load the same table"):
        trainer_from_checkpoint(ckpt)
    _, other_split = _table(seed=5)  # same rows, another split: other scaling statistics
    assert not np.array_equal(other_split.mean, ds.mean)
    again = trainer_from_checkpoint(ckpt, other_split)
    raw = df[["p", "q", "r"]].to_numpy(float)
    # the checkpoint's exact mean/std and weights on the same engine: the same arithmetic, the same bits
    np.testing.assert_array_equal(again.engine.forward(again.dataset.scale(raw)),
                                  trainer.engine.forward(ds.scale(raw)))
    theirs = other_split.unscale(other_split.X_train)
    assert_within(again.dataset.unscale(again.dataset.X_train), theirs, _rescaling_bound(theirs, ds.mean),
                  "raw training rows")


def test_tables_with_other_columns_are_refused():
    df, ds = _table(seed=0)
    ckpt = load_checkpoint(save_checkpoint(Trainer(make_cfg(hidden=(6,), epochs=1), ds)))
    renamed = table_to_dataset(df.rename(columns={"r": "s"}), "label", None, DataConfig(), limits=Limits())
    with pytest.raises(ConfigError, match="trained on the features p, q, r; the current data has p, q, s"):
        trainer_from_checkpoint(ckpt, renamed)


# --- files that are not ours, and never running their code --------------------------------------------------

class Exploit:
    """Pickles into a call of exec that writes ``marker``: what a malicious 'model file' does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def payloads(marker) -> dict[str, bytes]:
    import torch
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save({"layers.0.W": Exploit(marker)}, zipped)
    torch.save({"layers.0.W": Exploit(marker)}, legacy, _use_new_zipfile_serialization=False)
    return {"pickle": pickle.dumps(Exploit(marker)), "pickle protocol 2": pickle.dumps(Exploit(marker), 2),
            "torch.save zip": zipped.getvalue(), "torch.save legacy": legacy.getvalue()}


def test_the_payloads_really_run_code_when_unpickled(tmp_path):
    """Control: the files below are live exploits, so refusing them without running them means something."""
    import torch
    for kind, data in payloads(tmp_path / "control").items():
        marker = tmp_path / "control"
        if kind.startswith("torch"):
            torch.load(io.BytesIO(data), weights_only=False)
        else:
            pickle.loads(data)
        assert marker.read_text() == "pwned", kind
        marker.unlink()


def test_malicious_pickles_are_refused_and_never_run(tmp_path, monkeypatch):
    import torch
    calls = []
    for module, name in ((pickle, "loads"), (pickle, "load"), (pickle, "Unpickler"), (torch, "load")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    marker = tmp_path / "marker"
    for kind, data in payloads(marker).items():
        message = refused(data)
        assert message.startswith("not a playground checkpoint: "), kind
        assert "can run code" in message, kind
    assert not marker.exists() and calls == []


def test_the_checkpoint_module_never_unpickles():
    tree = ast.parse(Path(checkpoint_module.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert not imported & {"pickle", "torch", "dill", "joblib", "marshal", "shelve"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"pickle", "torch", "Unpickler"}


@pytest.mark.slow
def test_cli_inspect_refuses_a_malicious_file_in_one_line(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "model.pt"
    path.write_bytes(payloads(marker)["torch.save zip"])
    proc = subprocess.run([sys.executable, "-m", "nncore", "inspect", str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: not a playground checkpoint: this is a zip archive")
    assert proc.stderr.count("\n") == 1 and not marker.exists()


@pytest.mark.parametrize("data, needle", [
    (b"", "too short"),
    (b"\x01\x02", "too short"),
    (b"hello world, this is text", "not a valid safetensors file"),
    (b"a,b,label\n1,2,x\n", "not a valid safetensors file"),
    (np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not a valid safetensors file"),
    (struct.pack("<Q", 2**40) + b"{}", "not a valid safetensors file"),
    (struct.pack("<Q", 2) + b"{}", "without playground metadata"),
])
def test_foreign_bytes_are_refused(data, needle):
    message = refused(data)
    assert message.startswith("not a playground checkpoint") and needle in message


def test_truncated_and_corrupted_checkpoints_are_refused(spirals):
    _, data = spirals
    for cut in (7, 8, 40, len(data) // 2, len(data) - 1):
        assert refused(data[:cut]).startswith("not a playground checkpoint"), cut
    flipped = bytearray(data)
    flipped[10] ^= 0xFF  # inside the JSON header
    assert refused(bytes(flipped)).startswith("not a playground checkpoint")


def test_another_programs_safetensors_file_is_refused():
    data = st_save({"weight": np.zeros((2, 2), dtype=np.float32)}, metadata={"format": "pt"})
    assert "without playground metadata" in refused(data)


def test_other_format_versions_are_refused(spirals):
    _, data = spirals
    msg = refused(rewrite(data, format_version="2"))
    assert msg == ("checkpoint format version '2' is not supported (this version reads 1): save it again with "
                   "this version of the playground")


def test_missing_extra_misshapen_and_non_finite_tensors(spirals):
    _, data = spirals
    tensors = dict(st_load(data))
    without = {k: v for k, v in tensors.items() if k != "layers.1.b"}
    assert "missing tensor 'layers.1.b' of its network 2 → 8 → 8 → 1" in refused(rewrite(data, without))
    extra = {**tensors, "layers.3.W": np.zeros((1, 1), np.float32)}
    assert "tensors this network does not use: layers.3.W" in refused(rewrite(data, extra))
    misshapen = {**tensors, "layers.1.W": np.zeros((8, 7), np.float32)}
    assert "'layers.1.W' has shape [8, 7]" in refused(rewrite(data, misshapen))
    ints = {**tensors, "layers.0.b": np.zeros(8, np.int64)}
    assert "'layers.0.b' has shape [8] (int64)" in refused(rewrite(data, ints))
    bad = tensors["layers.2.W"].copy()
    bad[0, 0] = np.nan
    assert "'layers.2.W' holds NaN or infinite values" in refused(rewrite(data, {**tensors, "layers.2.W": bad}))
    no_std = {k: v for k, v in tensors.items() if k != "dataset.std"}
    assert "'dataset.std' is missing or damaged" in refused(rewrite(data, no_std))


def test_damaged_metadata_is_refused(spirals):
    _, data = spirals
    config = json.loads(metadata_of(data)["config"])
    config["train"]["learning_rate"] = -1
    msg = refused(rewrite(data, config=json.dumps(config)))
    assert msg == "checkpoint config is not valid here: learning_rate must be > 0, got -1"
    assert "'dataset' is not valid JSON" in refused(rewrite(data, dataset="{oops"))
    assert "lacks 'metrics'" in refused(rewrite(data, metrics=None))
    assert "valid step and epoch" in refused(rewrite(data, step="many"))
    info = json.loads(metadata_of(data)["dataset"])
    info["n_outputs"] = 3
    assert "description is inconsistent" in refused(rewrite(data, dataset=json.dumps(info)))
    assert "'config' is not valid JSON" in refused(rewrite(data, config="[" * 100_000))


def test_a_huge_declared_network_is_refused_without_allocating_it(spirals):
    _, data = spirals
    config = json.loads(metadata_of(data)["config"])
    config["model"]["hidden"] = [4096] * 16
    assert "too small for its network" in refused(rewrite(data, config=json.dumps(config)))


def test_files_over_the_upload_limit_are_refused(spirals):
    _, data = spirals
    limit_mb = (len(data) - 1) / 2**20
    assert "NNPLAY_MAX_UPLOAD_MB" in refused(data, limits=Limits(max_upload_mb=limit_mb))
    load_checkpoint(data, limits=Limits(max_upload_mb=len(data) / 2**20))


def test_only_bytes_are_accepted(spirals):
    assert "expected the file's bytes" in refused("layers.0.W")


# --- command line -------------------------------------------------------------------------------------------

def test_train_save_then_inspect(tmp_path, capsys):
    path = tmp_path / "moons.safetensors"
    assert main(["train", "--dataset", "moons", "--n", "100", "--epochs", "3", "--hidden", "4",
                 "--save", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["checkpoint"] == str(path)
    ckpt = load_checkpoint(path.read_bytes())
    assert ckpt.epoch == 3 and ckpt.config.model.hidden == (4,) and ckpt.signature.name == "moons"
    assert ckpt.metrics["test_loss"] == pytest.approx(result["test_loss"])

    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "data:     moons (binary, 2 features → 1 output); classes: class 0, class 1" in text
    assert "network:  2 → 4 → 1, relu, batch norm off" in text and "epoch 3, step" in text
    assert f"test loss {result['test_loss']:.4f}" in text and "learning_rate=0.01" in text

    assert main(["inspect", str(path), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    shown = json.loads(lines[0])
    assert shown["config"] == ckpt.config.to_dict() and shown["epoch"] == 3 and shown["network"] == "2 → 4 → 1"
    assert shown["metrics"]["test_loss"] == pytest.approx(result["test_loss"])


def test_inspect_errors_are_one_line(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nothing.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and err.count("\n") == 1
    path = tmp_path / "notes.txt"
    path.write_text("just some notes")
    assert main(["inspect", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: not a playground checkpoint")


def test_a_table_regression_checkpoint_keeps_its_target_scaling_and_predicts_in_the_targets_units():
    import pandas as pd

    def prices(n):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n, 2))
        return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "price": 200_000 + 50_000 * x[:, 0]})

    cfg = make_cfg(dataset="csv", hidden=(8,), epochs=2)
    ds = table_to_dataset(prices(200), "price", ["a", "b"], cfg.data)
    trainer = Trainer(cfg, ds)
    while trainer.running:
        trainer.run(steps=5000)
    ck = load_checkpoint(save_checkpoint(trainer))
    assert (ck.signature.y_mean, ck.signature.y_std) == (ds.y_mean, ds.y_std)
    # the table with more rows: other training statistics; the loaded network keeps predicting dollars
    grown = table_to_dataset(prices(260), "price", ["a", "b"], cfg.data)
    assert grown.y_mean != ds.y_mean
    loaded = trainer_from_checkpoint(ck, grown)
    assert (loaded.dataset.y_mean, loaded.dataset.y_std) == (ds.y_mean, ds.y_std)
    raw = ds.unscale(ds.X_test)
    dollars = lambda t: t.dataset.unscale_targets(t.engine.forward(t.dataset.scale(raw)).reshape(-1))  # noqa: E731
    np.testing.assert_array_equal(dollars(loaded), dollars(trainer))  # same scaling, weights, arithmetic: same bits
    theirs = grown.targets("train")  # sorting moves no value further than the largest gap: the bound's maximum
    assert_within(np.sort(loaded.dataset.targets("train")), np.sort(theirs),
                  _rescaling_bound(theirs, ds.y_mean).max(), "training targets in dollars")


def test_a_regression_checkpoint_names_its_r2_and_older_files_that_called_it_acc_still_load():
    trainer = Trainer(make_cfg(dataset="ripple", hidden=(6,), epochs=2, engine="numpy"))
    while trainer.running:
        trainer.run(steps=5000)
    snap, data = trainer.snapshot(), save_checkpoint(trainer)
    ck = load_checkpoint(data)
    for split in ("train", "val", "test"):
        assert ck.metrics[f"{split}_r2"] == snap.last(f"{split}_r2") is not None
        assert ck.metrics[f"{split}_acc"] is None
    assert f"test r2 {snap.last('test_r2'):.4f}" in checkpoint_module.describe(ck)
    # a file written when the history keys *_acc held a regression's R²
    old = {k: v for k, v in json.loads(metadata_of(data)["metrics"]).items() if not k.endswith("_r2")}
    old.update({f"{s}_acc": snap.last(f"{s}_r2") for s in ("train", "val", "test")})
    before = load_checkpoint(rewrite(data, metrics=json.dumps(old)))
    assert {k: before.metrics[k] for k in ck.metrics} == ck.metrics
    # a classification file keeps its accuracy where it was
    spirals = load_checkpoint(save_checkpoint(trained()))
    assert spirals.metrics["test_acc"] is not None and spirals.metrics["test_r2"] is None
