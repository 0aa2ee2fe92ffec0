"""Load test: real Chromium tabs on one app server, each pressing Play on the Playground and moving a slider,
for the live view drawn in the browser ("new") and for the server-drawn PNG it replaced ("png").

    python benchmarks/load.py --view both --sessions 1,4 --seconds 20

``--view new`` runs ``streamlit run app.py`` from this checkout (``--new-ref COMMIT``: from a worktree of that
commit; ``--new-dir DIR``: from that folder); ``--view png`` runs it from a temporary git worktree of
``--png-ref`` (default b907b3d, the last commit that drew each frame as one PNG), removed at the end, also on an
error, Ctrl-C or SIGTERM; ``--view both`` measures both in the same run, the reference first, and prints
new/reference ratios.

For each view and each session count N, a fresh server (127.0.0.1, a free port) serves one warm-up tab that
comes and goes (imports are paid once per server); then the default RunConfig trains headless in this process
for ``--headless-seconds`` (``Trainer.run(seconds=...)``, one BLAS thread, as in the server; again after the
window, once the tabs closed: the faster of the two is the reference, headless.before/after), and N tabs open
the Playground at the "max" speed setting (its default) and press Play. For ``--seconds`` every tab's frames are
counted while each tab in turn moves its learning-rate slider by one keyboard step and times the answer (key
press until the status line shows the new rate); then, for ``--quiet-seconds``, the tabs play on with no
clicks (``without_clicks``: frames/s and CPU time per frame without the page updates that clicks cost;
``browser_ms_per_click``: the click window's browser time less what its frames cost without clicks, per
click). A frame is, for the new view, one step up of ``data-frame`` on
the component's ``data-testid="live-view"`` root (inside the component's shadow root: one data frame drawn);
for the PNG view, a change of the status line. The tabs' run is the default Playground run with Epochs raised
to ``--epochs`` and the data to ``--points`` samples through the page link (``?pg.epochs=&pg.n_points=``; the
default 1000 epochs end within seconds at full speed, which would stop the frames, and at 10,000 epochs of the
default 600 points a run at ~7,700 steps/s ends within a 15 s window; Epochs decides when a run ends and the
points how many steps an epoch has, not what a step costs: the batch and the frame's points, at most 600, are
the same); the headless run uses the same Epochs and points.

Per view and session count (``results.<view>.<N>`` in the JSON): fps_min, fps_median (frames/s of the slowest
and the median tab); click_median_s, click_p95_s, clicks, clicks_timed_out; cpu_cores (server; browser =
Chromium's processes, split by kind in browser_by_kind: renderer, gpu-process, browser, ...; harness = this
script and Playwright's driver, i.e. the measuring; others = every other process on the machine; of = cores)
and cpu_ms_per_frame (server, browser, harness: CPU time per frame drawn, all tabs together;
server_beyond_training: the server's time less what its training took, i.e. the tabs' steps at the headless
rate: the cost of building and sending frames and of the script runs); steps_per_s_min/median/total (from the status line's "Step N" over time), headless
(steps_per_s alone), throughput_ratio (median tab / headless) and throughput_ratio_total (all tabs together /
headless); bytes_per_frame (ws: bytes received per frame on Streamlit's WebSocket; live: on the live view's
frame socket; http: pictures fetched from Streamlit's media endpoint, and frames an earlier live view fetched
from its route over HTTP; total, as sent: compressed where the server compressed them); status_fps_median (status-line changes per second); recorder_ms_per_frame (main-thread
time of the in-page frame recorder, inside the browser's figure); remounts (live-view roots replaced
inside the window); memory (rss_mb_start, rss_mb_per_session, rss_mb_after_close); busy (tabs told the server
is busy), hidden_tabs, finished_tabs (tabs whose run was no longer training at the end: their frames stopped, so
their rates undercount), tabs_with_picture (tabs showing an st.image picture: the PNG view's), live_views_on_page (live-view roots in
a tab; the first in document order, the Playground's main view, is the one counted). ``ratios.<N>``
holds new/png for every number both views have; ``targets`` the aims for the new view and whether it meets them.
A readable table comes first; the last line is the JSON object. Traffic stays on 127.0.0.1. The machine may be
shared: ``cpu_cores.others`` says how much other work took while measuring.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# As the app does in its server process, before NumPy loads: one BLAS/OpenMP thread for the headless reference.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.support import (DEEP_FIND_JS, REPO_ROOT, STATUS_JS, CpuMeter, StreamlitServer,  # noqa: E402
                                   _proc_table, launch_chromium, wait_app_idle)

PNG_REF = "b907b3d"  # the last commit with the server-drawn PNG live view (ui/frame.py via ui/panels.py live_frame)
VIEWS = ("png", "new")  # reference first: ratios are new / png
POLL_MS = 25  # the status line changes at most every 50 ms; data-frame is a counter, so polling misses none
SETTLE_S = 1.0  # after Play: the first frames pay the page's full rerun
CLICK_TIMEOUT_S = 10.0

# The live view's root, in the document or inside (nested) open shadow roots.
FIND_LV_JS = """(root) => (""" + DEEP_FIND_JS + """)(root, "[data-testid='live-view']")"""
# How many live-view roots the page holds (the first in document order is the one measured).
COUNT_LV_JS = """() => {
  const count = (r) => r.querySelectorAll("[data-testid='live-view']").length
    + [...r.querySelectorAll("*")].filter(h => h.shadowRoot).reduce((n, h) => n + count(h.shadowRoot), 0);
  return count(document);
}"""
# Records, in the page itself (no round trips to this script), every distinct status text as [time, step] and
# every distinct data-frame value as [time, value, mount] (mount: which root element, counted from 1: the
# component mounted afresh gets a new one). The live view's root is looked up again only when it left the
# document, and at most once a second while it is missing.
RECORDER_JS = """() => {
  const status = %s, findLV = %s;
  const rec = window.__rec = {status: [], frames: [], mark: null, end: null, last: "", cost: 0};
  let lastText = "", lastFrame = null, lv = null, looked = -1e9, mount = 0;
  setInterval(() => {
    const t = performance.now();
    const text = status();
    if (text && text !== lastText) {
      const m = text.match(/\\| Step (\\d+) \\|/);
      rec.status.push([t, m ? Number(m[1]) : null]);
      lastText = rec.last = text;
    }
    if (!(lv && lv.isConnected) && t - looked > 1000) {
      const found = findLV(document);
      looked = t;
      if (found && found !== lv) { mount++; lastFrame = null; }
      lv = found;
    }
    const f = lv ? Number(lv.getAttribute("data-frame")) : null;
    if (f !== null && f !== lastFrame) { rec.frames.push([t, f, mount]); lastFrame = f; }
    if (rec.mark !== null && rec.end === null) rec.cost += performance.now() - t;  // the recorder's own time
  }, %d);
}""" % (STATUS_JS, FIND_LV_JS, POLL_MS)
# What one tab did between its mark and its end: frames (data-frame increase; a component mounted afresh counts
# from 0 again: a remount), status-line changes, and the [time, step] records inside the window.
SUMMARY_JS = """() => {
  const r = window.__rec, a = r.mark, b = r.end;
  const before = r.frames.filter(([t]) => t <= a), inside = r.frames.filter(([t]) => t > a && t <= b);
  let prev = before.length ? before[before.length - 1] : null, frames = prev === null && !inside.length ? null : 0;
  let remounts = 0;
  for (const rec of inside) {
    if (prev !== null && rec[2] !== prev[2]) { remounts++; frames += rec[1]; }  // a new root counts from 0
    else frames += rec[1] - (prev === null ? 0 : prev[1]);
    prev = rec;
  }
  return {seconds: (b - a) / 1000, frames, remounts, recorder_ms: r.cost,
          status_changes: r.status.filter(([t]) => t > a && t <= b).length,
          steps: r.status.filter(([t, s]) => t >= a - 500 && t <= b && s !== null), last: r.last};
}"""


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (MB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def lr_of(text: str) -> str | None:
    m = re.search(r"\| lr ([0-9.e-]+) \|", text)
    return m.group(1) if m else None


def _stat(pid: int) -> tuple[str, int] | None:
    """(command name, parent pid) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.index("(") + 1:raw.rindex(")")], int(raw.rsplit(")", 1)[1].split()[1])


