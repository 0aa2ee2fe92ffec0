"""The one gate for everything that trains on this server: Playground, Images, the race, lessons, search
trials, a loaded checkpoint and settings changed mid-run.

``check`` refuses a run's settings beyond the server's limits before anything is built (so a file asking for a
million points never generates them); ``may_train`` is asked before every slice of training (by the live loop,
``ui.session.live.train_slice``): it grants one of the shared training slots and enforces the run's
NNPLAY_MAX_RUN_SECONDS.
"""

from __future__ import annotations

import streamlit as st

from nncore.config import RunConfig
from nncore.data.images import is_fashion_mnist_available
from nncore.errors import ConfigError
from nncore.limits import Limits, check_run, load_limits, training_slots

from ui.session import state


def limits() -> Limits:
    """This server's limits (the NNPLAY_* variables, read now)."""
    return load_limits()


def check(cfg: RunConfig, dataset=None) -> None:
    """Raise ConfigError naming the NNPLAY_* variable when ``cfg`` goes beyond this server's limits. Called with
    ``dataset`` None before the data is built, and again with it once built (e.g. an uploaded table's classes)."""
    check_run(cfg, load_limits(), dataset)


def check_data_on_disk(cfg: RunConfig) -> None:
    """Raise ConfigError when ``cfg`` needs image data this server has not downloaded: only a person on the
    Images page starts a download, never a file that was loaded."""
    if cfg.data.dataset == "fashion_mnist" and not is_fashion_mnist_available():
        raise ConfigError("this run trains on FashionMNIST, which this server has not downloaded yet: download it "
                          "on the Images page first, then load the file again", "dataset")


def may_train(session, what: str = "run", restart: str = "save it, or press Reset to start a new one") -> bool:
    """Whether ``session`` (a ``state.LiveState``: ``playing``, ``notice``, ``trained_seconds``) may train one
    more slice now: it may use NNPLAY_MAX_RUN_SECONDS of training in all, and at most NNPLAY_MAX_TRAININGS sessions
    train at once (the others wait in line, told so)."""
    verdict = grant(session, state.session_id())
    if verdict == "limit":
        bounds = load_limits()
        session.playing = False
        session.notice = (f"This {what} used the {bounds.max_run_seconds:g} s of training this server allows a "
                          f"run (NNPLAY_MAX_RUN_SECONDS): {restart}.")
        release()
    elif verdict == "busy":
        slots = training_slots()
        place = slots.queue_position(state.session_id())
        st.warning(f"The server is busy: {slots.busy} trainings are running. You are number {place} in line; "
                   f"your {what} starts by itself as soon as one finishes or pauses.", icon="⏳")
    return verdict == "ok"


def grant(session, session_id: str) -> str:
    """The gate's answer without Streamlit or side effects beyond the slot, for training outside a script run
    (the live view's fast path): "ok" (a training slot is held), "limit" (the run used its
    NNPLAY_MAX_RUN_SECONDS) or "busy" (every slot taken: the session waits in line)."""
    if session.trained_seconds >= load_limits().max_run_seconds:
        return "limit"
    return "ok" if training_slots().acquire(session_id) else "busy"


def release() -> None:
    """Give this session's training slot back (paused, finished or stopped)."""
    training_slots().release(state.session_id())
