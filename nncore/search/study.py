"""Hyperparameter search: an Optuna study over a ``SearchSpace``, judged by hold-out or k-fold validation.

Each trial trains one network per fold with the ordinary ``Trainer`` and scores it by validation accuracy
(R² for regression); per-epoch scores feed the pruner. Studies live in a SQLite file by default
(``default_storage_url``), so a search survives a restart and resumes where it stopped. Any number of
workers (``python -m nncore search --study NAME --storage URL``) can share one database: ``n_trials`` is the
total number of finished (complete or pruned) trials the study should hold, and together they finish
exactly that many.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import socket
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from nncore.inspect import metrics
from nncore.config import RunConfig, _choice, _fail, _range
from nncore.data import Dataset, make_dataset
from nncore.data.scaling import fit_scaling
from nncore.errors import ConfigError
from nncore import settings
from nncore.registry import Registry
from nncore.train.trainer import Trainer

SAMPLERS = Registry("sampler", {
    "tpe": "Tree-structured Parzen Estimator: models good and bad regions, samples where good is likely",
    "random": "independent random draws from the space",
    "grid": "every combination of a finite grid (a few values per range), in random order",
})

PRUNERS = Registry("pruner", {
    "off": "every trial trains all its epochs",
    "median": "stop a trial whose validation score falls below the median of earlier trials at that epoch",
    "hyperband": "successive halving over several brackets of epoch budgets",
})

class _Later:
    """A module imported on first use: ``python -m nncore train`` should not pay for importing Optuna."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


optuna = _Later("optuna")


def _states(*names: str) -> tuple:
    """Optuna trial states by name: COMPLETE, PRUNED, RUNNING, FAIL, WAITING."""
    return tuple(optuna.trial.TrialState[n] for n in names)


COUNTED = ("COMPLETE", "PRUNED")  # trials that count towards a study's n_trials
HEARTBEAT_S = 30      # a database-backed trial proves it is alive this often ...
GRACE_S = 120         # ... and one silent this long (its worker died) is marked failed and replaced

# Knob name -> how it is sampled: "log" (log-uniform float range), "float" (uniform float range), "int"
# (integer range, both ends included) or "choice" (one of the listed values).
KNOBS = {"learning_rate": "log", "depth": "int", "width": "choice", "activation": "choice",
         "optimizer": "choice", "l2": "log", "dropout": "float", "batch_size": "choice", "init": "choice"}


