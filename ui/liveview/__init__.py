"""The live view: one Custom Components v2 component draws the network diagram, the boundary panel, the curves,
the histograms and the hidden-space view in the browser, from one compact frame per timer tick
(``payload``). Mounted with a fixed key, the browser keeps its canvases between frames.

Its JavaScript and CSS are plain files in ``static/liveview/`` (no build step, nothing from the internet),
served by the app's own static route (``server.enableStaticServing``). The component itself is a small
loader: the browser fetches the files once per page, joins them into one module and caches it, so a frame
carries only its data (a component's inline code would travel with every frame).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "static" / "liveview"
JS_FILES = ("core.js", "boundary.js", "hidden.js", "diagram.js", "curves.js", "histograms.js")
CSS_FILES = ("core.css", "diagram.css", "charts.css")
NAME = "nnplay.live_view"

# Fetches the view's files once per page (same server), joins the JavaScript into one module and imports it;
# each mount puts the styles into the component's shadow root, then hands over to the module.
LOADER = """
const FILES = %(files)s;
const load = () => window.__nnplayLiveView || (window.__nnplayLiveView = (async () => {
  const get = name => fetch(FILES.base + name + "?v=" + FILES.version).then(r => {
    if (!r.ok) throw new Error("live view: " + name + " could not be loaded (" + r.status + ")");
    return r.text();
  });
  const [js, css] = await Promise.all([Promise.all(FILES.js.map(get)), Promise.all(FILES.css.map(get))]);
  const url = URL.createObjectURL(new Blob([js.join("\\n")], {type: "text/javascript"}));
  return {module: await import(url), css: css.join("\\n")};
})());
export default function (component) {
  let cleanup = null, gone = false;
  load().then(({module, css}) => {
    if (gone) return;
    const root = component.parentElement;
    if (!root.querySelector("style[data-live-view]")) {
      const style = document.createElement("style");
      style.setAttribute("data-live-view", "");
      style.textContent = css;
      root.prepend(style);
    }
    cleanup = module.default(component);
  }).catch(err => {
    console.error(err);
    const note = document.createElement("div");
    note.textContent = String(err && err.message || err);
    component.parentElement.replaceChildren(note);
  });
  return () => { gone = true; if (typeof cleanup === "function") cleanup(); };
}
"""


def _read(names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(n, (ASSETS / n).read_text(encoding="utf-8")) for n in names if (ASSETS / n).exists()]


def sources() -> tuple[str, str]:
    """(javascript, css) of the view as the browser joins them (the harness and tests use these too)."""
    join = lambda files: "\n".join(f"/* --- {n} --- */\n{text}" for n, text in files)  # noqa: E731
    return join(_read(JS_FILES)), join(_read(CSS_FILES))


def _base_path() -> str:
    import streamlit as st
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/liveview/" if base else "/app/static/liveview/"


def loader() -> str:
    """The component's own (small) JavaScript: where the files are and which version of them."""
    js, css = sources()
    files = {"base": _base_path(), "version": hashlib.sha256((js + css).encode()).hexdigest()[:12],
             "js": [n for n, _ in _read(JS_FILES)], "css": [n for n, _ in _read(CSS_FILES)]}
    return LOADER % {"files": json.dumps(files)}


_component = None


def _mount():
    global _component
    if _component is None:
        import streamlit as st
        _component = st.components.v2.component(NAME, html="", js=loader())
    return _component


def live_view(frame: bytes, key: str, height: int | str = "content", **on_change):
    """Mount (or update) the live view under a fixed ``key`` with one frame's bytes. ``on_change``:
    ``on_<event>_change`` callbacks for the events the view sends (edit, network, inputs, draw, hidden_layer)."""
    return _mount()(key=key, data=frame, height=height, **on_change)
