"""Reading a study: where it stands (``SearchResult``), its stored settings, and the rows of its charts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields


from nncore.config import RunConfig
from nncore.errors import ConfigError
from nncore.search.space import SearchSpace, config_from_params
from nncore.search.storage import COUNTED, _states, load_study, open_storage, optuna


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