@dataclass(frozen=True)
class SearchSpace:
    """Which settings to search and over what; a knob set to None is not searched (the base config's value
    is kept). Every hidden layer gets the same ``width``."""

    learning_rate: tuple[float, float] | None = (1e-3, 0.3)    # log-uniform range
    depth: tuple[int, int] | None = (1, 3)                     # hidden layers, both ends included
    width: tuple[int, ...] | None = (4, 8, 16, 32)             # neurons per hidden layer
    activation: tuple[str, ...] | None = ("relu", "tanh")
    optimizer: tuple[str, ...] | None = ("adam", "momentum")
    l2: tuple[float, float] | None = (1e-6, 1e-2)              # log range; the 1e-6 floor is as good as off
    dropout: tuple[float, float] | None = (0.0, 0.3)           # uniform range
    batch_size: tuple[int, ...] | None = (16, 32, 64)
    init: tuple[str, ...] | None = None
    grid_points: int = 3                                       # values per float range for the grid sampler

    def __post_init__(self):
        for name, kind in KNOBS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, (str, int, float)) or not value:
                _fail(name, "a non-empty list" + (" of choices" if kind == "choice" else " [low, high]"), value)
            object.__setattr__(self, name, tuple(value))
            if kind != "choice":
                self._check_range(name, kind)
        for name in ("activation", "optimizer", "init"):  # choices: the setting's registry
            for value in getattr(self, name) or ():
                _choice(name, value, settings.get(name).choices)
        hidden = settings.get("hidden")
        for value in self.width or ():
            _range("width", value, hidden.lo, hidden.hi, integer=True)
        batch = settings.get("batch_size")
        for value in self.batch_size or ():
            _range("batch_size", value, batch.lo, batch.hi, integer=True)
        _range("grid_points", self.grid_points, 1, 20, integer=True)
        if not self.knobs:
            raise ConfigError("the search space is empty: search at least one setting", "space")

    def _check_range(self, name: str, kind: str) -> None:
        value = getattr(self, name)
        if len(value) != 2:
            _fail(name, "a range [low, high]", list(value))
        lo, hi = value
        if name == "depth":  # hidden layers: none up to the most a run may have
            lo_end, hi_end, hi_open = 0, settings.MAX_LAYERS, False
        else:  # the setting's own rule (a log range also excludes 0)
            lo_end, hi_end, _, hi_open = settings.valid_range(name)
        for end in value:
            _range(name, end, lo_end, hi_end, integer=kind == "int", lo_open=kind == "log", hi_open=hi_open)
        if lo > hi:
            _fail(name, "a range with low <= high", list(value))

    @property
    def knobs(self) -> list[str]:
        """Names of the searched settings, in a fixed order."""
        return [name for name in KNOBS if getattr(self, name) is not None]

    def suggest(self, trial: optuna.Trial) -> dict:
        """Draw one configuration's searched settings through ``trial``."""
        params = {}
        for name in self.knobs:
            kind, value = KNOBS[name], getattr(self, name)
            if kind == "choice":
                params[name] = trial.suggest_categorical(name, list(value))
            elif kind == "int":
                params[name] = trial.suggest_int(name, *value)
            else:
                params[name] = trial.suggest_float(name, *value, log=kind == "log")
        return params

    def grid(self) -> dict[str, list]:
        """The finite grid for the grid sampler: all choices, every depth, ``grid_points`` values per float
        range (log-spaced for log ranges, both ends exact)."""
        out = {}
        for name in self.knobs:
            kind, value = KNOBS[name], getattr(self, name)
            if kind == "choice":
                out[name] = list(value)
            elif kind == "int":
                out[name] = list(range(value[0], value[1] + 1))
            else:
                lo, hi = value
                space = np.geomspace if kind == "log" else np.linspace
                points = [float(v) for v in space(lo, hi, self.grid_points)] if lo < hi else [float(lo)]
                points[0], points[-1] = float(lo), float(hi)
                out[name] = sorted(set(points))
        return out

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSpace":
        known = {f.name for f in fields(cls)}
        for key in d:
            if key not in known:
                raise ConfigError(f"{key} is not a knob of the search space; known: {', '.join(sorted(known))}",
                                  key)
        return cls(**d)


def config_from_params(base_cfg: RunConfig, params: dict) -> RunConfig:
    """The run ``base_cfg`` with a trial's settings applied (``depth`` × ``width`` become ``hidden``)."""
    model_keys = {"activation", "dropout", "init"}
    train_keys = {"learning_rate", "optimizer", "l2", "batch_size"}
    model, train = {}, {}
    for key, value in params.items():
        if key in model_keys:
            model[key] = value
        elif key in train_keys:
            train[key] = value
        elif key not in ("depth", "width"):
            raise ConfigError(f"{key} is not a searchable setting; known: {', '.join(KNOBS)}", key)
    if "depth" in params or "width" in params:
        hidden = base_cfg.model.hidden
        depth = params.get("depth", len(hidden))
        width = params.get("width", hidden[0] if hidden else 16)
        model["hidden"] = (int(width),) * int(depth)
    return RunConfig(base_cfg.data, replace(base_cfg.model, **model), replace(base_cfg.train, **train))


# --- judging ------------------------------------------------------------------------------------------------
def cv_splits(dataset: Dataset, k: int, seed: int = 0, standardize: bool = True) -> list[Dataset]:
    """``k`` folds over train+val (stratified for classification): fold i validates on its own part and trains
    on the rest, standardized with that fold's training statistics (when ``standardize``). The test split is
    kept (rescaled the same way)."""
    _range("cv", k, 2, 20, integer=True)
    from sklearn.model_selection import KFold, StratifiedKFold
    X = dataset.unscale(np.concatenate([dataset.X_train, dataset.X_val]))
    y = np.concatenate([dataset.y_train, dataset.y_val])
    test = dataset.unscale(dataset.X_test)
    if dataset.task == "regression":
        splitter, labels = KFold(n_splits=k, shuffle=True, random_state=seed), None
    else:
        rarest = int(np.bincount(y).min()) if len(y) else 0
        if k > rarest:
            _fail("cv", f"<= {rarest} (the rarest class has {rarest} samples in train+val)", k)
        splitter, labels = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed), y
    folds = []
    for train_idx, val_idx in splitter.split(X, labels):
        if standardize:
            mean, std = fit_scaling(X[train_idx])
        else:  # the data's own fixed scaling (none for toy sets, pixel range for images)
            mean, std = dataset.mean, dataset.std
        folds.append(replace(dataset, X_train=(X[train_idx] - mean) / std, y_train=y[train_idx],
                             X_val=(X[val_idx] - mean) / std, y_val=y[val_idx], X_test=(test - mean) / std,
                             mean=mean, std=std))
    return folds


