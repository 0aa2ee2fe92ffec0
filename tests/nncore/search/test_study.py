"""Hyperparameter search: finds better settings, samplers and pruners behave, k-fold is stratified, studies
resume from storage and workers sharing one database finish exactly the requested number of trials."""

import itertools
import json
import os
import socket
import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from nncore.search import study as search
from nncore.search import results as search_results, storage as search_storage
from nncore.cli.main import main
from nncore.data import make_dataset
from nncore.errors import ConfigError
from nncore.search.space import SearchSpace
from nncore.search.study import run_search
from nncore.train.trainer import Trainer
from tests.helpers import make_cfg, train

REPO = __import__("pathlib").Path(__file__).resolve().parents[3]

# Tiny runs: 150 points (90 train / 30 val / 30 test), a few epochs, the NumPy engine for speed.
DATA = dict(dataset="circles", n_points=150, engine="numpy")
ONLY_LR = dict(depth=None, width=None, activation=None, optimizer=None, l2=None, dropout=None, batch_size=None)


@pytest.fixture(autouse=True)
def quiet_optuna(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path / "data"))  # never touch the user's studies.db
    monkeypatch.delenv(search_storage.STORAGE_ENV, raising=False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(name, tmp_path):
    return search_storage.load_study(name, f"sqlite:///{tmp_path / 's.db'}")


@pytest.mark.slow
def test_search_beats_a_bad_baseline_and_its_best_config_reproduces_the_score(tmp_path):
    baseline = make_cfg(**DATA, optimizer="sgd", learning_rate=1e-4, epochs=6)
    _, snap = train(**DATA, optimizer="sgd", learning_rate=1e-4, epochs=6)
    space = SearchSpace(learning_rate=(0.03, 0.1), depth=(1, 2), width=(8, 16), activation=("relu", "tanh"),
                        optimizer=("adam",), l2=None, dropout=None, batch_size=(16,))
    result = run_search(baseline, space, n_trials=4, sampler="tpe", study_name="beat",
                        storage=f"sqlite:///{tmp_path / 's.db'}")
    assert result.n_trials == result.n_complete == 4 and len(result.trials) == 4
    assert result.metric == "val accuracy" and result.best_std is None  # hold-out: no spread
    assert result.best_value >= snap.last("val_acc") + 0.2, (result.best_value, snap.last("val_acc"))
    assert result.best_value == max(t["value"] for t in result.trials)
    assert all(t["duration"] > 0 and t["state"] == "COMPLETE" for t in result.trials)
    # "Open in Playground": the best configuration trains to exactly the trial's validation score
    best = result.best_config
    assert best.train.optimizer == "adam" and best.train.epochs == 6
    assert best.model.hidden == (result.best_params["width"],) * result.best_params["depth"]
    trainer = Trainer(best)
    while trainer.running:
        trainer.run(steps=10_000)
    assert trainer.snapshot().last("val_acc") == pytest.approx(result.best_value, abs=1e-12)
    # chart data from the stored study
    history = search_results.history_records(_study("beat", tmp_path))
    assert [h["trial"] for h in history] == [0, 1, 2, 3]
    assert [h["best"] for h in history] == list(np.maximum.accumulate([h["value"] for h in history]))
    importances = search_results.importance_records(_study("beat", tmp_path))
    assert {r["param"] for r in importances} <= set(space.knobs) and importances
    assert sum(r["importance"] for r in importances) == pytest.approx(1.0)
    assert [r["importance"] for r in importances] == sorted((r["importance"] for r in importances), reverse=True)


def test_importance_needs_two_complete_trials():
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert search_results.importance_records(study) == []
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert [r["param"] for r in search_results.importance_records(study)] == ["x"]


def test_grid_sampler_enumerates_the_grid_then_stops():
    space = SearchSpace(**{**ONLY_LR, "learning_rate": (0.01, 0.1), "activation": ("relu", "tanh")},
                        grid_points=2)
    assert space.grid() == {"learning_rate": [0.01, 0.1], "activation": ["relu", "tanh"]}
    result = run_search(make_cfg(**DATA), space, n_trials=10, sampler="grid", storage="memory", epochs=2)
    assert result.n_trials == 4  # the grid has 4 points: the study stops there, not at 10
    seen = sorted((t["params"]["learning_rate"], t["params"]["activation"]) for t in result.trials)
    assert seen == sorted(itertools.product([0.01, 0.1], ["relu", "tanh"]))
    grid = SearchSpace(learning_rate=(1e-4, 1e-2), depth=(1, 3), dropout=(0.0, 0.2)).grid()
    assert grid["learning_rate"] == pytest.approx([1e-4, 1e-3, 1e-2]) and grid["depth"] == [1, 2, 3]
    assert grid["dropout"] == pytest.approx([0.0, 0.1, 0.2])


def test_kfold_trains_on_stratified_folds_and_reports_mean_and_std(monkeypatch):
    seen = []

    class Recording(Trainer):
        def __init__(self, cfg, dataset=None, **kw):
            seen.append((np.bincount(dataset.y_val, minlength=2), len(dataset.y_train), dataset.X_train.mean(axis=0)))
            super().__init__(cfg, dataset, **kw)

    monkeypatch.setattr(search, "Trainer", Recording)
    cfg = make_cfg(**DATA, noise=0.2)
    result = run_search(cfg, SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.1)), n_trials=2, cv=3,
                        storage="memory", epochs=3)
    ds = make_dataset(cfg.data)
    per_class = np.bincount(np.concatenate([ds.y_train, ds.y_val]), minlength=2)  # 120 samples of train+val
    assert len(seen) == 2 * 3
    for counts, n_train, mean in seen:
        # stratified: every fold holds each class's share to within one sample
        assert all(abs(c - pc / 3) < 1 for c, pc in zip(counts, per_class)), (counts, per_class)
        assert n_train + counts.sum() == per_class.sum()
        assert np.allclose(mean, 0, atol=1e-9)  # rescaled with the fold's own training statistics
    for trial in result.trials:
        assert trial["std"] is not None
    assert result.cv == 3 and result.best_std is not None and result.best_std >= 0
    folds = search.cv_splits(ds, 3, seed=0)  # the validation parts together are train+val, once each
    assert np.array_equal(np.bincount(np.concatenate([f.y_val for f in folds])), per_class)
    assert sum(len(f.y_val) for f in folds) == len(ds.y_train) + len(ds.y_val)


