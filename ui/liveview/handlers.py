"""What the live view's events do on a page that trains live: a typed weight goes into the running engine;
+/- and the input nodes change the same settings as the sidebar (so the link follows and a new run starts); a
click on the plane edits the data; the hidden-space view picks its layer."""

from __future__ import annotations

import streamlit as st

from nncore.errors import ConfigError

from ui.liveview import fast
from ui.safe import plain
from ui.session.state import RunSession

NEW_LAYER_WIDTH = 4  # a layer added with "+" when there is none to copy the width of


def _layer_name(layer: int, n_layers: int) -> str:
    if layer == 0:
        return "inputs"
    return "output" if layer == n_layers else f"layer {layer}"


def edit_weight(session: RunSession, value: dict) -> None:
    trainer = session.trainer
    if trainer is None:
        return
    try:
        layer, source, target = int(value["layer"]), int(value["from"]), int(value["to"])
        with fast.guard(session):  # the fast path's worker may be training this run right now
            stored = trainer.set_weight(layer, source, target, float(value["value"]))
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        session.notice = f"The weight was not changed: {plain(str(e))}"
        return
    n_layers = len(trainer.engine.layer_names)
    session.notice = (f"Weight from unit {source + 1} of {_layer_name(layer, n_layers)} to unit {target + 1} of "
                      f"{_layer_name(layer + 1, n_layers)} set to {stored:.3g}; training goes on from there "
                      "(Reset undoes it).")
    session.app_rerun = True  # the whole page runs again: the message above the view says what changed


def change_network(session: RunSession, prefix: str, value: dict, max_layers: int, max_width: int) -> None:
    """+/- on the diagram: the same hidden-layer setting as the sidebar's, which starts a new run."""
    from nncore.config import parse_hidden
    key = f"{prefix}.hidden"
    try:
        hidden = list(parse_hidden(st.session_state.get(key, "")))
    except ConfigError:
        hidden = list(session.trainer.cfg.model.hidden) if session.trainer else []
    op, layer = value.get("op"), value.get("layer")
    if op in ("add_unit", "remove_unit"):
        if not isinstance(layer, int) or not 1 <= layer <= len(hidden):
            return
        step = 1 if op == "add_unit" else -1
        hidden[layer - 1] = min(max(hidden[layer - 1] + step, 1), max_width)
    elif op == "add_layer" and len(hidden) < max_layers:
        hidden.append(hidden[-1] if hidden else NEW_LAYER_WIDTH)
    elif op == "remove_layer" and hidden:
        hidden.pop()
    else:
        return
    st.session_state[key] = ",".join(map(str, hidden))
    session.app_rerun = True


def toggle_input(session: RunSession, prefix: str, value: dict) -> None:
    from ui.controls.sidebar import toggle_input as sidebar_toggle
    key, on = value.get("key"), bool(value.get("on"))
    if not isinstance(key, str):
        return
    problem = sidebar_toggle(prefix, key, on)
    if problem:
        session.notice = problem
    session.app_rerun = True


def draw_point(session: RunSession, prefix: str, value: dict) -> None:
    from ui.controls.drawing import apply_draw
    if session.trainer is None:
        return
    session.notice = session.event_notice = apply_draw(value, prefix, session.trainer.dataset)
    session.app_rerun = True


def pick_hidden_layer(session: RunSession, value: dict) -> None:
    layer = value.get("layer")
    if isinstance(layer, int):
        session.view["hidden_layer"] = layer


def for_playground(session: RunSession, prefix: str, max_layers: int, max_width: int) -> dict:
    """Event name -> handler, for a page whose run the visitor shapes (the Playground)."""
    return {"edit": lambda v: edit_weight(session, v),
            "network": lambda v: change_network(session, prefix, v, max_layers, max_width),
            "inputs": lambda v: toggle_input(session, prefix, v),
            "draw": lambda v: draw_point(session, prefix, v),
            "hidden_layer": lambda v: pick_hidden_layer(session, v)}


def for_viewing(session: RunSession) -> dict:
    """Handlers for a view that only looks (the hidden-space layer pick)."""
    return {"hidden_layer": lambda v: pick_hidden_layer(session, v)}