def score(engine, X: np.ndarray, y: np.ndarray, task: str) -> float:
    """The search's metric: accuracy for classification, R² for regression (higher is better)."""
    out = engine.forward(X)
    return metrics.r2(out, y) if task == "regression" else metrics.accuracy(out, y, task)


class _Objective:
    """Trains ``cfg`` on every fold; reports per-epoch validation scores at step fold·epochs + epoch - 1."""

    def __init__(self, base: RunConfig, space: SearchSpace, folds: list[Dataset], target: int | None):
        self.base, self.space, self.folds, self.target = base, space, folds, target
        self.started: list[int] = []

    def __call__(self, trial: optuna.Trial) -> float:
        self.started.append(trial.number)
        trial.set_user_attr("worker", _worker())  # workers may share a study
        if not self._claim(trial):
            return math.nan  # Optuna records a trial without a number as failed; it does not count
        cfg = config_from_params(self.base, self.space.suggest(trial))
        scores = [self._fit(cfg, ds, trial, i) for i, ds in enumerate(self.folds)]
        trial.set_user_attr("fold_scores", scores)
        trial.set_user_attr("std", float(np.std(scores)) if len(scores) > 1 else None)
        return float(np.mean(scores))

    def _claim(self, trial: optuna.Trial) -> bool:
        """Whether to run: only if fewer than ``target`` trials numbered below this one are finished or under
        way. Two workers may both start a trial when one is missing; the higher-numbered one stands down."""
        if self.target is None:
            return True
        live = trial.study.get_trials(deepcopy=False, states=_states(*COUNTED, "RUNNING"))
        if sum(t.number < trial.number for t in live) < self.target:
            return True
        trial.set_user_attr("note", f"not run: the study already had its {self.target} trials")
        trial.study.stop()
        return False

    def _fit(self, cfg: RunConfig, ds: Dataset, trial: optuna.Trial, fold: int) -> float:
        trainer = self.fold_trainer(cfg, trial, fold)
        while trainer.running:
            trainer.run(steps=1_000_000)
        return self.fold_score(trainer, trial, fold)

    def _where(self, fold: int) -> str:
        return f" of fold {fold + 1}" if len(self.folds) > 1 else ""

    def fold_trainer(self, cfg: RunConfig, trial: optuna.Trial, fold: int) -> Trainer:
        """A Trainer for one fold that reports each epoch's validation score to ``trial`` (and raises
        TrialPruned when the pruner says so)."""
        ds, epochs = self.folds[fold], cfg.train.epochs

        def report(trainer: Trainer) -> None:
            value = score(trainer.engine, ds.X_val, ds.y_val, ds.task)
            trial.report(value, fold * epochs + trainer.epoch - 1)
            if trial.should_prune():
                trial.set_user_attr("note", f"pruned after epoch {trainer.epoch}{self._where(fold)}")
                raise optuna.TrialPruned()

        trainer = Trainer(cfg, ds)
        trainer.add_callback("on_epoch_end", report)
        return trainer

    def fold_score(self, trainer: Trainer, trial: optuna.Trial, fold: int) -> float:
        """A finished fold's validation score; TrialPruned when it diverged (set aside, never "best")."""
        if trainer.status == "diverged":
            trial.set_user_attr("note", f"diverged{self._where(fold)}: {trainer.message.split(':')[0]}")
            raise optuna.TrialPruned()
        ds = self.folds[fold]
        return score(trainer.engine, ds.X_val, ds.y_val, ds.task)


# --- storage ---------------------------------------------------------------------------------------------
STORAGE_ENV = "NNPLAY_SEARCH_STORAGE"  # a database URL shared by several app processes (one hosted demo)


