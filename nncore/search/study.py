"""Hyperparameter search: an Optuna study over a ``SearchSpace``, judged by hold-out or k-fold validation.

Each trial trains one network per fold with the ordinary ``Trainer`` and scores it by validation accuracy
(R² for regression); per-epoch scores feed the pruner. Studies live in a SQLite file by default
(``default_storage_url``), so a search survives a restart and resumes where it stopped. Any number of
workers (``python -m nncore search --study NAME --storage URL``) can share one database: ``n_trials`` is the
total number of finished (complete or pruned) trials the study should hold, and together they finish
exactly that many.
"""

from __future__ import annotations

import json
import math
import time
import uuid
import warnings
from dataclasses import replace

import numpy as np

from nncore.inspect import metrics
from nncore.config import RunConfig, _choice, _fail, _range
from nncore.data import Dataset, make_dataset
from nncore.data.scaling import fit_scaling
from nncore.errors import ConfigError
from nncore.registry import Registry
from nncore.train.trainer import Trainer
from nncore.search.space import SearchSpace, config_from_params
from nncore.search.storage import (COUNTED, HEARTBEAT_S, _create_study, _states, _worker, fail_orphans, open_storage,
                                   optuna)
from nncore.search.results import (SearchResult, summarize)


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
