"""``python -m nncore search ...``: a hyperparameter search (nncore.search.study) from the command line."""

from __future__ import annotations

import json

from nncore import settings
from nncore.cli.main import add_setting_flag
from nncore.config import DataConfig, RunConfig, TrainConfig
from nncore.errors import ConfigError
from nncore.search.space import SearchSpace
from nncore.search.study import PRUNERS, SAMPLERS, run_search


def add_command(subparsers) -> None:
    p = subparsers.add_parser("search", help="hyperparameter search with Optuna (workers can share a study)")
    for name in ("dataset", "n_points", "noise", "seed", "classes", "engine"):  # as ``train`` has them
        add_setting_flag(p, settings.get(name))
    p.add_argument("--trials", type=int, default=None,
                   help="total finished trials the study should hold, shared by all its workers (default 20 "
                        "without --minutes)")
    p.add_argument("--minutes", type=float, default=None, help="stop starting trials after this long")
    p.add_argument("--sampler", default="tpe", choices=list(SAMPLERS))
    p.add_argument("--sampler-seed", type=int, default=0, help="give each worker sharing a study its own")
    p.add_argument("--pruner", default="off", choices=list(PRUNERS))
    p.add_argument("--cv", type=int, default=None, metavar="K", help="judge by K-fold cross-validation")
    p.add_argument("--study", default=None, help="study name: resume it, or share it between workers")
    p.add_argument("--storage", default=None,
                   help='database URL (default: studies.db in the data folder; "memory": this process only)')
    p.add_argument("--epochs", type=int, default=30, help="epochs per trial")
    p.add_argument("--space", default=None, help='search space as JSON, e.g. \'{"learning_rate": [0.001, 0.1], '
                                                 '"depth": [1, 2], "dropout": null}\'')
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--verbose", action="store_true", help="show Optuna's own log lines")
    p.set_defaults(func=cmd_search)


def cmd_search(a) -> int:
    import optuna  # imported when a search runs: ``train`` and ``--help`` do without it
    if not a.verbose:  # per-trial lines come from ``show``; errors still surface as exceptions
        optuna.logging.set_verbosity(optuna.logging.ERROR)
    cfg = RunConfig(data=DataConfig(dataset=a.dataset, n_points=a.n, noise=a.noise, seed=a.seed, classes=a.classes),
                    train=TrainConfig(engine=a.engine, epochs=a.epochs))
    try:
        space = SearchSpace.from_dict(json.loads(a.space)) if a.space else SearchSpace()
    except json.JSONDecodeError as e:
        raise ConfigError(f"space must be a JSON object, got {a.space!r} ({e.msg})", "space") from None

    def show(study, trial):
        value = "" if trial.value is None else f"{trial.value:.4f}"
        std = trial.user_attrs.get("std")
        print(f"trial {trial.number:4d}  {trial.state.name:8s}  {value}{f' ± {std:.4f}' if std is not None else ''}"
              f"  {trial.user_attrs.get('note', '')}  {trial.params}", flush=True)

    from nncore.data import make_dataset
    from nncore.engines import make_engine, set_threads_for
    set_threads_for(make_engine(cfg, make_dataset(cfg.data)))  # the process's thread count, as ``train`` chooses it

    n_trials = a.trials if a.trials is not None or a.minutes is not None else 20
    result = run_search(cfg, space, n_trials=n_trials, minutes=a.minutes, sampler=a.sampler, pruner=a.pruner,
                        cv=a.cv, study_name=a.study, storage=a.storage, epochs=a.epochs, seed=a.sampler_seed,
                        callbacks=None if a.json else [show])
    if a.json:
        print(json.dumps(result.to_dict()))
    elif result.best_value is None:
        print(f"study {result.study_name}: {result.n_trials} trials, none complete")
    else:
        std = f" ± {result.best_std:.4f}" if result.best_std is not None else ""
        print(f"study {result.study_name}: {result.n_trials} trials ({result.n_pruned} pruned); best "
              f"{result.metric} {result.best_value:.4f}{std} (trial {result.best_number}): {result.best_params}")
    return 0