def default_storage_url() -> str:
    """The database URL in ``$NNPLAY_SEARCH_STORAGE`` when set (several app processes then share their
    studies), else ``sqlite:///<data dir>/studies.db`` in nncore's data folder ($NNCORE_DATA_DIR, else
    $XDG_CACHE_HOME/nncore or ~/.cache/nncore), created if missing."""
    shared = os.environ.get(STORAGE_ENV, "").strip()
    if shared:
        return shared
    from nncore.data.images import default_data_dir
    folder = default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'studies.db').resolve()}"


def open_storage(storage=None):
    """An Optuna storage from a database URL (None: ``default_storage_url()``; "memory": in-process only), or
    ``storage`` itself when it already is one. SQLite waits up to 60 s for a lock held by another worker;
    trials of a worker that died are marked failed after ``GRACE_S`` seconds and replaced."""
    if storage is None:
        storage = default_storage_url()
    if not isinstance(storage, str):
        return storage
    if storage == "memory":
        return optuna.storages.InMemoryStorage()
    import sqlalchemy.exc
    engine_kwargs = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") and "timeout=" not in storage \
        else {}
    for attempt in range(6):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat: stable enough
                return optuna.storages.RDBStorage(storage, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)
        except (sqlalchemy.exc.DBAPIError, optuna.exceptions.StorageInternalError) as e:
            last = e  # two workers creating the tables at once (locked, or a duplicate row): retry
            time.sleep(0.2 * (attempt + 1))
        except (sqlalchemy.exc.ArgumentError, ImportError, ValueError) as e:
            raise ConfigError(f"storage must be a database URL such as sqlite:///path/studies.db, got "
                              f"{storage!r} ({type(e).__name__})", "storage") from None
    raise ConfigError(f"storage {storage!r} cannot be opened: {str(last).splitlines()[0]}", "storage")


def _sampler(sampler, space: SearchSpace, seed: int):
    if not isinstance(sampler, str):
        return sampler
    _choice("sampler", sampler, SAMPLERS)
    if sampler == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)


def _pruner(pruner, total_steps: int):
    if not isinstance(pruner, str):
        return pruner
    _choice("pruner", pruner, PRUNERS)
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=max(1, total_steps // 10))
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=total_steps, reduction_factor=3)
    return optuna.pruners.NopPruner()


def _normalized(value):
    return json.loads(json.dumps(value))


def _check_setup(study: optuna.Study, setup: dict) -> None:
    """A study holds the scores of one objective: resuming it with other data, network or judge is an error."""
    stored = study.user_attrs.get("setup")
    if stored is None:
        study.set_user_attr("setup", setup)
        return
    if stored != setup:
        diff = []
        for part, value in setup.items():
            old = stored.get(part)
            if isinstance(value, dict) and isinstance(old, dict):
                diff += [f"{part}.{k}" for k in value if old.get(k) != value[k]]
            elif old != value:
                diff.append(part)
        raise ConfigError(f"study {study.study_name!r} was run with other settings ({', '.join(diff[:4])}); "
                          "resume it with the same ones or choose another study name", "study")


# --- running ----------------------------------------------------------------------------------------------
def run_search(base_cfg: RunConfig, space: SearchSpace | None = None, *, n_trials: int | None = None,
               minutes: float | None = None, sampler="tpe", pruner="off", cv: int | None = None,
               study_name: str | None = None, storage=None, epochs: int | None = None, callbacks=None,
               seed: int = 0, enqueue=()) -> "SearchResult":
    """Search ``space`` around ``base_cfg`` until the study holds ``n_trials`` finished trials (complete or
    pruned, counting earlier sessions and other workers) or ``minutes`` pass; at least one must be given.

    ``sampler``/``pruner``: a key of SAMPLERS/PRUNERS or an Optuna sampler/pruner object. ``cv``: k for k-fold
    cross-validation over train+val, None to judge on the validation split. ``epochs``: per trial (default the
    base config's). ``callbacks``: ``fn(study, frozen_trial)`` after every trial (may call ``study.stop()``).
    ``enqueue``: configurations (dicts of knob values, e.g. the Playground's) to try first."""
    space = space or SearchSpace()
    if n_trials is None and minutes is None:
        raise ConfigError("give n_trials or minutes (or both) to bound the search", "n_trials")
    if n_trials is not None:
        _range("n_trials", n_trials, 1, 1_000_000, integer=True)
    if minutes is not None:
        _range("minutes", minutes, 0, 100_000, lo_open=True)
    base, folds, study = _open_search(base_cfg, space, sampler, pruner, cv, study_name, storage, epochs, seed)
    for params in enqueue:
        study.enqueue_trial(dict(params), skip_if_exists=True)
    fail_orphans(study)
    objective = _Objective(base, space, folds, n_trials)
    done = len(study.get_trials(deepcopy=False, states=_states(*COUNTED)))
    remaining = None if n_trials is None else n_trials - done
    if remaining is None or remaining > 0:
        stop = [optuna.study.MaxTrialsCallback(n_trials, states=_states(*COUNTED, "RUNNING"))] if n_trials else []
        try:
            study.optimize(objective, n_trials=remaining, timeout=minutes * 60 if minutes else None,
                           callbacks=[*stop, *(callbacks or [])])
        finally:  # interrupted by something Optuna does not catch (a UI stop): leave no trial RUNNING
            for trial in study.get_trials(deepcopy=False, states=_states("RUNNING")):
                if trial.number in objective.started:
                    study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return summarize(study)


