"""Streamlit panels that draw one Snapshot: the status line, and the live view (``ui.liveview``: network
diagram, boundary, curves, histograms, hidden space, drawn in the browser from one compact frame).
"""

from __future__ import annotations

import streamlit as st

from nncore.data import Dataset
from nncore.inspect.grid import has_plane
from nncore.train.snapshot import Snapshot

from ui.liveview import panel as liveview_panel
from ui.liveview import payload as liveview_payload

STATUS_LABELS = {"ready": "ready", "running": "training", "done": "finished", "early_stopped": "stopped early",
                 "diverged": "diverged"}


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if pct else f"{value:.4f}"


def status_text(snap: Snapshot, engine: str, playing: bool = True, markdown: bool = True) -> str:
    """One line: state, epoch, step, speed, and loss/accuracy (R² for regression) per split, of the weights
    the run holds (the best epoch's once early stopping restored them, which the line then says). The state in
    bold (markdown), or plain (``markdown=False``: the live view shows it as text)."""
    score, pct = ("acc", True) if snap.score == "acc" else ("R²", False)
    label = "paused" if snap.status == "running" and not playing else STATUS_LABELS[snap.status]
    parts = [f"**{label}**" if markdown else label, f"engine {engine}", snap.kept_note or f"epoch {snap.epoch}", f"Step {snap.step}",
             f"{snap.steps_per_sec:.0f} steps/s", f"lr {snap.lr:.3g}"]
    for split in ("train", "val", "test"):
        parts.append(f"{split} loss {_fmt(snap.final(f'{split}_loss'))} · {score} "
                     f"{_fmt(snap.final(f'{split}_{snap.score}'), pct)}")
    return " | ".join(p for p in parts if p)


def status_line(snap: Snapshot, engine: str, playing: bool) -> None:
    """The run's status line, and its message once it ended. While the live view below takes its frames from
    the fast path (``ui.liveview.fast``), the view shows the line itself, from each frame it draws (the line
    then always describes the picture under it), and this slot stays empty."""
    from ui.liveview import fast
    line = st.empty()  # always there (empty or not), so the live view below keeps its place (and its canvases)
    if fast.armed() is None:
        line.markdown(status_text(snap, engine, playing))
    message = st.container()  # always there, so the live view below keeps its place (and its canvases)
    if snap.status == "diverged":
        message.error(snap.message, icon="⚠️")
    elif snap.status in ("done", "early_stopped"):
        message.info(snap.message)


def live_view(session, snap: Snapshot, engine, dataset: Dataset, key: str, *, panels=liveview_payload.PANELS,
              editable: bool = False, version: int = 0, limits: tuple[int, int] = (6, 64),
              engine_label: str | None = None) -> None:
    """The live view of one run: network diagram, boundary, curves, histograms and hidden space (those of
    ``panels``), drawn in the browser from one compact frame. ``editable``: the visitor may change weights, the
    network, the inputs and the data from it (the Playground). ``engine_label``: the run's status line goes
    into the frames the fast path serves (see ``status_line``)."""
    from ui.liveview import handlers
    max_layers, max_width = limits
    on = (handlers.for_playground(session, key.split(".")[0], max_layers, max_width) if editable
          else handlers.for_viewing(session))
    liveview_panel.show(key, snap, engine, dataset, session.cache, panels=panels, editable=editable,
                        playing=session.playing, hidden_layer=session.view.get("hidden_layer", 1), version=version,
                        max_layers=max_layers, max_width=max_width, handlers=on,
                        status=None if engine_label is None else
                        (lambda snap, playing: status_text(snap, engine_label, playing, markdown=False)))


def view(key: str, snap: Snapshot, engine, dataset: Dataset, *, panels=("boundary",), playing: bool = False) -> None:
    """A live view that only looks (a lesson's variant, a racer): the decision boundary (or regression
    surface) under the data points, and whatever else ``panels`` names."""
    from ui.session.state import space
    if not has_plane(dataset) and not set(panels) - {"boundary", "hidden", "diagram"}:
        st.info("No decision boundary for this data (image inputs, or fewer than 2 features).")
        return
    liveview_panel.show(key, snap, engine, dataset, space().setdefault("views", {}), panels=panels,
                        playing=playing)