def test_kfold_regression_uses_plain_folds_and_scores_r2():
    cfg = make_cfg(dataset="ripple", n_points=150, engine="numpy")
    folds = search.cv_splits(make_dataset(cfg.data), 4, seed=0)
    assert [len(f.y_val) for f in folds] == [30, 30, 30, 30]
    result = run_search(cfg, SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.05)), n_trials=2, cv=2,
                        storage="memory", epochs=2)
    assert result.metric == "val R²" and np.isfinite(result.best_value) and result.best_std >= 0


def test_kfold_refuses_more_folds_than_the_rarest_class_has_samples():
    ds = make_dataset(make_cfg(**{**DATA, "n_points": 20}).data)
    with pytest.raises(ConfigError, match=r"cv must be <= 8 \(the rarest class has 8 samples"):
        search.cv_splits(ds, 9)  # 16 balanced samples in train+val: 8 per class


def test_median_pruner_stops_hopeless_trials():
    # Three sensible learning rates first (the pruner's reference), then two that cannot learn in 8 epochs.
    enqueue = [{"learning_rate": lr} for lr in (0.1, 0.07, 0.05, 1e-6, 2e-6)]
    space = SearchSpace(**ONLY_LR, learning_rate=(1e-6, 0.1))
    result = run_search(make_cfg(**DATA), space, n_trials=5, pruner="median", enqueue=enqueue,
                        storage="memory", epochs=8, sampler="random")
    states = {t["params"]["learning_rate"]: t["state"] for t in result.trials}
    assert states == {0.1: "COMPLETE", 0.07: "COMPLETE", 0.05: "COMPLETE", 1e-6: "PRUNED", 2e-6: "PRUNED"}
    assert result.n_trials == 5 and result.n_pruned == 2
    assert all(t["note"].startswith("pruned after epoch") for t in result.trials if t["state"] == "PRUNED")


