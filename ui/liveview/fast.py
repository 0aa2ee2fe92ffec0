"""Live frames without a script rerun per frame ("the fast path").

While a run plays, the live view asks the server for its next frame over its own WebSocket (``<base>/_nnplay/
live/<token>``): one message asks, one answers, one request in flight, the next one sent as soon as a frame
arrives. (A socket, not a request per frame: an HTTP request costs the browser 8-11 ms of CPU and the server its
whole middleware stack; a message ~3 ms, measured in docs/measurements.md.) The handler finds the browser
session's run by an unguessable token, trains one slice in a worker thread (never on the server's event loop)
through the same gate and limits as the script (``ui.session.gate``), builds the frame with the view's own
FrameBuilder and answers with its bytes, gzipped: after a socket's first frame, only what changed since the
frame before (``payload.changes``; the view makes it whole). Having answered, it starts the next frame at once
(one frame ahead, ``Ahead``): the run trains while the browser takes in and draws this one, and the next
request finds its frame ready instead of waiting a slice for it. At the "max" speed a frame made ahead keeps
training past its slice (``made_ahead``) until its request comes and, after it, while the browser is still
drawing the frame it has (it asks as soon as a frame arrives, before drawing it): until DRAW_SHARE of the
drawing time it reports, and at least until the frame may be sent (the frame period), less the time a frame
takes to build (``Feed.due``), so the run does not stand still while the browser is busy or the answer waits,
and the frame is there about when the browser is free for it. A click answered meanwhile goes first: the frame
lets go of the run's lock until the click's page run ends, then trains on with what the click set. Script reruns
then happen only for clicks and changes of state, and on a slow timer (SLOW_TICK_SECONDS, a safety net: the
gate's answers reach the view through its feed), so clicks are answered at once. The run's status line comes
with each frame (the view shows it: it always describes the picture drawn), not with the script's ticks.

A closed tab stops its work: its socket closes with it (a slice is trained only for a request, or for the one
frame ahead of the last request), and the session's release hook drops its tokens. The route exists only where
``streamlit run app.py`` serves the app (``app.py`` hands ``routes()`` to ``st.App``); elsewhere (AppTest, a
page run on its own) nothing is served and the live loop trains on the script's timer as before.

Answers: a frame (binary); or, as text, "404 unknown" for a token this server does not know (any more: the tab
closed) and "409 <why>" when the run does not train on this path now (paused, finished, its training time used
up, the server busy, a request already in flight). On anything but a frame of a playing run the view stops
asking, closes the socket and has the script run its fragment again, which says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gzip
import math
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

PATH = "/_nnplay/live/{token}"
SLOW_TICK_SECONDS = 4.0   # the live fragment's timer while the view fetches its frames (a safety net: a stop, a
                          # limit or a busy server reach the view through its feed; each tick costs the browser
                          # a page update, ~2-3 ms of its time per frame at one tick a second)
MAX_SLICES = 4           # a slice trains at most this many of the timer's slices (see slice_seconds)
PAGE_RUN_WAIT_SECONDS = 1.0  # a frame waits at most this long for a whole-page run of its session to end
GZIP_LEVEL = 1           # frames compress to ~40% at level 1; higher levels cost far more for little
WORKERS = 4              # threads that train and build frames for the route, for all sessions together
AHEAD_FRESH_SECONDS = 1.0  # a frame made ahead and not asked for within this long is dropped (a new one is made)
AHEAD_TRAIN_SECONDS = 0.5  # a frame made ahead trains at most this long (a browser busy with a click's page update
                           # asks late: the run trains on meanwhile; a closed tab's frame ends here)
CHUNK_SECONDS = 0.004    # a frame made ahead trains past its slice in chunks this long, looking up between them
EMA = 0.3                # weight of the newest build time in the feed's running mean of them
DRAW_SHARE = 0.75        # a frame made ahead is due this share of the browser's drawing time after its request

# token -> feed, every session of this process; weak: a browser session's namespace holds its feeds
# (``space()["live_feeds"]``), and the session's release hook (``state._free``) drops them, which ends their tokens
_feeds: weakref.WeakValueDictionary[str, Feed] = weakref.WeakValueDictionary()
_feeds_lock = threading.Lock()
_served = False                 # routes() was called: this process serves PATH
_pool: ThreadPoolExecutor | None = None
_armed: contextvars.ContextVar[Feed | None] = contextvars.ContextVar("nnplay_live_feed", default=None)


class Feed:
    """One run's frames on the fast path: its session, the lock its trainer is used under, and how a frame of it
    is built (``render``, set by the view that draws it)."""

    def __init__(self, session, session_id: str):
        self.token = secrets.token_urlsafe(24)
        self.session = session
        self.session_id = session_id
        self.lock = threading.RLock()   # the run's trainer: the script or a worker, one at a time
        self.render: Callable | None = None  # (snapshot, trainer, playing) -> frame bytes
        self.speed = "max"
        self.in_flight = False
        self.next_at = 0.0              # monotonic time before which the next frame is not started
        self.broken = False             # the browser could not reach the path: the script's timer trains
        self.page_runs = 0              # whole-page script runs under way in this session (see page_run)
        self.page_runs_begun = 0        # ... and begun so far (a frame made ahead of one is not sent)
        self.begun_trained = 0          # page_runs_begun when the last slice began
        self.ahead: Ahead | None = None  # the next frame, being made (or made) before the browser asks for it
        self.asked = threading.Event()  # the browser asked for the frame being made ahead (set by the route)
        self.asked_at = 0.0             # when the browser asked for the frame being made ahead (monotonic) ...
        self.asked_drawing = 0.0        # ... and how long it said it takes to draw a frame (seconds)
        self.build_seconds = 0.0        # running mean: seconds to build (and compress) a frame
        self.sent: tuple[int, dict] | None = None  # (id, arrays) of the last frame sent: the next builds on it

    def due(self, share: float = DRAW_SHARE) -> float:
        """When the frame being made ahead is to be built (monotonic): not before its request (infinity until it
        comes); then ``share`` of the browser's drawing time after it, since the browser asks before it draws
        the frame it has just received, and not before the frame may be sent (``next_at``: it would wait there
        with the run standing still); in both cases less the frame's building (its running mean)."""
        if not self.asked.is_set():
            return math.inf
        sent = max(self.asked_at + share * self.asked_drawing, self.next_at)
        return sent - self.build_seconds

    @property
    def url(self) -> str:
        return base_path() + PATH.format(token=self.token)


