"""Where studies live: the storage (SQLite by default, a shared database URL for several processes), opening
and creating studies, and failing the trials a dead worker left running."""

from __future__ import annotations

import importlib
import os
import socket
import time
import warnings


from nncore.errors import ConfigError


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


def load_study(study_name: str, storage=None) -> optuna.Study:
    """The stored Optuna study ``study_name``, for the chart helpers below (ConfigError when there is none)."""
    try:
        return optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError:
        raise ConfigError(f"study must name a stored study, got {study_name!r}", "study") from None
