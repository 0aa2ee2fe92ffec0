"""The live view's fast path (ui/liveview/fast.py): its route answers only known tokens, a frame it returns is a
frame of that session's run after one gated, metered slice of training, and a closed tab's tokens end."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import gzip
import time
from typing import NamedTuple

import numpy as np
import pytest

from nncore import limits
from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.train.trainer import Trainer
from ui.liveview import fast
from ui.liveview.payload import FrameBuilder, decode
from ui.session import live, state


@pytest.fixture
def slots(monkeypatch):
    """A fresh set of two training slots for the test (the process-wide one is left alone)."""
    fresh = limits.TrainingSlots(2, 30.0)
    monkeypatch.setattr(limits, "_shared_slots", fresh)
    return fresh


@pytest.fixture
def no_ahead(monkeypatch):
    """The route without its frame made ahead, so that a test sees the run as the answer left it."""
    monkeypatch.setattr(fast, "Ahead", lambda *args, **kwargs: None)


@pytest.fixture
def produced(monkeypatch):
    """Every frame the route makes (the one a request waits for and the ones made ahead): the steps they show."""
    made, real = [], fast.produce

    def produce(feed, drawing=0.0, made_ahead=False):
        answer = real(feed, drawing, made_ahead)
        made.append(answer[2])
        return answer
    monkeypatch.setattr(fast, "produce", produce)
    return made


def _feed(playing: bool = True, epochs: int = 10_000) -> fast.Feed:
    """A playing Playground run with its feed registered, frames built as the live view builds them."""
    trainer = Trainer(RunConfig(data=DataConfig(n_points=120), model=ModelConfig(hidden=(3,)),
                                train=TrainConfig(epochs=epochs)))
    session = state.RunSession(page="playground", trainer=trainer, playing=playing)
    feed = fast.Feed(session, "tab-1")
    builder, ids = FrameBuilder(trainer.dataset, editable=True), iter(range(1, 10_000))
    feed.render = lambda snap, t, on: builder.build(snap, t.engine, next(ids), playing=on, source="src",
                                                    feed=feed.url)
    with fast._feeds_lock:
        fast._feeds[feed.token] = feed
    return feed


class _Socket:
    """The browser's end of a frame socket (``fast.frame_socket``) that sends ``asked`` (one request per item),
    keeps what comes back, then closes."""

    def __init__(self, token: str, *asked: str):
        self.path_params, self.asked, self.sent, self.accepted = {"token": token}, list(asked), [], False

    async def accept(self):
        self.accepted = True

    async def receive_text(self) -> str:
        from starlette.websockets import WebSocketDisconnect
        if not self.asked:
            raise WebSocketDisconnect(1000)
        return self.asked.pop(0)

    async def send_bytes(self, data: bytes):
        self.sent.append(data)

    async def send_text(self, text: str):
        self.sent.append(text)


class Reply(NamedTuple):
    """One answer of the socket: its status (200 for a frame), the frame's bytes (gunzipped) or the text, and the
    message as sent."""
    status_code: int
    body: bytes
    raw: bytes | str


def _reply(message) -> Reply:
    if isinstance(message, str):
        return Reply(int(message.split()[0]), message.encode(), message)
    return Reply(200, gzip.decompress(message), message)


def _get(token: str, drawn_ms: str | None = None) -> Reply:
    """One request on a socket of its own (``d=<drawn_ms>``; without it, a request without a drawing time)."""
    socket = _Socket(token, f"d={drawn_ms}" if drawn_ms is not None else "")
    asyncio.run(fast.frame_socket(socket))
    [message] = socket.sent
    return _reply(message)


def test_a_socket_sends_a_whole_frame_first_then_only_what_changed(slots):
    from ui.liveview import payload

    feed = _feed()
    socket = _Socket(feed.token, "d=5", "d=5", "d=5")
    asyncio.run(fast.frame_socket(socket))
    replies = [_reply(m) for m in socket.sent]
    assert [r.status_code for r in replies] == [200, 200, 200]
    header, arrays = decode(replies[0].body)
    assert "base" not in header  # a socket's first frame is whole
    for reply in replies[1:]:  # then each builds on the one before, which the browser has
        h, a = decode(reply.body)
        assert h["base"] == header["id"] and h["step"] > header["step"] and "points_xy" in h["same"]
        header, arrays = h, payload.rebase(h, a, arrays)
    sent_id, sent = feed.sent  # made whole again, the last frame is exactly the one the server built
    assert header["id"] == sent_id and arrays.keys() == sent.keys()
    for name, x in sent.items():
        assert arrays[name].dtype == x.dtype and arrays[name].shape == x.shape
        np.testing.assert_array_equal(arrays[name], x)
    ahead = _settled(feed)  # made ahead, on the last frame the old socket sent ...
    assert ahead is not None and ahead.future.result().base == sent_id
    again = decode(_get(feed.token).body)[0]  # ... and sent whole on a new socket, which has no frame yet
    assert "base" not in again and again["id"] == ahead.future.result().frame
    _settled(feed)


def test_an_unknown_token_is_refused_and_trains_nothing(slots, no_ahead):
    feed = _feed()
    response = _get(feed.token[:-1] + ("A" if feed.token[-1] != "A" else "B"))
    assert response.status_code == 404
    assert feed.session.trainer.step == 0 and slots.busy == 0


def test_a_frame_is_the_runs_own_after_one_gated_and_metered_slice(slots, no_ahead):
    feed = _feed()
    trainer = feed.session.trainer
    response = _get(feed.token)
    assert response.status_code == 200 and response.raw[:2] == b"\x1f\x8b"  # gzipped on the way
    header, arrays = decode(response.body)
    assert trainer.step > 0 and header["step"] == trainer.step  # trained, and the frame shows where it is now
    assert header["playing"] is True and header["feed"] == feed.url and header["src"] == "src"
    params = trainer.engine.get_params()
    np.testing.assert_array_equal(arrays["W_0"], params[0]["W"].T.astype(np.float32))  # that run's weights
    assert slots.acquire("someone else") and slots.busy == 2  # the run holds one of the server's slots
    assert 0 < feed.session.trained_seconds  # counted against NNPLAY_MAX_RUN_SECONDS
    assert feed.session.snapshot.step == trainer.step  # the slower views read the same moment

    again = decode(_get(feed.token).body)[0]
    assert again["id"] > header["id"] and again["step"] > header["step"]


def test_the_gate_decides_full_server_time_used_up_paused(slots, no_ahead, monkeypatch):
    feed = _feed()
    trainer = feed.session.trainer
    assert slots.acquire("a") and slots.acquire("b")  # every slot taken by other sessions
    assert _get(feed.token).status_code == 409 and trainer.step == 0
    assert slots.queue_position("tab-1") == 1  # waiting in line, as the script's gate would have it
    slots.release("a")

    monkeypatch.setenv("NNPLAY_MAX_RUN_SECONDS", "5")
    feed.session.trained_seconds = 5.0
    assert _get(feed.token).status_code == 409 and trainer.step == 0
    assert feed.session.playing  # the script's gate stops it and says why, on the rerun the view asks for

    feed.session.trained_seconds = 0.0
    feed.session.playing = False
    assert _get(feed.token).status_code == 409 and trainer.step == 0


def test_a_request_in_flight_or_a_finished_run(slots, no_ahead):
    feed = _feed()
    feed.in_flight = True
    assert _get(feed.token).status_code == 409 and feed.session.trainer.step == 0
    feed.in_flight = False
    trainer = feed.session.trainer
    trainer.status = "done"
    assert _get(feed.token).status_code == 409 and trainer.step == 0


def test_the_last_frame_of_a_run_that_finishes_says_it_stopped(slots, no_ahead, monkeypatch):
    feed = _feed()
    trainer = feed.session.trainer
    monkeypatch.setattr(trainer, "advance", lambda steps=None, seconds=None: setattr(trainer, "status", "done"))
    header = decode(_get(feed.token).body)[0]
    assert header["playing"] is False and "feed" not in header  # the view stops asking and reruns the page
    assert slots.busy == 0  # its slot is given back at once


def test_slices_follow_the_browsers_drawing_time_within_the_timers_bounds():
    frame, train = live.pace(1)
    assert fast.slice_seconds(1, 0.0) == train  # a fast browser: the timer's slice
    assert fast.slice_seconds(1, 0.1) == pytest.approx(0.1 * train / frame)  # the timer's share of the time
    assert fast.slice_seconds(1, 10.0) == fast.MAX_SLICES * train
    busy_frame, busy_train = live.pace(2 * live.CORES)  # more sessions than cores: shorter slices
    assert fast.slice_seconds(2 * live.CORES, 0.1) == pytest.approx(max(busy_train, 0.1 * busy_train / busy_frame))
    assert fast._drawing("d=250") == 0.25 and fast._drawing("d=x") == 0.0 and fast._drawing("d=-1") == 0.0
    assert fast._drawing("") == 0.0 and fast._drawing("x=250") == 0.0


def test_a_closed_tabs_release_hook_ends_its_tokens(slots):
    feed = _feed()
    token = feed.token
    ns = {"session_id": "tab-1", "live_feeds": {id(feed.session): feed}}
    del feed
    assert fast.lookup(token) is not None
    state._free({"space": ns})
    gc.collect()
    assert fast.lookup(token) is None and _get(token).status_code == 404


def test_one_socket_answers_its_requests_in_order_and_a_dropped_token_at_once(slots, no_ahead, monkeypatch):
    feed = _feed()
    socket = _Socket(feed.token, "d=20", "d=15", "d=30")
    calls, served = [], fast.serve

    async def serve(f, drawing, connection=None):  # after the second request the tab closes: its token is gone
        calls.append(drawing)
        answer = await served(f, drawing, connection)
        if len(calls) == 2:
            with fast._feeds_lock:
                fast._feeds.pop(feed.token)
        return answer
    monkeypatch.setattr(fast, "serve", serve)
    asyncio.run(fast.frame_socket(socket))
    assert socket.accepted and calls == [0.02, 0.015]  # each request's drawing time reaches the slice
    first, second, third = map(_reply, socket.sent)
    assert first.status_code == second.status_code == 200
    assert decode(first.body)[0]["step"] < decode(second.body)[0]["step"]  # answered in order
    assert third.raw == "404 unknown"
    paused = _feed(playing=False)
    assert _get(paused.token).raw == "409 not playing"  # a refusal is text: the view stops asking


def test_without_the_route_the_timer_trains_as_before(monkeypatch):
    monkeypatch.setattr(fast, "_served", False)
    work = live.trainer_work(state.RunSession(page="playground"))
    assert fast.work(state.RunSession(), work, "max") is work and not fast.enabled()


def test_a_frame_waits_while_the_page_answers_a_click(slots, no_ahead):
    import threading
    import time

    feed = _feed()
    feed.page_runs = 1  # a whole-page run of this session under way (app.py's fast.page_run)
    steps_when_it_ended = []

    def end_run():
        time.sleep(0.3)
        steps_when_it_ended.append(feed.session.trainer.step)
        feed.page_runs = 0

    threading.Thread(target=end_run).start()
    assert _get(feed.token).status_code == 200
    assert steps_when_it_ended == [0] and feed.session.trainer.step > 0  # trained only after the page run


def _settled(feed: fast.Feed):
    """The frame made ahead, once made (or None)."""
    if feed.ahead is not None:
        feed.ahead.future.result(timeout=30)
    return feed.ahead


def test_the_next_frame_is_made_while_the_browser_draws_this_one(slots, produced):
    feed = _feed()
    trainer = feed.session.trainer
    first = decode(_get(feed.token).body)[0]
    ahead = _settled(feed)
    assert ahead is not None and ahead.step == first["step"]  # started where the frame sent left the run
    assert trainer.step == ahead.made_step > first["step"]  # and trained on meanwhile
    second = decode(_get(feed.token).body)[0]
    assert second["step"] == ahead.made_step and second["id"] > first["id"]  # the frame made ahead was sent ...
    _settled(feed)
    assert produced == [first["step"], second["step"], trainer.step]  # ... not one made after the request


def test_a_frame_made_ahead_is_not_sent_once_the_run_moved_on(slots, produced):
    feed = _feed()
    trainer = feed.session.trainer
    _get(feed.token)
    ahead = _settled(feed)
    trainer.run(steps=1)  # a Step click (or any training outside the route) after the frame was made
    header = decode(_get(feed.token).body)[0]
    assert header["step"] != ahead.made_step and header["step"] == produced[2]  # made anew, from where it is now
    _settled(feed)

    feed.session.playing = False  # paused after the next frame was made: the browser is told to stop
    assert _get(feed.token).status_code == 409 and feed.ahead is None


def test_a_frame_made_ahead_and_left_waiting_is_made_again(slots, produced, monkeypatch):
    feed = _feed()
    _get(feed.token)
    ahead = _settled(feed)
    monkeypatch.setattr(fast, "AHEAD_FRESH_SECONDS", 0.0)  # it waited longer than a frame may
    header = decode(_get(feed.token).body)[0]
    assert header["step"] > ahead.made_step and len(produced) == 3
    _settled(feed)


def test_a_frame_made_ahead_of_a_changed_setting_is_not_sent(slots, produced):
    from dataclasses import replace

    feed = _feed()
    trainer = feed.session.trainer
    _get(feed.token)
    ahead = _settled(feed)
    with fast.page_run_of(feed):  # a whole-page run, as app.py's fast.page_run: a new learning rate
        trainer.update_train(replace(trainer.cfg.train, learning_rate=trainer.cfg.train.learning_rate / 2))
    header = decode(_get(feed.token).body)[0]
    assert len(produced) == 3 and header["step"] == produced[2] > ahead.made_step  # made after the change
    assert trainer.snapshot().lr == trainer.cfg.train.learning_rate  # (the run took the new rate)
    _settled(feed)


def test_a_frame_made_ahead_that_waited_for_the_click_is_sent(slots, produced):
    import threading
    import time

    feed = _feed()
    feed.page_runs, feed.page_runs_begun = 1, 1  # a page run under way (it holds the frame, up to 1 s) ...
    _get(feed.token)  # ... and still when the next frame is begun, right after this one was sent
    done = threading.Event()

    def end_run():
        time.sleep(0.2)
        feed.page_runs = 0
        done.set()

    feed.page_runs, feed.page_runs_begun = 1, 2  # the next click, while the frame ahead waits for it to end
    threading.Thread(target=end_run).start()
    ahead = _settled(feed)
    assert done.is_set() and ahead.future.result().begun == 2  # its slice began after the page run ended ...
    header = decode(_get(feed.token).body)[0]
    assert header["step"] == ahead.made_step and len(produced) == 2  # ... so it is sent, not made again
    _settled(feed)


def test_the_first_slice_after_a_click_is_short_so_its_answer_shows_soon(slots, no_ahead, monkeypatch):
    feed = _feed()
    asked, real = [], live.metered

    def metered(session, advance, steps, seconds):
        asked.append(seconds)
        return real(session, advance, steps, seconds)
    monkeypatch.setattr(live, "metered", metered)
    monkeypatch.setattr(fast, "slice_seconds", lambda active, drawing: 0.05)
    _get(feed.token)
    with fast.page_run_of(feed):  # a click answered by a whole-page run
        pass
    _get(feed.token)
    _get(feed.token)
    assert asked == [0.05, min(0.05, live.FULL_RUN_SLICE_SECONDS), 0.05]


def _ask(feed: fast.Feed, drawing: float) -> None:
    """The browser's request for the frame being made ahead, from a browser that takes ``drawing`` seconds to
    draw a frame (as the route records it)."""
    import time
    feed.asked_at, feed.asked_drawing = time.monotonic(), drawing
    feed.asked.set()


def _trained_ahead(feed: fast.Feed, stop=None) -> float:
    """Seconds of training a frame made ahead got (the session's meter), with ``stop()`` called 0.1 s in."""
    import threading

    session = feed.session
    before = session.trained_seconds
    feed.asked.clear()
    if stop is not None:
        threading.Timer(0.1, stop).start()
    answer = fast.produce(feed, 0.0, made_ahead=True)
    assert answer.status == 200 and answer.step == session.trainer.step  # the frame shows the run as it is now
    return session.trained_seconds - before


def test_a_frame_made_ahead_trains_on_while_the_browser_draws_within_a_bound(slots, monkeypatch):
    import time

    monkeypatch.setattr(fast, "slice_seconds", lambda active, drawing: 0.01)
    monkeypatch.setattr(fast, "AHEAD_TRAIN_SECONDS", 0.3)
    feed = _feed(epochs=100_000)  # (a run that does not end within the test)
    bound = fast.AHEAD_TRAIN_SECONDS  # no request comes (a closed tab): it stops at the bound
    assert 0.8 * bound <= _trained_ahead(feed) < bound + 0.5

    monkeypatch.setattr(fast, "AHEAD_TRAIN_SECONDS", 1000)  # a bound of many seconds: what ends the training is ...
    # ... the request at 0.1 s of a browser that draws a frame in 0.4 s: due DRAW_SHARE of that after the request
    assert 0.1 + 0.8 * fast.DRAW_SHARE * 0.4 <= _trained_ahead(feed, lambda: _ask(feed, 0.4)) < 1.0
    assert 0.1 <= _trained_ahead(feed, lambda: _ask(feed, 0.0)) < 0.5  # ... at once, for a browser with no delay
    feed.next_at = time.monotonic() + 0.5  # ... unless the frame may not be sent yet: it trains until then
    assert 0.8 * 0.5 <= _trained_ahead(feed, lambda: _ask(feed, 0.0)) < 1.0
    feed.next_at = 0.0

    def pause():
        feed.session.playing = False
    assert 0.1 <= _trained_ahead(feed, pause) < 3.0  # ... or Pause


@pytest.mark.parametrize("new_run", [False, True])
def test_a_click_answered_while_a_frame_is_made_ahead_goes_first_and_the_frame_trains_on_after_it(
        slots, monkeypatch, new_run):
    import threading

    monkeypatch.setattr(fast, "slice_seconds", lambda active, drawing: 0.01)
    monkeypatch.setattr(fast, "AHEAD_TRAIN_SECONDS", 1000)
    feed = _feed()
    session, trainer = feed.session, feed.session.trainer
    seen = {}

    def click():  # a click's page run from 0.1 s to 0.4 s, which takes the run's lock to change it
        feed.page_runs += 1
        feed.page_runs_begun += 1
        seen["locked"] = feed.lock.acquire(timeout=2.0)  # the worker lets go of the run for the page's run
        seen["trained"], seen["step"] = session.trained_seconds, trainer.step
        if new_run:
            session.trainer = Trainer(trainer.cfg)
        else:
            trainer.update_train(dataclasses.replace(trainer.cfg.train, learning_rate=0.05))
        feed.lock.release()
        time.sleep(0.3)
        seen["trained_meanwhile"] = session.trained_seconds - seen["trained"]
        feed.page_runs -= 1
        time.sleep(0.1)
        _ask(feed, 0.0)  # the browser asks 0.1 s after the page's run ended
    threading.Timer(0.1, click).start()
    answer = fast.produce(feed, 0.0, made_ahead=True)
    assert seen["locked"] and seen["trained_meanwhile"] == 0  # the click went first: no training during it
    if new_run:  # the click began a new run: this frame of the old one is not sent
        assert answer.status == 409
        return
    assert answer.status == 200 and answer.begun == feed.page_runs_begun  # current: it shows the run after the click
    assert answer.step > seen["step"] and trainer.snapshot().lr == 0.05  # trained on after it, at the new rate
    assert 0.05 <= session.trained_seconds - seen["trained"] < 1.0


def test_a_frame_made_ahead_comes_about_when_the_browser_has_drawn(slots, monkeypatch):
    import time

    monkeypatch.setattr(fast, "slice_seconds", lambda active, drawing: 0.01)
    monkeypatch.setattr(fast, "AHEAD_TRAIN_SECONDS", 1000)
    feed = _feed(epochs=100_000)
    session = feed.session
    _get(feed.token, "300")
    for _ in range(3):  # a browser that asks as a frame arrives and takes 0.3 s to draw it
        before, t0 = session.trained_seconds, time.monotonic()
        _get(feed.token, "300")
        waited = time.monotonic() - t0
        # the frame made ahead trained past its 0.01 s slice while the browser drew, and came about when it was
        # done (due at DRAW_SHARE of its 0.3 s, then built; the rest a margin for a busy machine)
        assert 0.5 * fast.DRAW_SHARE * 0.3 <= session.trained_seconds - before and waited < 0.4
    assert 0 < feed.build_seconds < 0.3
    _ask(feed, 0.0)  # the last frame made ahead: asked for, so that it ends
    _settled(feed)


def test_only_the_max_speed_trains_on_past_its_slice(slots, monkeypatch):
    monkeypatch.setattr(fast, "AHEAD_TRAIN_SECONDS", 1000)
    feed = _feed(epochs=100_000)
    feed.speed = next(name for name, steps in live.SPEEDS.items() if steps)  # a speed of so many steps a frame
    step = feed.session.trainer.step
    fast.produce(feed, 0.0, made_ahead=True)
    assert feed.session.trainer.step - step == live.SPEEDS[feed.speed]


@pytest.mark.parametrize("may_be_sent_in", [0.0, 0.4])
def test_the_first_frame_after_a_click_does_not_wait_for_the_browsers_drawing(slots, monkeypatch, may_be_sent_in):
    import time

    monkeypatch.setattr(fast, "AHEAD_TRAIN_SECONDS", 1000)
    feed = _feed(epochs=100_000)
    session = feed.session
    fast.produce(feed)  # the run's frames so far
    with fast.page_run_of(feed):  # a click answered by a whole-page run
        pass
    feed.next_at = time.monotonic() + may_be_sent_in  # the frame period (pace) still holds the answer this long
    _ask(feed, 100.0)  # a browser that would draw for long: the answer to the click goes first all the same
    before = session.trained_seconds
    fast.produce(feed, 0.0, made_ahead=True)
    # the short slice (FULL_RUN_SLICE_SECONDS), then on only while the frame may not be sent anyway
    assert may_be_sent_in * 0.8 <= session.trained_seconds - before < may_be_sent_in + 0.3
    feed.next_at = 0.0
    _ask(feed, 0.4)  # the frame after it trains on again, for its share of the browser's drawing
    before = session.trained_seconds
    fast.produce(feed, 0.0, made_ahead=True)
    assert session.trained_seconds - before >= 0.25


# --- the sidebar's training settings steer the run by themselves (live.steer) ----------------------------------

def _served_feed(monkeypatch, playing: bool = True) -> fast.Feed:
    """A feed as a script run of its session finds it (the path served, the view drawn)."""
    feed = _feed(playing=playing)
    monkeypatch.setattr(fast, "_served", True)
    monkeypatch.setattr(fast, "feed_for", lambda session: feed if session is feed.session else None)
    monkeypatch.setattr(state, "space", lambda: {"live_feeds": {id(feed.session): feed}})  # the tab's feeds
    return feed


def _holding(lock, seconds: float):
    """A thread that holds ``lock`` for ``seconds`` (as the route's worker holds the run while it trains)."""
    import threading
    held = threading.Event()

    def hold():
        with lock:
            held.set()
            time.sleep(seconds)
    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    return thread


def test_a_training_setting_steers_a_fetching_run_after_the_worker_lets_go_of_it(monkeypatch):
    feed = _served_feed(monkeypatch)
    session, trainer = feed.session, feed.session.trainer
    trainer.run(steps=3)
    faster = trainer.cfg.replace(train=dataclasses.replace(trainer.cfg.train, learning_rate=0.1))
    worker = _holding(feed.lock, 0.3)
    t0 = time.monotonic()
    assert live.steer(session, faster)
    assert time.monotonic() - t0 >= 0.25  # it waited for the worker: no change in the middle of a slice
    worker.join()
    assert session.trainer is trainer and trainer.step == 3  # the same run goes on, with the new rate
    assert trainer.cfg.train.learning_rate == 0.1 and trainer.engine.train_cfg.learning_rate == 0.1
    assert feed.page_runs == 0 and feed.page_runs_begun == 1  # counted as the page's answer to a click


@pytest.mark.parametrize("why", ["network", "data", "paused", "not fetching"])
def test_a_change_the_run_cannot_take_alone_asks_for_the_whole_page(monkeypatch, why):
    feed = _served_feed(monkeypatch, playing=why != "paused")
    session, trainer = feed.session, feed.session.trainer
    cfg = trainer.cfg.replace(train=dataclasses.replace(trainer.cfg.train, learning_rate=0.1))
    if why == "network":
        cfg = cfg.replace(model=dataclasses.replace(cfg.model, dropout=0.2))
    elif why == "data":
        cfg = cfg.replace(data=dataclasses.replace(cfg.data, noise=0.3))
    elif why == "not fetching":
        feed.render = None  # the view has not been drawn with this feed
    assert not live.steer(session, cfg)
    assert session.trainer is trainer and trainer.cfg.train.learning_rate != 0.1  # left to the page's run


def test_settings_the_run_refuses_ask_for_the_whole_page_which_says_why(monkeypatch):
    from nncore.errors import ConfigError
    feed = _served_feed(monkeypatch)
    session, trainer = feed.session, feed.session.trainer
    more = trainer.cfg.replace(train=dataclasses.replace(trainer.cfg.train, epochs=trainer.cfg.train.epochs + 1,
                                                         learning_rate=0.1))

    def refuse(cfg, dataset=None):
        if cfg.train.epochs > trainer.cfg.train.epochs:
            raise ConfigError("Epochs above this server's limit")
    monkeypatch.setattr(live.gate, "check", refuse)
    assert not live.steer(session, more)  # a setting's widget cannot show it: the page's run does (sync)
    assert trainer.cfg.train.learning_rate != 0.1 and trainer.engine.train_cfg.learning_rate != 0.1
    assert live.steer(session, more.replace(train=dataclasses.replace(more.train, epochs=trainer.cfg.train.epochs)))
    assert trainer.cfg.train.learning_rate == 0.1


def test_the_pages_sync_holds_the_run_while_it_changes_it(monkeypatch):
    feed = _served_feed(monkeypatch)
    session, trainer = feed.session, feed.session.trainer
    faster = trainer.cfg.replace(train=dataclasses.replace(trainer.cfg.train, learning_rate=0.1))
    worker = _holding(feed.lock, 0.3)
    t0 = time.monotonic()
    live.sync(session, faster, lambda c: pytest.fail("no new run for a training setting"))
    assert time.monotonic() - t0 >= 0.25
    worker.join()
    assert trainer.cfg.train.learning_rate == 0.1
