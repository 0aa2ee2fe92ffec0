"""The one live loop: everything that trains while a page is open (Playground, Images, the Compare race, a
search's trials, a lesson's variants) trains through here.

The loop owns the flags (Play/Pause/Step/Reset only flip them, via ``on_click``), the fragment that re-runs
every frame while playing, each frame's slice of training, and the one question asked before every slice:
may this session train now (``gate.may_train``: a shared training slot, and NNPLAY_MAX_RUN_SECONDS). A page
supplies a ``Work`` (how to advance one slice, what it looks like without training, whether there is more)
and a ``draw`` function. A closed tab's work is freed by the session's one release hook (``state._free``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from nncore.config import RunConfig, changed_fields
from nncore.errors import ConfigError
from nncore.limits import training_slots
from nncore.train.snapshot import Snapshot
from nncore.train.trainer import Trainer
from ui.liveview import fast
from ui.safe import server_text
from ui.session import gate, state
from ui.session.state import LiveState, RunSession

# Speed: optimizer steps per frame, or "max" = as many as fit in a time slice.
SPEEDS = {"1 step": 1, "10 steps": 10, "100 steps": 100, "max": None}
FRAME_SECONDS = 0.05        # a new frame every 0.05 s while playing (20 frames/s; the browser eases between them)
SLOW_FRAME_SECONDS = 2.0    # heavier views (per-epoch evaluations) refresh at this pace while playing
TRAIN_SLICE_SECONDS = 0.035  # training time per frame at "max", leaving the rest for building and sending it
FULL_RUN_SLICE_SECONDS = 0.01  # training in a whole-page run (a click or a setting changed): the answer comes first
CORES = os.cpu_count() or 1


def pace(active: int, cores: int = CORES) -> tuple[float, float]:
    """(seconds between frames, training seconds per frame) for a session while ``active`` sessions train on
    this server. Up to one training per core runs at full pace; beyond that (``share`` sessions per core) every
    session's frames come ``share`` times less often and train for a slice ``share``² times shorter: the
    server's work per second then falls as sessions are added, leaving room for what users wait on (frames
    and the answers to their clicks) rather than for more training steps (slices only ``share`` times shorter
    kept a loaded server too busy to answer clicks promptly: docs/measurements.md)."""
    share = max(1, math.ceil(active / max(cores, 1)))
    return FRAME_SECONDS * share, TRAIN_SLICE_SECONDS / share ** 2


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Work:
    """What a page trains live, as the loop sees it. Its functions read the page's session when called (a run
    may be replaced between two frames)."""

    advance: Callable[[int | None, float], Any]  # train `steps` steps (None: about `seconds`); returns the frame
    still: Callable[[], Any]                     # the frame without training (paused, waiting, finished)
    running: Callable[[], bool]                  # more to train (False once finished, diverged or stopped)
    ready: Callable[[], bool] = lambda: True     # something to train at all (else `missing` is shown)
    reset: Callable[[], None] = _nothing         # back to its start (the Reset button)
    what: str = "run"                            # its name in the gate's messages
    restart: str = "save it, or press Reset to start a new one"  # what to do once out of training time
    missing: str = "Fix the settings in the sidebar to start."
    pace: Callable[[int], tuple[float, float]] = pace  # (frame period, training slice) with this many trainings
    full_run_slice: float | None = None          # the slice in a whole-page run (None: the same as on the timer)
    before: Callable[[], None] = _nothing        # first thing in every frame (e.g. a whole-page rerun asked for)
    time_up: Callable[[], None] = _nothing       # the gate stopped it for good (its training time is used up)


def train_slice(session: LiveState, advance: Callable[[int | None, float], Any], *, seconds: float,
                steps: int | None = None, what: str = "run",
                restart: str = "save it, or press Reset to start a new one") -> tuple[bool, Any]:
    """One slice of training through the server's gate: ``gate.may_train`` is asked once, then
    ``advance(steps, seconds)`` trains and its wall time counts against the session's NNPLAY_MAX_RUN_SECONDS.
    Returns (True, what ``advance`` returned), or (False, None) when the gate refused: the server is full (the
    session waits in line, told so) or the time is used up (``session.playing`` is then False)."""
    if not gate.may_train(session, what, restart):
        return False, None
    return True, metered(session, advance, steps, seconds)


def metered(session: LiveState, advance: Callable[[int | None, float], Any], steps: int | None, seconds: float):
    """``advance(steps, seconds)`` with its wall time counted against the session's NNPLAY_MAX_RUN_SECONDS: the one
    meter, for the timer's slices and for the live view's fast path (``ui.liveview.fast``, gated too)."""
    started = time.perf_counter()
    frame = advance(steps, seconds)
    session.trained_seconds += time.perf_counter() - started
    return frame


def play(session: LiveState) -> None:
    session.playing = True
    session.notice = ""


def pause(session: LiveState) -> None:
    session.playing = False
    gate.release()


def step(session: LiveState, work: Work) -> None:
    """One optimizer step, paused (a click: answered at once, like every click, outside the frame timer)."""
    session.playing = False
    work.advance(1, 0.0)


def reset(session: LiveState, work: Work) -> None:
    session.playing = False
    gate.release()
    work.reset()
    session.trained_seconds = 0.0
    session.notice = ""


@dataclass(frozen=True)
class Buttons:
    """A page's Play / Pause / Step / Reset row: labels, widget keys (``f"{key}.{name}"``) and help."""

    key: str
    play: str = "Play"
    pause: str = "Pause"
    step: str = "Step"
    reset: str = "Reset"
    play_name: str = "play"                      # the Play button's key name
    step_help: str = "one optimizer step on one mini-batch"
    reset_help: str = "start the same run again from its initial weights"
    speed: bool = True                           # with the Speed control (steps per frame)
    only_while_running: bool = False             # Play and Step disabled once nothing is left to train


