"""The live view: one Custom Components v2 component draws the network diagram, the boundary panel, the curves,
the histograms and the hidden-space view in the browser, from one compact frame per timer tick
(``payload``). Mounted with a fixed key, the browser keeps its canvases between frames and eases from one
frame to the next.

Its JavaScript and CSS are plain files in ``assets/``, joined into one module when this package is imported:
no build step, nothing fetched at run time.
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
JS_FILES = ("core.js", "boundary.js", "hidden.js", "diagram.js", "curves.js", "histograms.js")
CSS_FILES = ("core.css", "diagram.css", "charts.css")
NAME = "nnplay.live_view"


def _joined(names: tuple[str, ...]) -> str:
    return "\n".join(f"/* --- {n} --- */\n" + (ASSETS / n).read_text(encoding="utf-8")
                     for n in names if (ASSETS / n).exists())


def sources() -> tuple[str, str]:
    """(javascript, css) of the component, as the browser receives them."""
    return _joined(JS_FILES), _joined(CSS_FILES)


_component = None


def _mount():
    global _component
    if _component is None:
        import streamlit as st
        js, css = sources()
        _component = st.components.v2.component(NAME, html="", css=css, js=js)
    return _component


def live_view(frame: bytes, key: str, height: int | str = "content", **on_change):
    """Mount (or update) the live view under a fixed ``key`` with one frame's bytes. ``on_change``:
    ``on_<event>_change`` callbacks for the events the view sends (edit, network, inputs, draw, hidden_layer)."""
    return _mount()(key=key, data=frame, height=height, **on_change)