class SteppedSearch:
    """A search that advances in time slices, for a page whose timer calls ``advance`` and draws in between
    (nothing runs between calls, so a closed page stops it). Each trial is asked from the study, trained fold
    by fold across calls, and told when it ends; a new trial starts only while the study holds fewer than
    ``n_trials`` finished or live trials. Same settings as ``run_search``."""

    def __init__(self, base_cfg: RunConfig, space: SearchSpace | None = None, *, n_trials: int, sampler="tpe",
                 pruner="off", cv: int | None = None, study_name: str | None = None, storage=None,
                 epochs: int | None = None, seed: int = 0):
        self.space = space or SearchSpace()
        _range("n_trials", n_trials, 1, 1_000_000, integer=True)
        self.n_trials = n_trials
        self.base, folds, self.study = _open_search(base_cfg, self.space, sampler, pruner, cv, study_name, storage,
                                                    epochs, seed)
        self.objective = _Objective(self.base, self.space, folds, n_trials)
        self.trial: optuna.Trial | None = None   # the trial under way (None between trials)
        self._cfg: RunConfig | None = None
        self._fold, self._scores, self._trainer = 0, [], None
        self._beat = -math.inf                   # when the trial under way last said it is alive
        self.finished = False                    # the study holds its n_trials, or the search was stopped
        fail_orphans(self.study)

    @property
    def study_name(self) -> str:
        return self.study.study_name

    def advance(self, seconds: float) -> bool:
        """Train for about ``seconds`` (one slice of the trial under way, starting trials as needed); False once
        the study holds its ``n_trials``."""
        deadline = time.perf_counter() + seconds
        while not self.finished and time.perf_counter() < deadline:
            if self.trial is None and not self._start_trial():
                self.finished = True
                break
            self._heartbeat()
            trial, trainer = self.trial, self._trainer
            try:
                trainer.run(seconds=max(deadline - time.perf_counter(), 0.0))
                if self.trial is not trial:  # stopped meanwhile (its page closed)
                    break
                if not trainer.running:
                    self._end_fold()
            except optuna.TrialPruned:
                self._tell(state=optuna.trial.TrialState.PRUNED)
        return not self.finished

    def stop(self, note: str = "stopped before it finished") -> None:
        """End the search now: the trial under way is marked failed (it does not count) with ``note``."""
        if self.trial is not None:
            self.trial.set_user_attr("note", note)
            self._tell(state=optuna.trial.TrialState.FAIL)
        self.finished = True

    def result(self) -> "SearchResult":
        return summarize(self.study)

    def run_more(self, trials: int) -> None:
        """Ask for ``trials`` finished trials beyond those the study holds now (a resumed study goes on)."""
        _range("trials", trials, 1, 1_000_000, integer=True)
        done = len(self.study.get_trials(deepcopy=False, states=_states(*COUNTED)))
        self.n_trials = self.objective.target = done + trials
        self.finished = False

    def _start_trial(self) -> bool:
        live = self.study.get_trials(deepcopy=False, states=_states(*COUNTED, "RUNNING"))
        if len(live) >= self.n_trials:
            return False
        with warnings.catch_warnings():  # heartbeats are recorded by ``_heartbeat`` instead of ``optimize``'s thread
            warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
            self.trial = self.study.ask()
        self.trial.set_user_attr("worker", _worker())
        self._beat = -math.inf
        self._cfg = config_from_params(self.base, self.space.suggest(self.trial))
        self._fold, self._scores = 0, []
        self._trainer = self.objective.fold_trainer(self._cfg, self.trial, 0)
        return True

    def _end_fold(self) -> None:
        self._scores.append(self.objective.fold_score(self._trainer, self.trial, self._fold))
        self._fold += 1
        if self._fold < len(self.objective.folds):
            self._trainer = self.objective.fold_trainer(self._cfg, self.trial, self._fold)
            return
        self.trial.set_user_attr("fold_scores", self._scores)
        self.trial.set_user_attr("std", float(np.std(self._scores)) if len(self._scores) > 1 else None)
        self._tell(value=float(np.mean(self._scores)))

    def _tell(self, value: float | None = None, state=None) -> None:
        self.study.tell(self.trial, value, state=state)
        self.trial, self._trainer = None, None

    def _heartbeat(self) -> None:
        """Say the trial under way is alive (database storages with heartbeats), as ``optimize`` does."""
        storage, now = self.study._storage, time.monotonic()
        if isinstance(storage, optuna.storages.RDBStorage) and storage.get_heartbeat_interval() \
                and now - self._beat >= HEARTBEAT_S / 2:
            storage.record_heartbeat(self.trial._trial_id)
            self._beat = now