class Answer(NamedTuple):
    """What the route makes for a request: a status (200: a frame; 404, 409: see the module's docstring) and
    body, the run's step the frame shows, how many whole-page runs of the session had begun when its slice began
    (``Feed.page_runs_begun``), and when its frame began to be built (monotonic; its training was over). A frame
    as sent: ``body`` gzipped, only what changed since the frame ``base`` (``payload.changes``; None: the whole
    frame); ``whole`` the whole frame, ``frame`` its id and ``arrays`` its arrays (the next frame builds on them)."""
    status: int
    body: bytes
    step: int | None = None
    begun: int = 0
    building: float = 0.0
    base: int | None = None
    whole: bytes = b""
    frame: int | None = None
    arrays: dict | None = None


class Ahead:
    """The next frame of a feed, made in a worker right after the last one was sent (``future``: its
    ``_answer``), with what it was made from, so that a frame the run has since moved on from is not sent."""

    def __init__(self, feed: Feed, drawing: float):
        session = feed.session
        self.trainer, self.started = session.trainer, time.monotonic()
        self.step = self.trainer.step if self.trainer is not None else None
        feed.asked.clear()
        self.future = _executor().submit(_answer, feed, drawing, True)

    def current(self, feed: Feed) -> bool:
        """Whether the frame made is still the run's next one: the same run, playing, trained by nobody else
        since (a click's Step or a new run), no click or changed setting since it last trained (a new learning
        rate shows in the next frame, not one later; a frame that waited for the click's page run to end and
        trained on after it is current), and not left waiting too long."""
        session = feed.session
        done = self.future.done() and self.future.exception() is None
        return (done and self.future.result().status == 200 and session.playing and session.trainer is self.trainer
                and self.trainer.step == self.made_step and feed.page_runs_begun == self.future.result().begun
                and time.monotonic() - self.started < AHEAD_FRESH_SECONDS)

    @property
    def made_step(self):
        """The run's step when the frame was built (the slice it trained included)."""
        return self.future.result().step


def base_path() -> str:
    import streamlit as st
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def enabled() -> bool:
    """Whether this process serves the fast path (the app runs under ``streamlit run app.py``)."""
    return _served


def lookup(token: str) -> Feed | None:
    with _feeds_lock:
        return _feeds.get(token)


# --- the script's side: live.run_fragment -------------------------------------------------------------------