def chromium_pids() -> list[int]:
    """Chromium's top processes started under this script (by Playwright's driver): the browser's CPU is
    theirs and their children's, apart from this script and the driver."""
    stats = {int(e): st for e in os.listdir("/proc") if e.isdigit() and (st := _stat(int(e)))}

    def ours(pid: int) -> bool:
        while pid in stats and pid > 1:
            if pid == os.getpid():
                return True
            pid = stats[pid][1]
        return False

    chrome = lambda pid: pid in stats and stats[pid][0].startswith(("chromium", "chrome"))  # noqa: E731
    return [pid for pid, (_, ppid) in stats.items() if chrome(pid) and not chrome(ppid) and ours(pid)]


def _kind_ticks(tops: list[int]) -> dict[str, int]:
    """CPU clock ticks so far of Chromium's processes under ``tops``, by kind (``--type=``: renderer, gpu-process,
    utility, zygote; "browser" for the top process), to say where the browser's time goes."""
    table = _proc_table()
    tree = set().union(*(CpuMeter._tree(top, table) for top in tops)) if tops else set()
    ticks: dict[str, int] = {}
    for pid in tree:
        try:
            # split on spaces too: Chromium rewrites its command line into one string (its process title)
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = next((a[7:].decode() for a in args if a.startswith(b"--type=")), "browser")
        ticks[kind] = ticks.get(kind, 0) + int(fields[11]) + int(fields[12])
    return ticks


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _per_frame(cores: float | None, frames_per_s: float) -> float | None:
    return None if cores is None or frames_per_s <= 0 else round(1000 * cores / frames_per_s, 1)


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))]