def _open_search(base_cfg: RunConfig, space: SearchSpace, sampler, pruner, cv, study_name, storage, epochs,
                 seed: int) -> tuple[RunConfig, list[Dataset], optuna.Study]:
    """The base config with ``epochs``, the folds that judge a trial, and the study (created, or resumed when
    its stored settings match)."""
    base = base_cfg.replace(train=replace(base_cfg.train, epochs=epochs or base_cfg.train.epochs))
    dataset = make_dataset(base.data)
    folds = [dataset] if cv is None else cv_splits(dataset, cv, base.data.seed, base.data.standardize)
    name = study_name or f"{base.data.dataset}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    study = _create_study(name, open_storage(storage))
    _check_setup(study, _normalized({**base.to_dict(), "space": space.to_dict(), "cv": cv,
                                     "task": dataset.task}))
    study.sampler = _sampler(sampler, space, seed + len(study.trials))  # a resumed search draws anew
    study.pruner = _pruner(pruner, base.train.epochs * len(folds))
    return base, folds, study


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_ended(worker: str | None) -> bool:
    """Whether ``worker`` ("host:pid") was a process on this machine that no longer runs."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, under another user
        return False
    return False


def fail_orphans(study: optuna.Study) -> list[int]:
    """Mark failed the trials a crashed worker left RUNNING, so that they do not count toward ``n_trials``:
    those of a process on this machine that has ended, and those whose heartbeat stopped ``GRACE_S`` seconds
    ago (a worker elsewhere). Returns their numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a no-op without heartbeats (in-memory storage)
    orphans = []
    for trial in study.get_trials(deepcopy=False, states=_states("RUNNING")):
        if _process_ended(trial.user_attrs.get("worker")):
            study._storage.set_trial_user_attr(trial._trial_id, "note", "its worker stopped while running it")
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            orphans.append(trial.number)
    return orphans


def _create_study(name: str, store) -> optuna.Study:
    for attempt in range(6):
        try:
            return optuna.create_study(storage=store, study_name=name, direction="maximize", load_if_exists=True)
        except optuna.exceptions.StorageInternalError:
            if attempt == 5:
                raise
            time.sleep(0.2 * (attempt + 1))


# --- reading a study -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchResult:
    """Where a study stands. ``best_value`` is the mean validation score (accuracy, or R² for regression) of
    the best complete trial, ``best_std`` its standard deviation over the folds (None without k-fold)."""

    study_name: str
    metric: str                     # "val accuracy" or "val R²" (mean over folds with k-fold)
    cv: int | None
    best_params: dict | None
    best_value: float | None
    best_std: float | None
    best_number: int | None
    best_config: RunConfig | None = field(repr=False)   # base config + best params: "Open in Playground"
    n_trials: int                   # finished trials: complete + pruned
    n_complete: int
    n_pruned: int
    trials: list[dict] = field(repr=False)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["best_config"] = self.best_config.to_dict() if self.best_config else None
        return d