def buttons(session: LiveState, work: Work, spec: Buttons) -> str | None:
    """The row of controls, then the session's notice; returns the chosen speed (None without the control)."""
    missing = not work.ready()
    finished = missing or (spec.only_while_running and not work.running())
    play_col, pause_col, step_col, reset_col, speed_col = st.columns([1, 1, 1, 1, 3], vertical_alignment="bottom")
    play_col.button(spec.play, on_click=play, args=(session,), type="primary", disabled=finished, width="stretch",
                    key=f"{spec.key}.{spec.play_name}")
    pause_col.button(spec.pause, on_click=pause, args=(session,), width="stretch", key=f"{spec.key}.pause")
    step_col.button(spec.step, on_click=step, args=(session, work), disabled=finished, width="stretch",
                    key=f"{spec.key}.step", help=spec.step_help)
    reset_col.button(spec.reset, on_click=reset, args=(session, work), disabled=missing, width="stretch",
                     key=f"{spec.key}.reset", help=spec.reset_help)
    speed = (speed_col.select_slider("Speed (steps per frame)", list(SPEEDS), "max", key=f"{spec.key}.speed",
                                     persist_state="session") if spec.speed else None)
    notice = st.container()  # always there, so a message does not move the live view (which would remount it)
    if session.notice:
        notice.info(session.notice)
    return speed


def fragment(session: LiveState, work: Work, draw: Callable[[Any], None], *, steps: int | None = None,
             slow: Callable[[], None] | None = None) -> None:
    """The frame: while playing, one slice of ``work`` per timer tick (``steps`` steps, or the pace's slice of
    time), then ``draw(frame)``; stopped (timer and training slot) once nothing is left to train or the gate
    says no more. ``slow`` (if any) draws below it in its own fragment at a slower pace."""

    def frame():
        was_playing = session.playing
        work.before()
        if not work.ready():
            st.warning(work.missing)
            return
        full_run, session.full_run = session.full_run, False
        trained, shown = False, None
        if session.playing and work.running():
            _, seconds = work.pace(training_slots().busy)
            if full_run and work.full_run_slice is not None:  # a click is being answered: train briefly first
                seconds = min(seconds, work.full_run_slice)
            trained, shown = train_slice(session, work.advance, seconds=seconds, steps=steps, what=work.what,
                                         restart=work.restart)
            if not session.playing:
                work.time_up()
        if not trained:
            shown = work.still()
        draw(shown)
        if session.playing and work.running():
            if work.pace(training_slots().busy)[0] != session.frame_seconds:
                st.rerun()  # the server got busier or quieter: start the timer again at the new pace
            return
        gate.release()
        if was_playing:  # finished, diverged, stopped early, or out of training time: stop the timer
            session.playing = False
            st.rerun()

    session.frame_seconds = work.pace(training_slots().busy)[0] if session.playing else None
    session.full_run = True  # this call runs the fragment inline, as part of the whole page's run
    st.fragment(frame, run_every=session.frame_seconds)()
    if slow is None:
        return
    # the slower views slow down with the frames when the server is busy (each refresh redraws the page)
    slow_seconds = SLOW_FRAME_SECONDS * pace(training_slots().busy)[0] / FRAME_SECONDS if session.playing else None
    st.fragment(slow, run_every=slow_seconds)()


# --- the pages that train one Trainer (Playground, Images) ---------------------------------------------------

