"""Per-browser-session state, in one namespaced ``st.session_state`` entry reached only through here.

Nothing per-user lives in module globals or ``st.cache_resource`` (those are shared by every user).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from nncore.train.trainer import Snapshot, Trainer

NAMESPACE = "nnplay"


@dataclass
class RunSession:
    """One page's live run and its controls."""

    trainer: Trainer | None = None
    page: str = ""                    # which page the run belongs to
    playing: bool = False
    trained_seconds: float = 0.0      # wall seconds this run has trained (bounded by NNPLAY_MAX_RUN_SECONDS)
    notice: str = ""                  # one-off message shown after a reset ("the run was reset because …")
    snapshot: Snapshot | None = None  # the latest frame drawn
    frame_seconds: float | None = None  # the frame timer's period while playing (None: no timer)
    full_run: bool = False            # the next frame is drawn inside a whole-page run, not on the timer
    cache: dict = field(default_factory=dict)  # derived views of the current run (e.g. evaluations per epoch)
    view: dict = field(default_factory=dict)   # the live view's choices (e.g. which hidden layer it shows)
    app_rerun: bool = False           # an event changed the page's settings: the whole page runs again
    event_notice: str = ""            # what that event did, said instead of the plain "the run was reset"


def space() -> dict:
    """This browser session's namespace (created on first use)."""
    ns = st.session_state.setdefault(NAMESPACE, {})
    _release_hook(ns.setdefault("session_id", _session_id())).setdefault("space", ns)
    return ns


def _session_id() -> str:
    import uuid
    return uuid.uuid4().hex


def _free(hook: dict) -> None:
    """A closed tab (a disconnected session): stop its runs, give back its training slot, free its memory.
    Runs only with nothing but their settings kept: widgets remember them if the tab comes back."""
    import gc

    from nncore.limits import training_slots
    ns = hook.get("space", {})
    training_slots().release(ns.get("session_id", ""))
    for key in [k for k in ns if k.startswith("run.")]:
        ns[key] = RunSession(page=key[len("run."):], notice="The connection was lost, so this run was stopped "
                                                            "and cleared; press Play to start again.")
    search = ns.get("search")
    if getattr(search, "search", None) is not None:  # a search stops now: its trial under way is set aside
        if not search.search.finished:
            search.search.stop("stopped: its browser tab was closed")
        search.search, search.playing = None, False
        search.notice = "The connection was lost, so the search was stopped; pick its study to resume it."
    ns.pop("history", None)
    ns.pop("views", None)  # the last frames of the Lessons' and the race's live views
    ns.pop("tables", None)
    gc.collect()
    return_memory_to_os()


def return_memory_to_os() -> None:
    """Hand freed heap pages back to the system (glibc's malloc_trim). Without it the server's resident memory
    stayed ~85 MB above the start after four sessions had closed (freed, but kept by the allocator for reuse),
    with it ~30 MB (measured with benchmarks/load.py); elsewhere a no-op."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


@st.cache_resource(scope="session", on_release=_free, show_spinner=False)
def _release_hook(session_id: str) -> dict:
    """One object per browser session whose release (the tab closed) frees that session's runs."""
    return {}


def run_session(page: str) -> RunSession:
    """The live run of ``page`` ("playground", "images", ...) for this browser session."""
    return space().setdefault(f"run.{page}", RunSession(page=page))


def session_id() -> str:
    """This browser session's id (for the server-wide training slots)."""
    return space()["session_id"]


MAX_HISTORY = 12  # finished or replaced runs kept per session for comparison (their snapshots only)


@dataclass(frozen=True)
class RunRecord:
    """A run kept for comparison: its name, page, and last snapshot (config, histories, metrics)."""

    name: str
    page: str
    snapshot: Snapshot


def run_history() -> list[RunRecord]:
    """This session's kept runs, oldest first (at most MAX_HISTORY)."""
    return space().setdefault("history", [])


def archive_run(page: str, trainer: Trainer | None) -> None:
    """Keep ``trainer``'s run for comparison (when it is replaced or reset), if it trained at all."""
    if trainer is None or trainer.epoch == 0:
        return
    history = run_history()
    snap = trainer.snapshot()
    cfg = snap.config
    number = space()["runs_kept"] = space().get("runs_kept", 0) + 1  # never reused, even once old runs drop out
    name = (f"#{number} {cfg.data.dataset} {','.join(map(str, cfg.model.hidden)) or 'linear'} "
            f"{cfg.model.activation} {cfg.train.optimizer} lr {cfg.train.learning_rate:g}")
    history.append(RunRecord(name, page, snap))
    del history[:-MAX_HISTORY]
