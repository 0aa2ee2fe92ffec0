"""Honest CLI numbers: early stopping reports the weights it keeps, seconds are training time, diagnostics,
every sidebar training setting as a flag, --save refused before training, auto's engine by step cost."""

import json
import subprocess
import sys

import numpy as np
import pytest

from nncore.inspect import metrics
from nncore.cli.main import main

REPO = __import__("pathlib").Path(__file__).resolve().parents[3]
HEAVY = ("torch", "sklearn", "optuna", "pandas")


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stopped_early(tmp_path_factory):
    """breast_cancer with patience 10 (stops well before its 1000 epochs), saved to a checkpoint."""
    path = tmp_path_factory.mktemp("ckpt") / "bc.safetensors"
    args = ["train", "--dataset", "breast_cancer", "--early-stopping", "10", "--save", str(path), "--json"]
    proc = subprocess.run([sys.executable, "-m", "nncore", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), path


@pytest.mark.slow
def test_early_stopping_json_reports_the_restored_weights(stopped_early):
    result, path = stopped_early
    assert result["status"] == "early_stopped"
    assert 1 <= result["best_epoch"] < result["epochs"] < 1000  # epochs = trained, best_epoch = kept
    assert f"best epoch {result['best_epoch']} of {result['epochs']}, weights restored" in result["message"]
    # Recompute from the saved (kept) weights: loss and accuracy are those, not the stop epoch's.
    from nncore.io.checkpoint import read_checkpoint_file, trainer_from_checkpoint
    trainer = trainer_from_checkpoint(read_checkpoint_file(path))
    ds = trainer.dataset
    # The per-class shares come from the same weights: weighted by class size they give test_acc.
    sizes = np.bincount(ds.y_test, minlength=ds.n_classes)
    shares = np.array([result["test_accuracy_per_class"][name] for name in ds.class_names])
    assert round(float(shares @ sizes)) == round(result["test_acc"] * len(ds.y_test))
    out = trainer.engine.forward(trainer.dataset.X_test)
    eps = np.finfo(np.float32).eps  # the network computes in float32
    assert metrics.data_loss(out, trainer.dataset.y_test, ds.task) == pytest.approx(result["test_loss"],
                                                                                    rel=64 * eps)
    assert metrics.accuracy(out, trainer.dataset.y_test, ds.task) == result["test_acc"]


def test_checkpoint_and_inspect_carry_the_kept_weights_metrics(stopped_early, capsys):
    result, path = stopped_early
    assert main(["inspect", str(path), "--json"]) == 0
    shown = _json(capsys)
    assert shown["epoch"] == result["epochs"] and shown["metrics"]["best_epoch"] == result["best_epoch"]
    for key in ("train_loss", "val_loss", "test_loss", "test_acc"):
        assert shown["metrics"][key] == result[key], key
    assert main(["inspect", str(path)]) == 0
    assert f"best epoch {result['best_epoch']} of {result['epochs']}, weights restored" in capsys.readouterr().out


def _early_stopped_trainer():
    from nncore.config import RunConfig, TrainConfig, defaults_for
    from nncore.train.trainer import Trainer
    base = defaults_for("breast_cancer")
    cfg = RunConfig(base.data, base.model, TrainConfig(**{**base.train.__dict__, "early_stopping": 10}))
    trainer = Trainer(cfg)
    snap = trainer.run(steps=10**6)
    assert snap.status == "early_stopped" and snap.best_epoch < snap.epoch
    assert snap.final("test_loss") != snap.last("test_loss")  # the case where the two differ
    return trainer, snap


@pytest.mark.slow
def test_status_line_and_compare_show_the_kept_weights():
    from ui.panels import compare as compare_panels, common as panels
    from ui.session import state
    trainer, snap = _early_stopped_trainer()
    line = panels.status_text(snap, trainer.engine_label)
    assert f"best epoch {snap.best_epoch} of {snap.epoch}, weights restored" in line
    assert f"test loss {snap.final('test_loss'):.4f}" in line
    assert f"test loss {snap.last('test_loss'):.4f}" not in line
    row = compare_panels.table_rows([state.RunRecord("run", "playground", snap)])[0]
    assert row["epochs"] == snap.epoch and row["best epoch"] == snap.best_epoch
    assert row["test loss"] == round(snap.final("test_loss"), 4)


@pytest.mark.slow
def test_min_delta_flag_ends_a_creeping_run(capsys):
    """wine, seed 2, patience 20, no regularization: the validation loss creeps down by tiny steps for
    hundreds of epochs."""
    args = ["train", "--dataset", "wine", "--seed", "2", "--early-stopping", "20", "--l2", "0", "--dropout", "0",
            "--lr", "0.01", "--json"]
    assert main([*args, "--min-delta", "0"]) == 0
    creeping = _json(capsys)
    assert main(args) == 0  # the default min_delta
    stopped = _json(capsys)
    assert creeping["epochs"] > 3 * stopped["epochs"]
    assert stopped["config"]["train"]["min_delta"] > 0 and stopped["status"] == "early_stopped"
    assert stopped["test_acc"] >= creeping["test_acc"] - 1 / 36  # at most one of wine's 36 test samples


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_numpy_engine_run_imports_no_torch_and_seconds_is_training_time():
    proc = _python("import json, sys\nfrom nncore.cli.main import main\n"
                   "main(['train', '--dataset', 'moons', '--engine', 'numpy', '--epochs', '5', '--json'])\n"
                   "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')))")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    result, torch_modules = json.loads(lines[-2]), json.loads(lines[-1])
    assert torch_modules == []
    assert 0 < result["seconds"] <= result["wall_seconds"]


@pytest.mark.slow
def test_help_imports_no_heavy_library():
    proc = _python("import sys\nfrom nncore.cli.main import main\ntry:\n    main(['train', '--help'])\n"
                   "except SystemExit:\n    pass\n"
                   f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_json_and_text_carry_the_diagnostics(capsys):
    args = ["train", "--dataset", "spirals", "--optimizer", "sgd", "--lr", "10", "--epochs", "60"]
    assert main([*args, "--json"]) == 0
    result = _json(capsys)
    found = {d["id"]: d for d in result["diagnostics"]}
    assert "dead_relu" in found and found["dead_relu"]["severity"] == "problem"
    for d in result["diagnostics"]:
        assert set(d) == {"id", "severity", "message"} and "\n" not in d["message"] and d["message"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"problem: {found['dead_relu']['message']}" in text.splitlines()


def test_every_sidebar_training_setting_has_a_flag(capsys):
    flags = {"--step-size": ("train", "step_size", 7), "--gamma": ("train", "gamma", 0.7),
             "--beta1": ("train", "beta1", 0.8), "--beta2": ("train", "beta2", 0.99),
             "--weight-decay": ("train", "weight_decay", 0.05), "--min-delta": ("train", "min_delta", 0.002),
             "--val-fraction": ("data", "val_fraction", 0.25), "--test-fraction": ("data", "test_fraction", 0.15)}
    args = [str(x) for flag, (_, _, value) in flags.items() for x in (flag, value)]
    assert main(["train", "--epochs", "1", "--schedule", "step", "--no-restore-best", *args, "--json"]) == 0
    config = _json(capsys)["config"]
    for flag, (section, key, value) in flags.items():
        assert config[section][key] == value, flag
    assert config["train"]["restore_best"] is False and config["train"]["schedule"] == "step"
    assert main(["train", "--epochs", "1", "--restore-best", "--json"]) == 0
    assert _json(capsys)["config"]["train"]["restore_best"] is True


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_save_to_an_unwritable_path_is_refused_before_training(where, tmp_path, capsys):
    path = tmp_path / "nowhere" / "x.safetensors" if where == "missing folder" else tmp_path
    assert main(["train", "--epochs", "50", "--save", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained, nothing printed
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "--save" in lines[0]


def test_save_to_an_existing_file_keeps_it_until_replaced(tmp_path, capsys):
    path = tmp_path / "old.safetensors"
    path.write_bytes(b"old")
    from nncore.cli import train as cli
    cli.check_writable(str(path))
    assert path.read_bytes() == b"old"
    cli.check_writable(str(tmp_path / "new.safetensors"))
    assert not (tmp_path / "new.safetensors").exists()  # the check leaves nothing behind


def test_a_failed_write_after_training_still_prints_the_result(tmp_path, capsys, monkeypatch):
    import errno

    from nncore.io import checkpoint

    def full_disk(trainer, path):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(checkpoint, "save_checkpoint_file", full_disk)
    path = tmp_path / "x.safetensors"
    assert main(["train", "--epochs", "3", "--save", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["epochs"] == 3 and result["checkpoint"] is None and result["test_acc"] is not None
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0] and str(path) in lines[0]


def test_auto_engine_follows_the_step_cost_model():
    from nncore.config import IMAGE_DEFAULTS, ModelConfig
    from nncore.engines import resolve_engine, step_seconds
    mlp = ModelConfig()
    digits = [64, *IMAGE_DEFAULTS.model.hidden, 10]  # the digits default: 300,032 weights
    assert resolve_engine("auto", mlp, digits, batch_size=IMAGE_DEFAULTS.train.batch_size) == "numpy"
    # FashionMNIST's 784-512-512-10 at batch 256: 223k weights per layer, under the ~350k where torch's
    # cheaper per-weight update starts to outweigh its per-layer dispatch; measured 1.2-1.8x faster on numpy.
    assert resolve_engine("auto", mlp, [784, 512, 512, 10], batch_size=256) == "numpy"
    assert resolve_engine("auto", mlp, [784, 2048, 2048, 10], batch_size=256) == "torch"
    assert resolve_engine("auto", ModelConfig(kind="cnn"), [1568, 128, 10]) == "torch"
    # the choice is the cheaper estimate, not a weight-count cliff: more layers of the same weights favour numpy
    wide, deep = [2, 1500, 1500, 2], [2, *[530] * 9, 2]
    assert resolve_engine("auto", mlp, wide) == "torch" and resolve_engine("auto", mlp, deep) == "numpy"
    assert step_seconds("torch", wide, 32) < step_seconds("numpy", wide, 32)


@pytest.mark.slow
def test_bench_auto_measures_both_engines_beside_the_choice():
    from nncore.train import bench
    (row,) = bench.auto_benchmark(seconds=0.3, shapes=[([2, 8, 8, 2], 32)])
    assert row["auto"] == "numpy" and row["weights"] == 2 * 8 + 8 * 8 + 8 * 2
    # per-step dispatch dominates this network: torch's autograd costs several times NumPy's step (GUIDE 4)
    assert row["faster"] == "numpy" and row["measured_torch_over_numpy"] > 1.5