def sync(session: RunSession, cfg: RunConfig | None, make_trainer: Callable[[RunConfig], Trainer]) -> None:
    """Bring the run in line with the sidebar: start one, reset it (data or network changed, and say so), or
    pass new training settings to it mid-run. ``cfg`` None (invalid settings) keeps the run as it is. Holds the
    run (``fast.guard``): the fast path's worker may be training it."""
    if cfg is None:
        return
    with fast.guard(session):
        trainer = session.trainer
        if trainer is None:
            _start(session, cfg, make_trainer, "")
            return
        changed = _new_run_fields(trainer, cfg)
        if changed:
            _start(session, cfg, make_trainer,
                   f"{', '.join(changed)} changed: the run was reset (new data or network).")
        else:
            _update_train(trainer, cfg, st.sidebar)


def steer(session: RunSession, cfg: RunConfig) -> bool:
    """For a rerun of a sidebar training setting alone (``training_sidebar``'s ``apply``): pass ``cfg``'s
    training settings to the run and return True, where that is all the change asks and the live view fetches
    its own frames (its next frame shows the change). False where the whole page must run instead: a new run
    (the data or the network changed), a view that does not fetch (paused, or no fast path), whose status
    line only the page redraws, or settings the run refuses (the page says why)."""
    with fast.page_run(), fast.guard(session):
        trainer = session.trainer
        if trainer is None or not fast.fetching(session) or _new_run_fields(trainer, cfg):
            return False
        if cfg.train != trainer.cfg.train:
            try:
                gate.check(cfg, trainer.dataset)
                trainer.update_train(cfg.train)
            except ConfigError:
                return False  # refused: the page's run says why (sync), in the sidebar
    return True


def _new_run_fields(trainer: Trainer, cfg: RunConfig) -> list[str]:
    """The data and network settings in which ``cfg`` differs from the run's: any of them needs a new run."""
    return changed_fields(trainer.cfg.data, cfg.data) + changed_fields(trainer.cfg.model, cfg.model)


def _update_train(trainer: Trainer, cfg: RunConfig, messages) -> None:
    """New training settings for the running ``trainer``; a refusal is shown in ``messages`` (a container)."""
    if cfg.train == trainer.cfg.train:
        return
    try:
        gate.check(cfg, trainer.dataset)  # e.g. Epochs raised mid-run beyond NNPLAY_MAX_EPOCHS
        trainer.update_train(cfg.train)
    except ConfigError as e:
        messages.error(server_text(e))


def _start(session: RunSession, cfg: RunConfig, make_trainer, notice: str) -> None:
    try:
        gate.check(cfg)  # this server's limits (NNPLAY_* variables), before any data is generated
        trainer = make_trainer(cfg)
        gate.check(cfg, trainer.dataset)
    except ConfigError as e:  # e.g. a model the chosen engine cannot train, or a dataset that cannot load
        st.error(server_text(e))
        return
    state.archive_run(session.page, session.trainer)  # the replaced run stays comparable
    session.trainer = trainer
    session.trained_seconds = 0.0
    session.notice = session.event_notice or notice or session.notice  # keep a message about why it was reset
    session.event_notice = ""
    session.cache.clear()


def trainer_work(session: RunSession) -> Work:
    """A page's run (``session.trainer``) as the loop's work."""

    def advance(steps, seconds):
        trainer = session.trainer
        return trainer.run(steps=steps) if steps else trainer.run(seconds=seconds)

    def again():
        state.archive_run(session.page, session.trainer)  # the run it replaces stays comparable
        session.trainer = Trainer(session.trainer.cfg, session.trainer.dataset)
        session.cache.clear()

    def before():
        if session.app_rerun:  # an event of the live view changed the page's settings (network, inputs, data)
            session.app_rerun = False
            st.rerun()

    return Work(advance=advance, still=lambda: session.trainer.snapshot(), running=lambda: session.trainer.running,
                ready=lambda: session.trainer is not None, reset=again, before=before,
                full_run_slice=FULL_RUN_SLICE_SECONDS)


def controls(session: RunSession, key: str) -> str:
    """Play / Pause / Step / Reset and the speed control; returns the chosen speed."""
    return buttons(session, fast.work(session, trainer_work(session)), Buttons(key))


def run_fragment(session: RunSession, speed: str, draw: Callable[[Snapshot, Trainer], None],
                 slow_draw: Callable[[Snapshot, Trainer], None] | None = None) -> None:
    """Train one slice per timer tick while playing, then ``draw(snapshot, trainer)``. ``slow_draw`` (if any)
    draws below it in its own fragment at a slower pace, from the latest snapshot."""

    def show(snap: Snapshot) -> None:
        session.snapshot = snap
        draw(snap, session.trainer)

    def slow() -> None:
        if session.trainer is not None and session.snapshot is not None:
            slow_draw(session.snapshot, session.trainer)

    # where the app serves the live view's fast path, the view fetches its frames itself (ui/liveview/fast.py)
    fragment(session, fast.work(session, trainer_work(session), speed), fast.guarding(session, show),
             steps=SPEEDS[speed], slow=fast.guarding(session, slow, serves=False) if slow_draw else None)