# ------------------------------------------------------------------------------------------ app trees

def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True)


@contextlib.contextmanager
def worktree(commit: str):
    """A temporary detached git worktree of ``commit``; removed on the way out, whatever the way."""
    found = _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    if found.returncode != 0:
        raise SystemExit(f"--png-ref/--new-ref {commit!r} is not a commit of {REPO_ROOT}: give a commit id "
                         f"(e.g. {PNG_REF})")
    _git("worktree", "prune")  # entries of worktrees whose folders are gone (an earlier run that was killed)
    parent = Path(tempfile.mkdtemp(prefix="nnplay-load-"))
    path = parent / commit[:12]
    try:
        added = _git("worktree", "add", "--detach", str(path), commit)
        if added.returncode != 0:
            raise RuntimeError(f"git worktree add {commit} failed: {added.stderr.strip()}")
        yield path
    finally:
        _git("worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        _git("worktree", "prune")


@contextlib.contextmanager
def app_tree(view: str, a: argparse.Namespace):
    """(folder to run app.py from, label) of a view."""
    ref = a.png_ref if view == "png" else a.new_ref
    if view == "new" and a.new_dir is not None:
        yield Path(a.new_dir), str(a.new_dir)
        return
    if ref is None:
        yield REPO_ROOT, "checkout"
        return
    with worktree(ref) as path:
        yield path, _git("rev-parse", "--short", ref).stdout.strip()


# --------------------------------------------------------------------------------------- headless

def headless_steps_per_s(seconds: float, epochs: int | None, points: int | None = None) -> dict:
    """Steps/s of the default Playground run (``RunConfig()``, Epochs set to ``epochs`` and the data to
    ``points`` samples as the tabs' link does) trained alone in this process for ``seconds``: a run that ends
    before is started again (its set-up is not timed)."""
    import dataclasses

    from nncore.config import RunConfig
    from nncore.train.trainer import Trainer

    cfg, steps, spent, label = RunConfig(), 0, 0.0, ""
    if epochs:
        cfg = cfg.replace(train=dataclasses.replace(cfg.train, epochs=epochs))
    if points:
        cfg = cfg.replace(data=dataclasses.replace(cfg.data, n_points=points))
    while spent < seconds:
        trainer = Trainer(cfg, None)
        label = trainer.engine_label
        while trainer.running and spent < seconds:
            s0, t0 = trainer.step, time.perf_counter()
            trainer.run(seconds=min(0.5, seconds - spent))
            spent += time.perf_counter() - t0
            steps += trainer.step - s0
    return {"steps_per_s": round(steps / spent, 1), "seconds": round(spent, 2), "engine": label}


# ------------------------------------------------------------------------------------------- one phase

def _open_tab(browser, url: str, view: str, counters: dict):
    """A tab on the Playground with its WebSocket bytes and fetched images counted into ``counters``."""
    page = browser.new_page()

    def on_ws(ws):
        kind = "live" if "/_nnplay/live/" in ws.url else "ws"  # the live view's frame socket, or Streamlit's

        def add(payload):
            counters[kind] += len(payload.encode() if isinstance(payload, str) else payload)
        ws.on("framereceived", add)

    def on_response(response):
        # st.image's pictures come from Streamlit's media endpoint; an earlier live view (--new-ref) fetched its
        # frames from its route over HTTP
        if "/media/" in response.url or "/_nnplay/live/" in response.url:
            counters["http"] += int(response.headers.get("content-length", 0) or 0)

    page.on("websocket", on_ws)
    page.on("response", on_response)
    page.goto(url)
    wait_app_idle(page, timeout_ms=120_000)
    page.wait_for_function(f"() => ({STATUS_JS})().length > 0", timeout=120_000)
    if view == "new":
        try:
            page.locator("[data-testid='live-view']").first.wait_for(state="attached", timeout=60_000)
        except Exception as e:
            raise RuntimeError("the Playground shows no live view (no element data-testid='live-view', in the "
                               "page or a component's shadow root): --view new needs the live-view component "
                               "wired into the Playground") from e
    return page


def _steps_per_s(records: list) -> float | None:
    if len(records) < 2 or records[-1][0] <= records[0][0]:
        return None
    return (records[-1][1] - records[0][1]) / ((records[-1][0] - records[0][0]) / 1000)


def _frames(tabs: list[dict], view: str) -> list[int]:
    frames = [t["frames"] if view == "new" else t["status_changes"] for t in tabs]
    if any(f is None for f in frames):
        raise RuntimeError("a tab's live view never reported data-frame: the component's root must carry the "
                           "data-frame attribute (the number of data frames drawn)")
    return frames


def _quiet_window(pages: list, pid: int, browser_pids: list[int], view: str, seconds: float) -> dict:
    """The tabs playing on for ``seconds`` with no clicks: frames per second and CPU time per frame without the
    page updates that clicks cost."""
    for page in pages:
        page.evaluate("() => { window.__rec.mark = performance.now(); window.__rec.end = null; }")
    meter = CpuMeter(pid, *browser_pids).start()
    time.sleep(seconds)
    for page in pages:
        page.evaluate("() => { window.__rec.end = performance.now(); }")
    cpu = meter.stop()
    tabs = [p.evaluate(SUMMARY_JS) for p in pages]
    frames = _frames(tabs, view)
    fps = [f / t["seconds"] for f, t in zip(frames, tabs)]
    window = statistics.mean(t["seconds"] for t in tabs)
    server = cpu["by_root"].get(pid)
    browser_cores = sum(cpu["by_root"][b] for b in browser_pids) if browser_pids and cpu["by_root"] else None
    total_fps = sum(frames) / window
    return {"seconds": round(window, 1), "fps_min": round(min(fps), 2), "fps_median": round(statistics.median(fps), 2),
            "cpu_cores": {"server": _round(server), "browser": _round(browser_cores)},
            "cpu_ms_per_frame": {"server": _per_frame(server, total_fps), "browser": _per_frame(browser_cores, total_fps)},
            "finished_tabs": sum(not re.search(r"\b(training|paused)\b", t["last"]) for t in tabs),
            "_browser_s_per_frame": browser_cores / total_fps if browser_cores is not None and total_fps else None}


def phase(server: StreamlitServer, url: str, browser, view: str, sessions: int, seconds: float,
          quiet_seconds: float = 0.0) -> dict:
    pid = server.proc.pid
    start_rss = rss_mb(pid)
    counters = [{"ws": 0, "live": 0, "http": 0} for _ in range(sessions)]
    pages = [_open_tab(browser, url, view, c) for c in counters]
    loaded_rss = rss_mb(pid)
    for page in pages:
        page.evaluate(RECORDER_JS)
        page.get_by_role("button", name="Play", exact=True).click()
    time.sleep(SETTLE_S)
    for page in pages:
        page.evaluate("() => { window.__rec.mark = performance.now(); }")
    at_mark = [dict(c) for c in counters]
    t0 = time.monotonic()
    browser_pids = chromium_pids()
    meter = CpuMeter(pid, *browser_pids).start()
    kinds0 = _kind_ticks(browser_pids)
    clicks, turn = [], 0
    while time.monotonic() - t0 < seconds:
        page = pages[turn % len(pages)]
        # each tab alternates up and down (0.01 <-> 0.03), so its rate never runs into the end of the scale
        up = (turn // len(pages)) % 2 == 0
        turn += 1
        slider = page.locator("[data-testid='stSlider']", has_text="Learning rate").locator("input[type='range']")
        before = lr_of(page.evaluate(STATUS_JS))
        slider.focus()
        pressed = time.monotonic()
        page.keyboard.press("ArrowRight" if up else "ArrowLeft")
        try:
            page.wait_for_function(
                f"() => {{ const t = ({STATUS_JS})(); const m = t.match(/\\| lr ([0-9.e-]+) \\|/); "
                f"return m && m[1] !== {json.dumps(before)}; }}", timeout=CLICK_TIMEOUT_S * 1000, polling=POLL_MS)
            clicks.append(time.monotonic() - pressed)
        except Exception:
            clicks.append(CLICK_TIMEOUT_S)
        page.wait_for_timeout(300)
    for page in pages:
        page.evaluate("() => { window.__rec.end = performance.now(); }")
    cpu = meter.stop()
    kinds1 = _kind_ticks(browser_pids)
    at_end = [dict(c) for c in counters]
    tabs = [p.evaluate(SUMMARY_JS) for p in pages]
    quiet = _quiet_window(pages, pid, browser_pids, view, quiet_seconds) if quiet_seconds > 0 else None
    pictures = sum(p.locator("[data-testid='stImageContainer'] img").count() > 0 for p in pages)
    live_views = max(p.evaluate(COUNT_LV_JS) for p in pages)
    busy = sum("busy" in p.inner_text("body").lower() for p in pages)
    hidden = sum(p.evaluate("document.visibilityState") != "visible" for p in pages)
    playing_rss = rss_mb(pid)
    for page in pages:
        page.close()
    time.sleep(8.0)  # closed tabs: their sessions are released within seconds
    after_rss = rss_mb(pid)

    frames = _frames(tabs, view)
    fps = [f / t["seconds"] for f, t in zip(frames, tabs)]
    frames_total = sum(frames)
    window = statistics.mean(t["seconds"] for t in tabs)
    ws_bytes = sum(e["ws"] - m["ws"] for e, m in zip(at_end, at_mark))
    http_bytes = sum(e["http"] - m["http"] for e, m in zip(at_end, at_mark))
    live_bytes = sum(e["live"] - m["live"] for e, m in zip(at_end, at_mark))
    steps = [s for s in (_steps_per_s(t["steps"]) for t in tabs) if s is not None]
    server_cores, harness_cores = cpu["by_root"].get(pid), cpu["by_root"].get(os.getpid())
    browser_cores = sum(cpu["by_root"][b] for b in browser_pids) if browser_pids and cpu["by_root"] else None
    hz, span = os.sysconf("SC_CLK_TCK"), cpu["seconds"] or window
    kinds = {k: round((v - kinds0.get(k, 0)) / hz / span, 2) for k, v in sorted(kinds1.items())}
    per_frame = (lambda b: round(b / frames_total)) if frames_total else (lambda b: None)
    # a click's cost to the browser: the click window's browser time less what its frames cost without clicks
    per_click = None
    if quiet and quiet["_browser_s_per_frame"] is not None and browser_cores is not None and clicks:
        per_click = round((browser_cores * span - quiet.pop("_browser_s_per_frame") * frames_total) / len(clicks) * 1000, 1)
    elif quiet:
        quiet.pop("_browser_s_per_frame")
    return {
        "sessions": sessions, "seconds": round(window, 1),
        "fps_min": round(min(fps), 2), "fps_median": round(statistics.median(fps), 2),
        "click_median_s": round(statistics.median(clicks), 3), "click_p95_s": round(_p95(clicks), 3),
        "clicks": len(clicks), "clicks_timed_out": sum(c >= CLICK_TIMEOUT_S for c in clicks),
        # cores in use while playing: the app server, Chromium, this script with Playwright's driver (the
        # measuring), everything else on the machine
        "cpu_cores": {"server": _round(server_cores), "browser": _round(browser_cores),
                      "harness": _round(harness_cores), "others": _round(cpu["others"]), "of": cpu["cores"],
                      "browser_by_kind": kinds},
        # CPU time per frame drawn, all tabs together: what one frame costs the app server (training slice
        # included) and the browser, i.e. how many frames per second a server or a browser core can sustain
        "cpu_ms_per_frame": {"server": _per_frame(server_cores, frames_total / window),
                             "server_beyond_training": None,  # set by with_headless
                             "browser": _per_frame(browser_cores, frames_total / window),
                             "harness": _per_frame(harness_cores, frames_total / window)},
        "steps_per_s_min": _round(min(steps), 1) if steps else None,
        "steps_per_s_median": _round(statistics.median(steps), 1) if steps else None,
        "steps_per_s_total": _round(sum(steps), 1) if steps else None,
        "throughput_ratio": None, "throughput_ratio_total": None,  # set by with_headless
        "bytes_per_frame": {"ws": per_frame(ws_bytes), "live": per_frame(live_bytes), "http": per_frame(http_bytes),
                            "total": per_frame(ws_bytes + live_bytes + http_bytes)},
        "status_fps_median": round(statistics.median(t["status_changes"] / t["seconds"] for t in tabs), 2),
        # main-thread time the in-page recorder itself took, per frame (part of the browser's CPU above)
        "recorder_ms_per_frame": round(sum(t["recorder_ms"] for t in tabs) / frames_total, 2) if frames_total else None,
        "rss_mb_start": round(start_rss, 1),
        "rss_mb_per_session": round((max(loaded_rss, playing_rss) - start_rss) / sessions, 1),
        "rss_mb_after_close": round(after_rss, 1),
        "busy": busy, "hidden_tabs": hidden,
        "finished_tabs": sum(not re.search(r"\b(training|paused)\b", t["last"]) for t in tabs),
        "tabs_with_picture": pictures, "live_views_on_page": live_views, "remounts": sum(t["remounts"] for t in tabs),
        # the same tabs playing on without clicks (--quiet-seconds), and what one click cost the browser
        "without_clicks": quiet, "browser_ms_per_click": per_click,
        "_raw": {"steps": steps, "server_cores": server_cores, "frames_per_s": frames_total / window},
    }


def with_headless(result: dict, before: dict, after: dict) -> dict:
    """``result`` with the numbers measured against the headless reference: the faster of the runs before and
    after the window (a busy machine slows a reference run down, which would flatter the ratios)."""
    raw = result.pop("_raw")
    steps, server_cores, fps = raw["steps"], raw["server_cores"], raw["frames_per_s"]
    h = max(before["steps_per_s"], after["steps_per_s"])
    # the server's cores beyond what its training took (steps trained by all tabs / headless steps per second:
    # the cores that training alone would have used), i.e. what building, sending and the script runs cost
    beyond = (server_cores - sum(steps) / h) if server_cores is not None and steps and h else None
    result["cpu_ms_per_frame"]["server_beyond_training"] = _per_frame(beyond, fps)
    result["throughput_ratio"] = round(statistics.median(steps) / h, 3) if steps and h else None
    result["throughput_ratio_total"] = round(sum(steps) / h, 3) if steps and h else None
    result["headless"] = {**before, "steps_per_s": h, "before": before["steps_per_s"], "after": after["steps_per_s"]}
    return result


def measure(view: str, a: argparse.Namespace) -> dict:
    """All session counts of one view: one fresh server per count."""
    out = {}
    with app_tree(view, a) as (root, label), launch_chromium() as browser:
        out["app"] = label
        for n in a.sessions:
            with StreamlitServer(cwd=root) as server:
                query = "&".join(([f"pg.epochs={a.epochs}"] if a.epochs else [])
                                 + ([f"pg.n_points={a.points}"] if a.points else []))
                url = server.url + (f"/?{query}" if query else "")
                # Baseline: the server after one tab has come and gone (the process-wide imports of torch and
                # scikit-learn are paid once per server, not per session).
                warm = _open_tab(browser, url, view, {"ws": 0, "live": 0, "http": 0})
                engine = re.search(r"\| engine (.+?) \|", warm.evaluate(STATUS_JS))
                warm.close()
                time.sleep(3.0)
                headless = headless_steps_per_s(a.headless_seconds, a.epochs, a.points)
                if engine and engine.group(1) != headless["engine"]:
                    print(f"note: the tab trains with engine {engine.group(1)!r}, the headless reference with "
                          f"{headless['engine']!r}", file=sys.stderr)
                time.sleep(max(0.0, 5.0 - a.headless_seconds))
                result = phase(server, url, browser, view, n, a.seconds, a.quiet_seconds)
                # the tabs closed, their sessions ended
                after = headless_steps_per_s(a.headless_seconds, a.epochs, a.points)
                out[str(n)] = result = with_headless(result, headless, after)
                print(f"[{view} x{n}] fps_min {result['fps_min']} click_median {result['click_median_s']} s, "
                      f"others {result['cpu_cores']['others']} cores", file=sys.stderr, flush=True)
    return out


# ------------------------------------------------------------------------------------------- report

TARGETS = {  # number (a dotted path into one phase's result), session count, aim, ">=" or "<="
    "fps_median@1": ("fps_median", 1, 15, ">="),
    "click_median_s@1": ("click_median_s", 1, 0.25, "<"),
    "fps_min@4": ("fps_min", 4, 5, ">="),
    "click_p95_s@4": ("click_p95_s", 4, 1.0, "<"),
    "cpu_ms_per_frame.browser@1": ("cpu_ms_per_frame.browser", 1, 30, "<="),
    "without_clicks.cpu_ms_per_frame.browser@1": ("without_clicks.cpu_ms_per_frame.browser", 1, 30, "<="),
    "cpu_ms_per_frame.server@1": ("cpu_ms_per_frame.server", 1, 15, "<="),
    "cpu_ms_per_frame.server_beyond_training@1": ("cpu_ms_per_frame.server_beyond_training", 1, 15, "<="),
    "throughput_ratio@1": ("throughput_ratio", 1, 0.7, ">="),
}
ROWS = ("fps_min", "fps_median", "click_median_s", "click_p95_s", "cpu_ms_per_frame.server",
        "cpu_ms_per_frame.server_beyond_training", "cpu_ms_per_frame.browser", "cpu_ms_per_frame.harness", "cpu_cores.server", "cpu_cores.browser",
        "cpu_cores.harness", "cpu_cores.others", "cpu_cores.browser_by_kind.renderer",
        "cpu_cores.browser_by_kind.gpu-process", "cpu_cores.browser_by_kind.browser", "steps_per_s_median",
        "headless.steps_per_s", "throughput_ratio", "bytes_per_frame.ws", "bytes_per_frame.live", "bytes_per_frame.http",
        "bytes_per_frame.total", "without_clicks.fps_median", "without_clicks.cpu_ms_per_frame.browser",
        "without_clicks.cpu_ms_per_frame.server", "browser_ms_per_click", "status_fps_median", "recorder_ms_per_frame", "remounts", "rss_mb_per_session",
        "busy", "finished_tabs")


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def ratios(results: dict, sessions: list[int]) -> dict:
    out = {}
    for n in sessions:
        new, ref = results.get("new", {}).get(str(n)), results.get("png", {}).get(str(n))
        if not new or not ref:
            continue
        out[str(n)] = {}
        for row in ROWS:
            x, y = _get(new, row), _get(ref, row)
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y:
                out[str(n)][row] = round(x / y, 3)
    return out


def targets(results: dict) -> dict:
    out = {}
    for name, (row, n, aim, op) in TARGETS.items():
        value = _get(results.get("new", {}).get(str(n), {}), row)
        met = None if value is None else {">=": value >= aim, "<=": value <= aim, "<": value < aim}[op]
        out[name] = {"aim": f"{op} {aim}", "new": value, "met": met}
    return out


def table(results: dict, sessions: list[int], rat: dict) -> str:
    views = [v for v in VIEWS if v in results]
    cols = [(v, n) for n in sessions for v in views] + [("new/png", n) for n in sessions if str(n) in rat]
    head = ["", *(f"{v} x{n}" for v, n in cols)]
    lines = []
    for row in ROWS:
        cells = [row]
        for v, n in cols:
            value = rat[str(n)].get(row) if v == "new/png" else _get(results[v][str(n)], row)
            cells.append("-" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value))
        lines.append(cells)
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]

    def fmt(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(head), *(fmt(r) for r in lines)])