def feed_for(session) -> Feed | None:
    """The feed of ``session``'s run in this browser session (made on first use), or None where the path is not
    served or the browser could not use it. Called in a script run."""
    if not enabled():
        return None
    from ui.session.state import session_id, space
    feeds = space().setdefault("live_feeds", {})  # run (by id) -> its feed
    feed = feeds.get(id(session))
    if feed is None or feed.session is not session:
        feed = feeds[id(session)] = Feed(session, session_id())
        with _feeds_lock:
            _feeds[feed.token] = feed
    return None if feed.broken else feed


def fetching(session) -> bool:
    """Whether ``session``'s live view takes its frames from this path now: served, drawn, and its run plays."""
    feed = feed_for(session)
    trainer = session.trainer
    return (feed is not None and feed.render is not None and session.playing and trainer is not None
            and trainer.running)


def work(session, work, speed: str | None = None):
    """``work`` (a ``live.Work`` of ``session``'s run) as the live loop uses it where this path is served: the
    timer ticks every SLOW_TICK_SECONDS, and a tick that the gate lets train trains nothing itself but has the
    live view drawn next send the feed's address (the view then fetches its frames, each training a slice);
    every use of the run holds its lock. Elsewhere ``work`` unchanged."""
    import dataclasses

    if not enabled():
        return work

    def advance(steps, seconds):
        with guard(session):
            feed = feed_for(session)
            if feed is not None and session.playing and speed is not None:
                feed.speed = speed
                _armed.set(feed)
                return work.still()
            return work.advance(steps, seconds)

    def still():
        with guard(session):
            return work.still()

    def pace(active: int) -> tuple[float, float]:  # the tick slows down with the frames on a busy server
        from ui.session.live import FRAME_SECONDS
        frame, train = work.pace(active)
        return (SLOW_TICK_SECONDS * frame / FRAME_SECONDS if feed_for(session) is not None else frame), train

    return dataclasses.replace(work, advance=advance, still=still, pace=pace)


def guarding(session, fn: Callable, serves: bool = True) -> Callable:
    """``fn`` (a draw function of ``session``'s run) holding the run's lock; the feed armed for this tick is
    disarmed after it, whether a view took it or not (and before it, where ``fn`` is not the view it serves)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        if not serves:
            _armed.set(None)
        try:
            with guard(session):
                return fn(*args, **kwargs)
        finally:
            _armed.set(None)
    return run


@contextlib.contextmanager
def guard(session):
    """Hold ``session``'s run for the script (clicks that train or edit it); a no-op without a feed."""
    feed = feed_for(session)
    if feed is None:
        yield
        return
    with feed.lock:
        yield


@contextlib.contextmanager
def page_run():
    """Around a whole-page script run (a click, a changed setting; ``app.py``): this session's feeds train no new
    slice meanwhile (their requests wait, up to PAGE_RUN_WAIT_SECONDS), so the answer to the click is not slowed
    by training in another thread of the same process (one interpreter lock)."""
    from ui.session.state import space
    feeds = list(space().get("live_feeds", {}).values()) if enabled() else []
    with page_run_of(*feeds):
        yield


@contextlib.contextmanager
def page_run_of(*feeds: Feed):
    """``page_run`` for these feeds."""
    for feed in feeds:
        feed.page_runs += 1
        feed.page_runs_begun += 1
    try:
        yield
    finally:
        for feed in feeds:
            feed.page_runs -= 1


def armed():
    """The feed armed by this tick (the live view drawn next will take it), without taking it; or None."""
    return _armed.get()


def claim():
    """For the live view being drawn (``panel.show``): the feed armed by this tick, if any; the first view drawn
    takes it."""
    feed = _armed.get()
    if feed is not None:
        _armed.set(None)
    return feed


def answered(token: str, value: dict) -> None:
    """The view stopped asking (``value["why"]``): "error" (the path could not be reached: the script's timer
    trains from now on), "gone" (an unknown token), "stopped" (the run stopped training on this path)."""
    feed = lookup(token)
    if feed is not None and isinstance(value, dict) and value.get("why") == "error":
        feed.broken = True


# --- the route ----------------------------------------------------------------------------------------------

def slice_seconds(active: int, drawing: float) -> float:
    """Training time of the next slice, given how long the browser took to draw its last frame (``drawing``,
    seconds): while the browser draws, the run trains the share of that time that the script's timer trains
    (``live.pace``: TRAIN_SLICE_SECONDS of every FRAME_SECONDS at one session per core, less as sessions are
    added), so the next frame arrives about when the browser is free again; at least the timer's slice, at most
    MAX_SLICES of them (a very slow browser still gets new frames soon)."""
    from ui.session.live import pace
    frame, train = pace(active)
    return min(max(train, drawing * train / frame), MAX_SLICES * train)