def test_hyperband_pruner_stops_trials_early():
    enqueue = [{"learning_rate": lr} for lr in (0.1, 0.07, 0.05, 0.03, 1e-6, 2e-6, 3e-6, 4e-6)]
    result = run_search(make_cfg(**DATA), SearchSpace(**ONLY_LR, learning_rate=(1e-6, 0.1)), n_trials=8,
                        pruner="hyperband", enqueue=enqueue, storage="memory", study_name="hb", epochs=9)
    # Hyperband splits trials into brackets with their own budgets: which ones it stops depends on the bracket,
    # but some are stopped before the last epoch, and the best trial is a sensible one.
    pruned = [t for t in result.trials if t["state"] == "PRUNED"]
    assert result.n_trials == 8 and pruned and result.best_params["learning_rate"] >= 0.03
    assert all(int(t["note"].split("epoch ")[1]) < 9 for t in pruned)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
def test_diverged_trials_are_set_aside_never_best():
    cfg = make_cfg(dataset="moons", n_points=150, optimizer="sgd", hidden=(32, 32, 32), init="normal",
                   activation="linear", standardize=False, noise=0.0, engine="numpy")
    result = run_search(cfg, SearchSpace(**ONLY_LR, learning_rate=(5.0, 10.0)), n_trials=2, storage="memory",
                        epochs=10)
    assert result.n_trials == 2 and result.n_pruned == 2 and result.best_value is None
    assert all(t["note"].startswith("diverged: loss became NaN") for t in result.trials), result.trials


class _Stop(BaseException):
    """Like a UI framework's stop signal: not an Exception, so Optuna does not catch it."""


@pytest.mark.slow
def test_an_interrupted_search_leaves_no_trial_running_and_resumes(tmp_path, monkeypatch):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    calls = []

    class Interrupted(Trainer):
        def run(self, *a, **kw):
            calls.append(1)
            if len(calls) == 2:
                raise _Stop()
            return super().run(*a, **kw)

    monkeypatch.setattr(search, "Trainer", Interrupted)
    args = dict(n_trials=3, study_name="i", storage=storage, epochs=2, sampler="random")
    space = SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.1))
    with pytest.raises(_Stop):
        run_search(make_cfg(**DATA), space, **args)
    states = [t.state for t in _study("i", tmp_path).trials]
    assert states == [TrialState.COMPLETE, TrialState.FAIL]
    result = run_search(make_cfg(**DATA), space, **args)
    assert result.n_trials == 3 and [t["state"] for t in result.trials] == ["COMPLETE", "FAIL", "COMPLETE",
                                                                              "COMPLETE"]


@pytest.mark.slow
def test_resume_continues_the_count_and_refuses_other_settings(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    space = SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.1))
    cfg = make_cfg(**DATA)
    first = run_search(cfg, space, n_trials=2, study_name="r", storage=storage, epochs=2, sampler="random")
    again = run_search(cfg, space, n_trials=4, study_name="r", storage=storage, epochs=2, sampler="random")
    assert [t["number"] for t in again.trials] == [0, 1, 2, 3]
    assert again.trials[:2] == first.trials  # earlier trials kept as they were
    assert len({t["params"]["learning_rate"] for t in again.trials}) == 4  # a resumed sampler draws anew
    assert run_search(cfg, space, n_trials=4, study_name="r", storage=storage, epochs=2).trials == again.trials
    assert search_results.load_result("r", storage).trials == again.trials
    assert [s["name"] for s in search_results.list_studies(storage)] == ["r"]
    with pytest.raises(ConfigError, match="study must name a stored study, got 'nope'"):
        search_results.load_result("nope", storage)
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        run_search(cfg, space, n_trials=5, study_name="r", storage=storage, epochs=3)


def _two_trial_study(tmp_path, name):
    """A stored study with two finished trials, the space it searched and the arguments that resume it."""
    storage = f"sqlite:///{tmp_path / 's.db'}"
    args = dict(study_name=name, storage=storage, epochs=2, sampler="random")
    space = SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.1))
    run_search(make_cfg(**DATA), space, n_trials=2, **args)
    return optuna.load_study(study_name=name, storage=storage), space, args


