"""A page that runs the live view without a server, for developing and checking it in a browser:

    python -m ui.liveview.harness /tmp/live.html [--kind binary|multiclass|regression] [--hidden 6,4]

The page plays real frames (from ``payload.demo_frames``) every ``--ms`` milliseconds. In the page:
``window.__events`` collects the events the view sends; ``window.__lv.pause()``, ``.play(ms)``, ``.next()``,
``.show(i)`` control the frames; ``window.__lv.count`` is the number of frames handed to the view.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

from nncore.registry import TASKS
from ui.liveview import sources
from ui.liveview.payload import demo_frames

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>live view harness</title>
<style>body { margin: 16px; font-family: "Source Sans Pro", sans-serif; } #host { width: %(width)dpx; }</style>
</head><body><div id="host"></div>
<script type="module">
const css = %(css)s;
const js = %(js)s;
const frames = %(frames)s.map(b => Uint8Array.from(atob(b), c => c.charCodeAt(0)));
window.__events = [];
const host = document.getElementById("host");
const root = host.attachShadow({mode: "open"});
const style = document.createElement("style"); style.textContent = css; root.appendChild(style);
const url = URL.createObjectURL(new Blob([js], {type: "text/javascript"}));
const mod = await import(url);
let i = 0, timer = null;
const lv = window.__lv = { count: 0, frames: frames.length,
  show(k) { i = k %% frames.length; lv.count++; mod.default({name: "nnplay.live_view", key: "harness",
    data: frames[i], parentElement: root,
    setTriggerValue: (n, v) => window.__events.push([n, v]), setStateValue: () => {}}); },
  next() { lv.show(i + 1); },
  pause() { clearInterval(timer); timer = null; },
  play(ms) { lv.pause(); timer = setInterval(() => lv.next(), ms); } };
lv.show(0);
lv.play(%(ms)d);
</script></body></html>
"""


def page(kind: str = "binary", hidden=(6, 4), count: int = 20, ms: int = 100, width: int = 1100,
         editable: bool = True) -> str:
    js, css = sources()
    frames = [base64.b64encode(f).decode() for f in demo_frames(kind, tuple(hidden), count, editable=editable)]
    return PAGE % {"css": json.dumps(css), "js": json.dumps(js), "frames": json.dumps(frames), "ms": ms,
                   "width": width}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--kind", default="binary", choices=list(TASKS))
    p.add_argument("--hidden", default="6,4")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--ms", type=int, default=100)
    p.add_argument("--width", type=int, default=1100)
    p.add_argument("--readonly", action="store_true", help="frames with editable false")
    a = p.parse_args()
    hidden = tuple(int(x) for x in a.hidden.split(",") if x.strip())
    Path(a.out).write_text(page(a.kind, hidden, a.frames, a.ms, a.width, not a.readonly), encoding="utf-8")
    print(a.out)


if __name__ == "__main__":
    main()