def produce(feed: Feed, drawing: float = 0.0, made_ahead: bool = False) -> Answer:
    """``feed``'s next frame: train a slice through the gate (``slice_seconds`` of the browser's ``drawing``
    time), then build the frame. ``made_ahead`` (a frame made ahead): at the "max" speed, while no more sessions
    train than the server has cores, go on training after the slice until the frame is due (``Feed.due``: after
    its request, while the browser still draws; the first frame after a click, which shows its answer, as soon
    as it may be sent), or sooner where the run stops or its time is used up; at most AHEAD_TRAIN_SECONDS in
    all. A click answered meanwhile goes first (``_let_page_run_end``): the frame then trains on with what it
    set, as the first frame after it, or is not sent where the click began a new run or drew the view again.
    Runs in a worker thread."""
    from nncore.limits import load_limits, training_slots
    from ui.session import gate
    from ui.session.live import CORES, FULL_RUN_SLICE_SECONDS, SPEEDS, metered, pace

    waited = time.monotonic() + PAGE_RUN_WAIT_SECONDS
    while feed.page_runs > 0 and time.monotonic() < waited:  # a click is being answered: it goes first
        time.sleep(0.005)
    with feed.lock:
        begun = feed.page_runs_begun
        session, render = feed.session, feed.render
        trainer = session.trainer
        if render is None or trainer is None or not session.playing or not trainer.running or feed.broken:
            return Answer(409, b"not playing")
        if gate.grant(session, feed.session_id) != "ok":  # out of time or queued: the script's gate says so
            return Answer(409, b"not training now")
        active = training_slots().busy
        seconds = slice_seconds(active, drawing)
        after_click = begun != feed.begun_trained
        if after_click:  # the first frame after a click: a short slice, and it goes as soon as it may be sent
            seconds = min(seconds, FULL_RUN_SLICE_SECONDS)
        feed.begun_trained = begun
        steps = SPEEDS.get(feed.speed)

        def train(steps, seconds):
            return trainer.advance(steps=steps) if steps else trainer.advance(seconds=seconds)
        started = time.monotonic()
        metered(session, train, steps, seconds)
        if made_ahead and steps is None and active <= CORES:
            bound = started + AHEAD_TRAIN_SECONDS
            limit = load_limits().max_run_seconds
            while session.playing and trainer.running and session.trained_seconds < limit:
                left = min(bound, feed.due(0.0 if after_click else DRAW_SHARE)) - time.monotonic()
                if left <= 0:
                    break
                if feed.page_runs:  # a click is being answered: it goes first, the run trains on after it
                    begun, after_click = _let_page_run_end(feed, bound), True
                    if session.trainer is not trainer or feed.render is not render:  # a new run, or the view
                        return Answer(409, b"drawn anew")                          # drawn again: made anew
                    continue
                metered(session, train, None, min(CHUNK_SECONDS, left))
        building = time.monotonic()
        snap = session.snapshot = trainer.snapshot()
        if not trainer.running:  # finished, diverged or stopped early: this frame says so, the script follows
            training_slots().release(feed.session_id)
        return Answer(200, render(snap, trainer, session.playing and trainer.running), trainer.step, begun, building)


def _let_page_run_end(feed: Feed, bound: float) -> int:
    """In ``produce``, holding ``feed.lock`` once: let go of the run until the session's whole-page runs have
    ended (the page's run may need it; a click's setting is taken meanwhile), or until ``bound``; then hold it
    again. Returns the page runs begun by then: the frame shows the run as those runs left it."""
    feed.lock.release()
    try:
        while feed.page_runs > 0 and time.monotonic() < bound:
            time.sleep(0.005)
    finally:
        feed.lock.acquire()
    feed.begun_trained = feed.page_runs_begun
    return feed.begun_trained


