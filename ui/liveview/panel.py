"""Streamlit glue of the live view: build a frame when the run has moved, mount the component under its fixed
key, and hand the events it sends to the page's handlers."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

import streamlit as st

from ui.liveview import fast, live_view
from ui.liveview.payload import PANELS, FrameBuilder, keep_frame

EVENTS = ("edit", "network", "inputs", "draw", "hidden_layer", "feed")
_ids = threading.Lock()


def event_value(key: str, name: str):
    """The value an event of the component under ``key`` carries, read inside its callback."""
    state = st.session_state.get(key)
    try:
        return state[name]
    except (KeyError, TypeError):
        return getattr(state, name, None)


def frame_ids() -> tuple[str, Callable[[], int]]:
    """(source, next id) of this browser session's frames: every live view's frames count up from one counter
    (under a lock: the fast path builds frames outside the script), so a view draws only newer ones."""
    from ui.session.state import space
    ns = space()
    source = ns.setdefault("frame_source", secrets.token_hex(6))

    def next_id() -> int:
        with _ids:
            ns["live_frames"] = ns.get("live_frames", 0) + 1
            return ns["live_frames"]
    return source, next_id


def show(key: str, snap, engine, dataset, store: dict, *, panels=PANELS, editable: bool = False,
         playing: bool = False, hidden_layer: int = 1, version: int = 0, max_layers: int = 6, max_width: int = 64,
         handlers: dict[str, Callable[[dict], None]] | None = None, height="content",
         status: Callable[[object, bool], str] | None = None) -> int:
    """Draw ``snap`` (with ``engine``'s weights for the neurons and links) in the live view under ``key``.
    A frame is built only when something it shows changed (``version`` counts hand edits of the weights), so a
    page rerun that moved nothing sends the same frame again. ``handlers``: event name -> fn(value), called
    from the event's callback. ``status``: fn(snapshot, playing) -> the run's status line, shown in the view
    on the frames of the fast path (each with the line of its own snapshot). Returns the frame's size in bytes."""
    cache = store.setdefault(f"live_view.{key}", {})
    panels = tuple(panels)
    builder = cache.get("builder")
    if builder is None or builder.dataset is not dataset or builder.panels != panels or builder.editable != editable:
        builder = cache["builder"] = FrameBuilder(dataset, panels, editable, max_layers, max_width)
        cache.pop("sig", None)
    feed = fast.claim() if playing else None  # the fast path serves this view's next frames
    url = feed.url if feed is not None else ""
    source, next_id = frame_ids()

    def line(snap, playing) -> str:
        return status(snap, playing) if status is not None and url else ""

    def signature(snap, engine, playing, text):
        return (snap.step, snap.epoch, snap.status, id(engine), version, hidden_layer, playing, snap.config, url, text)

    if feed is not None and cache.get("fed") == url and not feed.page_runs:
        # the view draws this run's frames from the fast path already: a timer tick sends only where to ask (a
        # whole-page run, a click's answer, sends the whole frame: a new setting shows at once, in its status)
        data = keep_frame(source, url)
    else:
        text = line(snap, playing)
        sig = signature(snap, engine, playing, text)
        if cache.get("sig") != sig:
            cache["frame"] = builder.build(snap, engine, next_id(), playing=playing, hidden_layer=hidden_layer,
                                           source=source, feed=url, status=text)
            cache["sig"] = sig
        data = cache["frame"]
    if feed is not None:
        def render(snap, trainer, playing: bool) -> bytes:
            text = line(snap, playing)
            frame = builder.build(snap, trainer.engine, next_id(), playing=playing, hidden_layer=hidden_layer,
                                  source=source, feed=url, status=text)
            cache["frame"], cache["sig"], cache["fed"] = frame, signature(snap, trainer.engine, playing, text), url
            return frame
        feed.render = render
        handlers = {**(handlers or {}), "feed": lambda value, token=feed.token: fast.answered(token, value)}
    callbacks = {}
    for name, fn in (handlers or {}).items():
        callbacks[f"on_{name}_change"] = (lambda fn=fn, name=name: _dispatch(key, name, fn))
    live_view(data, key=key, height=height, **callbacks)
    return len(data)


def _dispatch(key: str, name: str, fn) -> None:
    value = event_value(key, name)
    if isinstance(value, dict):
        fn(value)
