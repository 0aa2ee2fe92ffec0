"""Per-browser-session state, in one namespaced ``st.session_state`` entry reached only through here.

Nothing per-user lives in module globals or ``st.cache_resource`` (those are shared by every user).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from nncore.train.snapshot import Snapshot
from nncore.train.trainer import Trainer

NAMESPACE = "nnplay"


@dataclass
class LiveState:
    """What the live loop (``ui.session.live``) keeps for one thing that trains live: a page's run, the race,
    a search, a lesson. The server's gate reads and writes ``playing``, ``notice`` and ``trained_seconds``."""

    playing: bool = False
    trained_seconds: float = 0.0      # wall seconds it has trained (bounded by NNPLAY_MAX_RUN_SECONDS)
    notice: str = ""                  # one-off message ("the run was reset because …", "this run used …")
    frame_seconds: float | None = None  # the frame timer's period while playing (None: no timer)
    full_run: bool = False            # the next frame is drawn inside a whole-page run, not on the timer

    def close(self) -> None:
        """Its browser tab closed: stop, and drop what it trained (subclasses drop their own work)."""
        self.playing = False


@dataclass
class RunSession(LiveState):
    """One page's live run and its controls."""

    trainer: Trainer | None = None
    page: str = ""                    # which page the run belongs to
    snapshot: Snapshot | None = None  # the latest frame drawn
    cache: dict = field(default_factory=dict)  # derived views of the current run (e.g. evaluations per epoch)
    view: dict = field(default_factory=dict)   # the live view's choices (e.g. which hidden layer it shows)
    app_rerun: bool = False           # an event changed the page's settings: the whole page runs again
    event_notice: str = ""            # what that event did, said instead of the plain "the run was reset"

    def close(self) -> None:
        """Back to a page without a run (the widgets keep its settings, should the tab come back)."""
        fresh = RunSession(page=self.page, notice="The connection was lost, so this run was stopped and cleared; "
                                                  "press Play to start again.")
        self.__dict__.update(fresh.__dict__)


def space() -> dict:
    """This browser session's namespace (created on first use)."""
    ns = st.session_state.setdefault(NAMESPACE, {})
    _release_hook(ns.setdefault("session_id", _session_id())).setdefault("space", ns)
    return ns


def _session_id() -> str:
    import uuid
    return uuid.uuid4().hex


def _free(hook: dict) -> None:
    """A closed tab (a disconnected session): the one release hook of a browser session. It gives back the
    session's training slot and closes everything that trains live in it (each ``LiveState``: the pages' runs,
    the race, a search), then frees the memory its views held."""
    import gc

    from nncore.limits import training_slots
    ns = hook.get("space", {})
    training_slots().release(ns.get("session_id", ""))
    for value in list(ns.values()):
        if isinstance(value, LiveState):
            value.close()
    ns.pop("history", None)
    ns.pop("views", None)  # the last frames of the Lessons' and the race's live views
    ns.pop("live_feeds", None)  # the live views' frame feeds: their addresses stop answering (ui/liveview/fast.py)
    ns.pop("tables", None)
    gc.collect()
    return_memory_to_os()


def return_memory_to_os() -> None:
    """Hand freed heap pages back to the system (glibc's malloc_trim): without it the allocator keeps what
    closed sessions freed, and the server's resident memory stays well above its start (docs/measurements.md);
    elsewhere a no-op."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


@st.cache_resource(scope="session", on_release=_free, show_spinner=False)
def _release_hook(session_id: str) -> dict:
    """One object per browser session whose release (the tab closed) frees everything it trains."""
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
    name = (f"#{number} {cfg.data.dataset} {cfg.model.describe()} "
            f"{cfg.model.activation} {cfg.train.optimizer} lr {cfg.train.learning_rate:g}")
    history.append(RunRecord(name, page, snap))
    del history[:-MAX_HISTORY]