@pytest.mark.slow
def test_a_worker_stands_down_when_the_last_trial_is_already_under_way_elsewhere(tmp_path):
    study, space, args = _two_trial_study(tmp_path, "w")
    elsewhere = study.ask()  # another worker's trial, still training
    result = run_search(make_cfg(**DATA), space, n_trials=3, **args)
    assert [t["state"] for t in result.trials] == ["COMPLETE", "COMPLETE", "RUNNING", "FAIL"]
    assert result.trials[3]["note"] == "not run: the study already had its 3 trials"
    assert result.trials[3]["params"] == {}  # stood down before drawing a configuration
    study.tell(elsewhere, 0.5)
    assert search_results.load_result("w", args["storage"]).n_trials == 3


def test_default_storage_lives_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(search_storage.STORAGE_ENV, raising=False)
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path / "d"))
    assert search_storage.default_storage_url() == f"sqlite:///{tmp_path / 'd' / 'studies.db'}"
    monkeypatch.delenv("NNCORE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert search_storage.default_storage_url() == f"sqlite:///{tmp_path / 'cache' / 'nncore' / 'studies.db'}"


@pytest.mark.slow
def test_app_processes_share_studies_through_the_search_storage_variable(tmp_path, monkeypatch):
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path / "own"))
    monkeypatch.setenv(search_storage.STORAGE_ENV, shared)
    assert search_storage.default_storage_url() == shared
    run_search(make_cfg(**DATA), SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.1)), n_trials=1,
               study_name="hosted", epochs=2)  # storage: the default
    assert [s["name"] for s in search_results.list_studies(shared)] == ["hosted"]  # another process sees it
    assert not (tmp_path / "own" / "studies.db").exists()