async def frame_socket(websocket) -> None:
    """WebSocket PATH: the view's frames while its run plays. Each text message from the browser (``d=<ms>``: how
    long it took to draw the last frame) asks for the next frame; the answer is one message: the frame,
    gzipped, as binary, or ``"<status> <reason>"`` as text (see the module's docstring), after which the view
    stops asking and closes the socket. One socket per view and feed; messages are answered in order."""
    from starlette.websockets import WebSocketDisconnect

    await websocket.accept()
    token = websocket.path_params.get("token", "")
    connection = Connection()
    try:
        while True:
            asked = await websocket.receive_text()
            feed = lookup(token)  # looked up for every request: a closed tab's token ends at once
            answer = Answer(404, b"unknown") if feed is None else await serve(feed, _drawing(asked), connection)
            if answer.status == 200:
                await websocket.send_bytes(answer.body)
            else:
                await websocket.send_text(f"{answer.status} {answer.body.decode()}")
    except WebSocketDisconnect:
        return


class Connection:
    """One frame socket: the id of the last frame it sent (the browser has that frame whole)."""

    def __init__(self):
        self.last: int | None = None


async def serve(feed: Feed, drawing: float, connection: Connection | None = None) -> Answer:
    """The next frame of ``feed``'s run (``drawing``: seconds the browser took to draw its last one): the frame
    made ahead when it is still current, else one made now; then the one after it is started. A frame that
    builds on another than the one ``connection`` sent last (a new socket, or none) goes whole. Runs on the
    event loop; training and building happen in the worker threads."""
    from nncore.limits import training_slots
    from ui.session.live import pace

    if feed.in_flight:  # one request at a time per view (the event loop is one thread: no race here)
        return Answer(409, b"busy")
    feed.in_flight = True
    feed.asked_at, feed.asked_drawing = time.monotonic(), drawing
    feed.asked.set()  # a frame being made ahead is built once due (after the browser's drawing time, in part)
    try:
        ahead, feed.ahead, answer = feed.ahead, None, None
        if ahead is not None:
            with contextlib.suppress(Exception):  # a failed frame made ahead is made again below
                await asyncio.wrap_future(ahead.future)
            if ahead.current(feed):
                answer = ahead.future.result()
        wait = feed.next_at - time.monotonic()
        if wait > 0:  # at most one frame per timer period (pace): more sessions, fewer frames each
            await asyncio.sleep(wait)
        asked = time.monotonic()
        if answer is None:
            answer = await asyncio.get_running_loop().run_in_executor(_executor(), _answer, feed, drawing)
        feed.next_at = asked + pace(training_slots().busy)[0]
        if answer.status == 200:
            if answer.base is not None and (connection is None or connection.last != answer.base):
                answer = answer._replace(body=gzip.compress(answer.whole, compresslevel=GZIP_LEVEL, mtime=0),
                                         base=None)
            if connection is not None:
                connection.last = answer.frame
            feed.sent = (answer.frame, answer.arrays)  # before the next frame is begun: it builds on this one
        trainer = feed.session.trainer
        if answer.status == 200 and feed.session.playing and trainer is not None and trainer.running:
            feed.ahead = Ahead(feed, drawing)  # trains while the browser draws this one
    finally:
        feed.in_flight = False
    return answer


def _answer(feed: Feed, drawing: float, made_ahead: bool = False) -> Answer:
    """``produce``, its frame as sent (only what changed since the last frame sent, ``Feed.sent``) and gzipped at
    GZIP_LEVEL (in the worker thread, not on the event loop), with what ``produce`` says of it."""
    from ui.liveview.payload import changes, decode

    answer = produce(feed, drawing, made_ahead)
    if answer.status == 200:
        header, arrays = decode(answer.body)
        sent, base = feed.sent, None
        body = answer.body
        if sent is not None:
            base, before = sent
            body = changes(answer.body, base, before, (header, arrays))
        answer = answer._replace(body=gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), base=base,
                                 whole=answer.body, frame=header.get("id"), arrays=arrays)
        feed.build_seconds = _mean(feed.build_seconds, time.monotonic() - answer.building)
    return answer


def _mean(mean: float, value: float) -> float:
    """A running mean with the newest value weighted EMA (the first value stands alone)."""
    return value if mean == 0.0 else (1 - EMA) * mean + EMA * value


def _drawing(asked: str) -> float:
    """The browser's drawing time from its request (``d=<milliseconds>``) in seconds: 0 when missing or not a
    number."""
    try:
        value = float(asked[2:]) / 1000 if asked.startswith("d=") else 0.0
    except ValueError:
        return 0.0
    return value if 0.0 <= value < 60.0 else 0.0


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nnplay-live")
    return _pool


def routes() -> list:
    """The fast path's route, for ``st.App(routes=...)``; from now on this process serves it."""
    global _served
    from starlette.routing import WebSocketRoute
    _served = True
    return [WebSocketRoute(base_path() + PATH, frame_socket)]
