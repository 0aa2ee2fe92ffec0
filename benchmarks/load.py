"""Load test: N real Chromium tabs on one app server, each pressing Play and moving a slider.

    python benchmarks/load.py --sessions 4 --seconds 20

Starts ``streamlit run app.py`` on 127.0.0.1 (a free port), opens N tabs (N browser sessions), presses Play in
each, then for ``--seconds`` counts every tab's frames (status-line changes) while each tab in turn moves its
learning-rate slider and times the click response (key press until the status line shows the new rate).
Then it closes the tabs and reads the server's memory again; the baseline is the server after one warm-up
tab came and went (imports are paid once per server). The last line is one JSON object:
sessions, fps_min, fps_median, click_p95_s, click_median_s, rss_mb_start, rss_mb_per_session,
rss_mb_after_close, busy (tabs that were told the server is busy), cpu_cores (cores used while playing by the
server, by Chromium with this script, and by other processes), cpu_ms_per_frame (CPU time per frame drawn,
server and browser). Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser_support import CpuMeter, StreamlitServer, launch_chromium, wait_app_idle  # noqa: E402

# textContent, not innerText: reading it forces no style or layout work, so the measuring costs the pages little.
STATUS_JS = """() => {
  const el = [...document.querySelectorAll("[data-testid='stMarkdown']")].find(e => e.textContent.includes("| Step "));
  return el ? el.textContent : "";
}"""
POLL_MS = 50  # frames are >= 200 ms apart: a 50 ms poll sees every one
# Records every distinct status text with its time, in the page itself (no round trips to this script).
RECORDER_JS = """() => {
  window.__frames = [];
  let last = "";
  setInterval(() => {
    const text = (%s)();
    if (text && text !== last) { window.__frames.push(performance.now()); last = text; }
  }, %d);
}""" % (STATUS_JS, POLL_MS)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (MB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def lr_of(text: str) -> str | None:
    m = re.search(r"\| lr ([0-9.e-]+) \|", text)
    return m.group(1) if m else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _per_frame(cores: float | None, frames_per_s: float) -> float | None:
    return None if cores is None or frames_per_s <= 0 else round(1000 * cores / frames_per_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    a = parser.parse_args()
    with StreamlitServer() as server:
        pid = server.proc.pid
        with launch_chromium() as browser:
            # Baseline: the server after one tab has come and gone (the process-wide imports of torch and
            # scikit-learn are paid once per server, not per session).
            warm = browser.new_page()
            warm.goto(server.url)
            wait_app_idle(warm, timeout_ms=120_000)
            warm.wait_for_function(f"() => ({STATUS_JS})().length > 0", timeout=120_000)
            warm.close()
            time.sleep(8.0)
            start_rss = rss_mb(pid)
            pages = []
            for _ in range(a.sessions):
                page = browser.new_page()
                page.goto(server.url)
                wait_app_idle(page, timeout_ms=120_000)
                page.wait_for_function(f"() => ({STATUS_JS})().length > 0", timeout=120_000)
                pages.append(page)
            loaded_rss = rss_mb(pid)
            for page in pages:
                page.evaluate(RECORDER_JS)
                page.get_by_role("button", name="Play", exact=True).click()
            t0 = time.monotonic()
            meter = CpuMeter(pid).start()
            clicks = []
            turn = 0
            while time.monotonic() - t0 < a.seconds:
                page = pages[turn % len(pages)]
                # each tab alternates up and down (0.01 <-> 0.03), so its rate never runs into the end of the scale
                up = (turn // len(pages)) % 2 == 0
                turn += 1
                slider = page.locator("[data-testid='stSlider']", has_text="Learning rate").locator(
                    "input[type='range']")
                before = lr_of(page.evaluate(STATUS_JS))
                slider.focus()
                pressed = time.monotonic()
                page.keyboard.press("ArrowRight" if up else "ArrowLeft")
                try:
                    page.wait_for_function(
                        f"() => {{ const t = ({STATUS_JS})(); const m = t.match(/\\| lr ([0-9.e-]+) \\|/); "
                        f"return m && m[1] !== {json.dumps(before)}; }}", timeout=10_000, polling=POLL_MS)
                    clicks.append(time.monotonic() - pressed)
                except Exception:
                    clicks.append(10.0)
                page.wait_for_timeout(300)
            elapsed = time.monotonic() - t0
            cpu = meter.stop()
            fps = [len(p.evaluate("window.__frames")) / elapsed for p in pages]
            busy = sum("busy" in p.inner_text("body").lower() for p in pages)
            hidden = sum(p.evaluate("document.visibilityState") != "visible" for p in pages)
            playing_rss = rss_mb(pid)
            for page in pages:
                page.close()
        time.sleep(8.0)  # closed tabs: their sessions are released within seconds
        after_rss = rss_mb(pid)
    clicks.sort()
    result = {
        "sessions": a.sessions, "seconds": round(elapsed, 1),
        "fps_min": round(min(fps), 2), "fps_median": round(statistics.median(fps), 2),
        "click_p95_s": round(clicks[min(len(clicks) - 1, int(0.95 * len(clicks)))], 3),
        "click_median_s": round(statistics.median(clicks), 3), "clicks": len(clicks),
        "rss_mb_start": round(start_rss, 1),
        "rss_mb_per_session": round((max(loaded_rss, playing_rss) - start_rss) / a.sessions, 1),
        "rss_mb_after_close": round(after_rss, 1), "busy": busy, "hidden_tabs": hidden,
        # cores in use while playing: the app server, Chromium with this script, everything else on the machine
        "cpu_cores": {"server": _round(cpu["by_root"].get(pid)), "browser": _round(cpu["by_root"].get(os.getpid())),
                      "others": _round(cpu["others"]), "of": cpu["cores"]},
        # CPU time per frame drawn, all tabs together: what one frame costs the app server (training slice
        # included) and the browser, i.e. how many frames per second a server or a browser core can sustain
        "cpu_ms_per_frame": {"server": _per_frame(cpu["by_root"].get(pid), sum(fps)),
                             "browser": _per_frame(cpu["by_root"].get(os.getpid()), sum(fps))},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