def main() -> int:
    parser = argparse.ArgumentParser(description="Chromium tabs playing the Playground: the live view drawn in the "
                                     "browser (new) against the server-drawn PNG (png), in one run.")
    parser.add_argument("--view", choices=("new", "png", "both"), default="both")
    parser.add_argument("--sessions", default="1,4", help="session counts, comma-separated (default 1,4)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window per session count")
    parser.add_argument("--quiet-seconds", type=float, default=8.0,
                        help="after the window, the tabs play on this long without clicks: browser and server time "
                             "per frame without the clicks' page updates, and browser_ms_per_click (0: skip)")
    parser.add_argument("--headless-seconds", type=float, default=3.0,
                        help="headless training time for the steps/s reference (per session count)")
    parser.add_argument("--png-ref", default=PNG_REF, help=f"commit of the PNG reference (default {PNG_REF})")
    parser.add_argument("--new-ref", default=None, help="commit to measure as the new view (default: this checkout)")
    parser.add_argument("--new-dir", default=None, help="folder with an app.py to measure as the new view instead")
    parser.add_argument("--epochs", type=int, default=10_000,
                        help="Epochs of the tabs' run, set by the page link (default 10000, the server's limit): "
                             "the default 1000 end within seconds at full speed; 0 keeps the default")
    parser.add_argument("--points", type=int, default=1_200,
                        help="samples of the tabs' run, set by the page link (default 1200: at 10,000 epochs a "
                             "run lasts ~30 s at full speed); 0 keeps the default")
    a = parser.parse_args()
    try:
        a.sessions = [int(s) for s in a.sessions.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sessions takes whole numbers separated by commas, e.g. 1,4; got {a.sessions!r}")
    if not a.sessions or min(a.sessions) < 1:
        parser.error(f"--sessions needs session counts of at least 1, e.g. 1,4; got {a.sessions!r}")
    if a.new_dir is not None and not (Path(a.new_dir) / "app.py").is_file():
        parser.error(f"--new-dir {a.new_dir!r} holds no app.py: give the folder the app runs from")
    if a.new_dir is not None and a.new_ref is not None:
        parser.error("give --new-ref or --new-dir, not both")
    if a.epochs < 0:
        parser.error(f"--epochs must be >= 0 (0 keeps the default run's), got {a.epochs}")
    if a.points and a.points < 20:
        parser.error(f"--points must be 0 (the default run's) or >= 20, got {a.points}")
    if a.seconds <= 0 or a.headless_seconds <= 0:
        parser.error("--seconds and --headless-seconds must be > 0")
    if a.quiet_seconds < 0:
        parser.error(f"--quiet-seconds must be >= 0 (0 skips the window without clicks), got {a.quiet_seconds}")
    # SIGTERM ends the run like Ctrl-C: servers, browser and worktrees are cleaned up on the way out
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    views = VIEWS if a.view == "both" else (a.view,)
    try:
        results = {v: measure(v, a) for v in views}
    except KeyboardInterrupt:
        print("interrupted: servers, browser and worktrees were stopped and removed", file=sys.stderr)
        return 130
    rat = ratios(results, a.sessions)
    report = {"view": a.view, "png_ref": a.png_ref, "new_ref": a.new_dir or a.new_ref or "checkout",
              "seconds": a.seconds, "sessions": a.sessions, "epochs": a.epochs or None, "points": a.points or None,
              "results": results, "ratios": rat,
              "targets": targets(results) if "new" in results else {}}
    print(table(results, a.sessions, rat))
    for name, t in report["targets"].items():
        verdict = "-" if t["met"] is None else "met" if t["met"] else "NOT met"
        print(f"target {name} {t['aim']}: new {t['new']} -> {verdict}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
