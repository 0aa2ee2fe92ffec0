"""The command line: JSON result line, one-line errors with exit code 2, registries in --help."""

import json
import subprocess
import sys

import pytest

from nncore import registry
from nncore.cli.main import main
from nncore.data import DATASETS

REPO = __import__("pathlib").Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nncore", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
def test_train_json_last_line_has_the_promised_fields():
    proc = _run("train", "--dataset", "moons", "--n", "200", "--epochs", "15", "--hidden", "8,8", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("dataset", "engine", "epochs", "steps", "seconds", "train_loss", "val_loss", "test_loss",
                "train_acc", "val_acc", "test_acc", "diverged"):
        assert key in result, key
    # the default engine "auto" trains a network this small with NumPy (the faster engine for it)
    assert result["dataset"] == "moons" and result["engine"] == "numpy"
    assert result["epochs"] == 15 and result["steps"] == 15 * 4  # 120 training points / batch 32 → 4 steps
    assert result["diverged"] is False and 0.5 < result["test_acc"] <= 1.0
    assert result["config"]["model"]["hidden"] == [8, 8]


def test_train_uses_the_app_defaults(capsys):
    assert main(["train", "--epochs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    from nncore.config import RunConfig
    defaults = RunConfig().to_dict()
    defaults["train"]["epochs"] = 2
    assert result["config"] == defaults


def test_train_reports_divergence_in_json(capsys):
    assert main(["train", "--dataset", "moons", "--optimizer", "sgd", "--lr", "10", "--hidden", "32,32,32",
                 "--init", "normal", "--activation", "linear", "--no-standardize", "--noise", "0",
                 "--epochs", "50", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["diverged"] is True and "learning rate too high?" in result["message"]
    assert result["train_loss"] is None or result["train_loss"] == result["train_loss"]  # never NaN in JSON


def test_regression_reports_r2_instead_of_accuracy(capsys):
    assert main(["train", "--dataset", "ripple", "--epochs", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_acc"] is None and isinstance(result["test_r2"], float)


@pytest.mark.parametrize("args, needle", [
    (["train", "--lr", "-0.1"], "learning_rate must be > 0, got -0.1"),
    (["train", "--optimizer", "adagrad"], "optimizer must be one of"),
    (["train", "--epochs", "many"], "argument --epochs: invalid int value: 'many'"),
    (["train", "--hidden", "8,x"], "hidden must be comma-separated layer widths"),
    (["train", "--dataset", "nope"], "dataset must be one of"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["train", "--inputs", "x1,x3"], "inputs must be keys from x1, x2, x1_sq, x2_sq, x1_x2, sin_x1, sin_x2, got 'x3'"),
    (["train", "--dataset", "wine", "--inputs", "x1_sq"], "need data with exactly 2 features (x1, x2); wine is a"),
])
def test_bad_argument_exits_2_with_one_line(args, needle, capsys):
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert needle in lines[0] and captured.out == ""


@pytest.mark.slow
def test_bad_argument_from_the_real_entry_point_has_no_traceback():
    proc = _run("train", "--batch-size", "0")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: batch_size must be >= 1, got 0"


def test_help_lists_every_registry(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for reg in (DATASETS, registry.ACTIVATIONS, registry.INITIALIZERS, registry.OPTIMIZERS, registry.SCHEDULES):
        for key in reg:
            assert key in out, key


@pytest.mark.slow
def test_bench_toy_prints_ratios_against_the_reference(monkeypatch):
    from nncore.train import bench
    real_rate, rates = bench._rate, iter([1000.0, 250.0, 50.0, 25.0])  # reference, engine, grids 100 and 200

    def known_rate(fn, seconds):
        real_rate(fn, 0.0)  # still runs what it measures
        return next(rates)
    monkeypatch.setattr(bench, "_rate", known_rate)
    result = bench.toy_benchmark(seconds=0.05, engines=["torch"])
    torch_result = result["engines"]["torch"]
    assert result["reference_numpy_steps_per_s"] == 1000.0 and torch_result["steps_per_s"] == 250.0
    assert torch_result["ratio_vs_reference"] == 0.25  # the engine's rate over this run's reference
    assert (torch_result["grid_100x100_ms"], torch_result["grid_200x200_ms"]) == (20.0, 40.0)
    assert torch_result["trainer_steps_per_s"] > 0
    # against the same reference: ratio (to 0.001) × 1000 vs steps/s (to 0.1), within the two roundings
    assert abs(torch_result["trainer_ratio_vs_reference"] * 1000.0 - torch_result["trainer_steps_per_s"]) <= 0.55


def test_reference_loop_really_learns():
    """The bench's bare NumPy reference is a working network, not an empty loop."""
    import numpy as np
    from nncore.train.bench import reference_numpy_step
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    params = [rng.normal(0, 0.5, (2, 16)), np.zeros(16), rng.normal(0, 0.5, (16, 2)), np.zeros(2)]
    first = reference_numpy_step(params, X, y, 0.5)
    for _ in range(500):
        last = reference_numpy_step(params, X, y, 0.5)
    assert last < first * 0.5


def test_a_diverged_run_reports_its_missing_numbers_as_null_in_the_result_and_the_checkpoint(tmp_path, capsys):
    """NaN and infinite metrics become null alike (metrics.finite_or_none) in the CLI's JSON and in the
    checkpoint's metadata (JSON has no NaN); the finite ones stay numbers."""
    from nncore.io.checkpoint import read_checkpoint_file
    path = tmp_path / "diverged.safetensors"
    assert main(["train", "--dataset", "moons", "--optimizer", "sgd", "--lr", "10", "--hidden", "32,32,32",
                 "--init", "normal", "--activation", "linear", "--no-standardize", "--noise", "0", "--epochs", "20",
                 "--engine", "numpy", "--json", "--save", str(path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["diverged"] is True
    saved = read_checkpoint_file(str(path)).metrics
    keys = ("train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc")
    assert None in [result[k] for k in keys]
    assert {k: result[k] for k in keys} == {k: saved[k] for k in keys}
    assert all(v is None or v == v for v in result.values() if isinstance(v, float) or v is None)