def summarize(study: optuna.Study) -> SearchResult:
    """The result of a study as stored (works for a study loaded from storage, too)."""
    setup = study.user_attrs.get("setup") or {}
    complete = study.get_trials(deepcopy=False, states=_states("COMPLETE"))
    best = max(complete, key=lambda t: t.value) if complete else None  # ties: the earliest
    base = RunConfig.from_dict(setup) if setup else None
    regression = setup.get("task") == "regression"
    return SearchResult(
        study_name=study.study_name, metric="val R²" if regression else "val accuracy", cv=setup.get("cv"),
        best_params=dict(best.params) if best else None, best_value=best.value if best else None,
        best_std=best.user_attrs.get("std") if best else None, best_number=best.number if best else None,
        best_config=config_from_params(base, best.params) if best and base else None,
        n_trials=len(study.get_trials(deepcopy=False, states=_states(*COUNTED))), n_complete=len(complete),
        n_pruned=len(study.get_trials(deepcopy=False, states=_states("PRUNED"))), trials=trials_table(study))


def load_study(study_name: str, storage=None) -> optuna.Study:
    """The stored Optuna study ``study_name``, for the chart helpers below (ConfigError when there is none)."""
    try:
        return optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError:
        raise ConfigError(f"study must name a stored study, got {study_name!r}", "study") from None


def stored_search(study_name: str, storage=None) -> tuple[RunConfig, SearchSpace, int | None]:
    """The base config (with its epochs per trial), search space and k-fold setting a stored study was run
    with: resuming it with these goes on where it stopped."""
    setup = load_study(study_name, storage).user_attrs.get("setup")
    if not setup:
        raise ConfigError(f"study {study_name!r} holds no search settings (it was not made by this program): "
                          "choose another study", "study")
    return RunConfig.from_dict(setup), SearchSpace.from_dict(setup["space"]), setup.get("cv")


def load_result(study_name: str, storage=None) -> SearchResult:
    """Where the stored study ``study_name`` stands (ConfigError when there is none)."""
    return summarize(load_study(study_name, storage))


def list_studies(storage=None) -> list[dict]:
    """Stored studies, newest first: name, dataset, trials (any state), best value, start time."""
    rows = []
    for s in optuna.get_all_study_summaries(open_storage(storage), include_best_trial=True):
        setup = s.user_attrs.get("setup") or {}
        rows.append({"name": s.study_name, "dataset": setup.get("data", {}).get("dataset"),
                     "trials": s.n_trials, "best_value": s.best_trial.value if s.best_trial else None,
                     "started": s.datetime_start.isoformat(timespec="seconds") if s.datetime_start else None})
    return sorted(rows, key=lambda r: r["started"] or "", reverse=True)


def trials_table(study: optuna.Study) -> list[dict]:
    """One row per trial: number, state, params, value, std, duration (s), note (why pruned / not run),
    worker (host:pid that ran it)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append({"number": t.number, "state": t.state.name, "params": dict(t.params), "value": t.value,
                     "std": t.user_attrs.get("std"), "duration": duration, "note": t.user_attrs.get("note", ""),
                     "worker": t.user_attrs.get("worker")})
    return rows


def history_records(study: optuna.Study) -> list[dict]:
    """For the optimization-history chart: each complete trial's value and the best so far, by trial number."""
    rows, best = [], -math.inf
    for t in sorted(study.get_trials(deepcopy=False, states=_states("COMPLETE")), key=lambda t: t.number):
        best = max(best, t.value)
        rows.append({"trial": t.number, "value": t.value, "best": best})
    return rows


def importance_records(study: optuna.Study, seed: int = 0) -> list[dict]:
    """For the importance chart: each searched setting's share of the score's variance (fANOVA), largest
    first; empty while there are too few complete trials (fewer than 2, or no setting varied yet)."""
    complete = study.get_trials(deepcopy=False, states=_states("COMPLETE"))
    if len(complete) < 2:
        return []
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    try:
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError):
        return []
    return [{"param": k, "importance": float(v)} for k, v in
            sorted(importances.items(), key=lambda kv: -kv[1])]