@pytest.mark.slow
def test_two_workers_share_one_study_and_finish_exactly_the_requested_trials(tmp_path):
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    args = ["search", "--dataset", "circles", "--n", "150", "--epochs", "4", "--trials", "6", "--study", "S",
            "--storage", storage, "--sampler", "random", "--json",
            "--space", '{"depth": [1, 2], "width": [4, 8], "dropout": null, "l2": null, "batch_size": [32]}']
    env = {**os.environ, "NNCORE_DATA_DIR": str(tmp_path / "data")}
    workers = [subprocess.Popen([sys.executable, "-m", "nncore", *args, "--sampler-seed", str(i)], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    for w, (out, err) in zip(workers, outputs):
        assert w.returncode == 0, err
        last = json.loads(out.strip().splitlines()[-1])
        assert {"best_params", "best_value", "best_std", "n_trials"} <= set(last)
        assert 0.4 <= last["best_value"] <= 1 and last["best_std"] is None and last["n_trials"] <= 6
    study = optuna.load_study(study_name="S", storage=storage)
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert sorted(t.number for t in finished) == [0, 1, 2, 3, 4, 5]
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    # a worker that started a trial when the other had already taken the last one stood down
    assert all(t.state == TrialState.FAIL and t.user_attrs["note"] == "not run: the study already had its 6 trials"
               for t in study.trials if t not in finished)
    assert {t.user_attrs["worker"] for t in finished} <= {f"{socket.gethostname()}:{w.pid}" for w in workers}
    assert search_results.load_result("S", storage).n_trials == 6


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own usage errors
        return e.code


@pytest.mark.parametrize("args, needle", [
    (["--cv", "1"], "cv must be >= 2, got 1"),
    (["--space", "{bad"], "space must be a JSON object"),
    (["--space", '{"learning_rate": [0.1, 0.01]}'], "learning_rate must be a range with low <= high"),
    (["--space", '{"activation": ["swish"]}'], "activation must be one of"),
    (["--space", '{"depth": null, "width": null, "activation": null, "optimizer": null, "learning_rate": null, '
                 '"l2": null, "dropout": null, "batch_size": null}'], "the search space is empty"),
    (["--storage", "nonsense://x"], "storage must be a database URL"),
    (["--sampler", "cmaes"], "invalid choice"),
])
def test_cli_rejects_bad_settings_in_one_line(args, needle, capsys):
    assert _exit_code(["search", "--n", "150", "--trials", "1", "--epochs", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err


# --- orphaned trials and searches in slices ----------------------------------------------------------------

def _dead_worker() -> str:
    """host:pid of a process on this machine that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


@pytest.mark.slow
def test_a_trial_left_running_by_a_crashed_worker_does_not_count(tmp_path):
    study, space, args = _two_trial_study(tmp_path, "o")
    orphan = study.ask()  # its worker died mid-trial: the database still says RUNNING
    orphan.set_user_attr("worker", _dead_worker())
    result = run_search(make_cfg(**DATA), space, n_trials=3, **args)
    assert result.n_trials == 3 and result.n_complete == 3
    assert [t["state"] for t in result.trials] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    assert result.trials[2]["note"] == "its worker stopped while running it"


@pytest.mark.slow
def test_a_killed_search_process_leaves_a_running_trial_that_a_resumed_search_replaces(tmp_path):
    import signal
    import time

    storage = f"sqlite:///{tmp_path / 's.db'}"
    space = {"learning_rate": [0.01, 0.1], **{k: None for k in ONLY_LR}}
    worker = subprocess.Popen(  # a trial of 100,000 epochs: still training when it is killed
        [sys.executable, "-m", "nncore", "search", "--dataset", "circles", "--n", "150", "--engine", "numpy",
         "--epochs", "100000", "--trials", "2", "--study", "k", "--storage", storage, "--sampler", "random",
         "--space", json.dumps(space)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                study = optuna.load_study(study_name="k", storage=storage)
                running = study.get_trials(states=(TrialState.RUNNING,))
                if running and running[0].user_attrs.get("worker"):  # the trial under way, its worker named
                    break
            except KeyError:
                pass
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING]
    cfg = make_cfg(**DATA, epochs=100000)
    resumed = search.SteppedSearch(cfg, SearchSpace.from_dict(space), n_trials=2, study_name="k",
                                   storage=storage, sampler="random")
    assert resumed.study.trials[0].state == TrialState.FAIL  # the killed worker's trial is set aside
    resumed.stop()


def test_a_search_in_slices_finds_what_one_call_finds(tmp_path):
    space = SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.3))
    cfg = make_cfg(**DATA)
    whole = run_search(cfg, space, n_trials=3, storage="memory", epochs=4, sampler="random", cv=3)
    sliced = search.SteppedSearch(cfg, space, n_trials=3, storage="memory", epochs=4, sampler="random", cv=3)
    calls = 0
    while sliced.advance(0.002):  # a couple of steps per call: trials and folds span many calls
        calls += 1
    got = sliced.result()
    assert calls > 3 and got.n_trials == 3 and not sliced.advance(1.0)
    assert [t["value"] for t in got.trials] == [t["value"] for t in whole.trials]
    assert [t["params"] for t in got.trials] == [t["params"] for t in whole.trials]
    assert got.best_std == whole.best_std


@pytest.mark.slow
def test_stopping_a_search_in_slices_fails_its_trial_and_a_resumed_one_completes_the_count(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    space = SearchSpace(**ONLY_LR, learning_rate=(0.01, 0.1))
    args = dict(study_name="p", storage=storage, epochs=50, sampler="random")
    first = search.SteppedSearch(make_cfg(**DATA), space, n_trials=2, **args)
    first.advance(0.01)
    assert first.trial is not None
    first.stop("its tab was closed")
    assert not first.advance(1.0)
    again = search.SteppedSearch(make_cfg(**DATA), space, n_trials=2, **args)
    while again.advance(0.5):
        pass
    result = again.result()
    assert [t["state"] for t in result.trials] == ["FAIL", "COMPLETE", "COMPLETE"] and result.n_trials == 2
    assert result.trials[0]["note"] == "its tab was closed"


def test_an_unknown_knob_is_named_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"^lr is not a knob of the search space; known: .*learning_rate"):
        SearchSpace.from_dict({"lr": [0.1, 0.2]})
