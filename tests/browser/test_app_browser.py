"""End to end in a real browser: the Playground trains live, takes a learning-rate change mid-run, pauses.

Starts ``streamlit run app.py`` on a free local port, drives Debian's Chromium through Playwright, and checks
what a user sees: after Play the step counter in the status line keeps climbing, a frame at least every second
(the product target is 4 frames/s; the floor is lowered in proportion when other processes take the machine's
cores, measured during the test); a learning-rate change in the sidebar shows up in the status line without
resetting the run; no exception box appears; after Pause the counter stands still and the status says
"paused"; the decision-boundary chart is drawn, with its data points, and changed as the network learned.

Prints the time to the first picture on the fresh server, the measured frame rate, training speed and CPU
use, and saves screenshots of the whole page and of a 1400x1000 window to a temporary folder (printed). The
tests write nothing into the repository; the README's picture is made on purpose by
``python benchmarks/screenshot.py``.

Skips when Chromium or Playwright is missing, except under ``CI=true`` where that fails.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.browser.support import (DEEP_FIND_JS, REPO_ROOT, STATUS_JS, VIEWPORT, CpuMeter, StreamlitServer,
                                   launch_chromium, require_browser, save_screenshots, wait_app_idle)

LOAD_TIMEOUT_S = 120       # opening the page until the first script run has drawn the status line
WARMUP_FRAMES = 3          # frames after Play before the measurement starts
WARMUP_TIMEOUT_S = 20
PLAY_SECONDS = 6.5         # how long the counter is sampled after the warm-up, at least
MAX_PLAY_SECONDS = 20.0    # at most (a slow machine needs longer to show 3 rises and the learning-rate change)
STEADY_SECONDS = 2.5       # of which this long before the learning rate is moved
SAMPLE_EVERY = 0.75        # seconds between step-counter samples
MIN_FPS = 3.0              # floor on a machine to ourselves (the product target is 4 frames/s; measured 4.2-4.9)
MIN_FPS_SHARED = 0.25      # lowest floor when other processes take most of the machine (see _fps_floor)
LONG_RUN_EPOCHS = 10_000   # the server limit; ~120k steps: over a minute at the app's pace, longer than this test
EXCEPTION = "[data-testid='stException']"
STEP_RE = re.compile(r"\| Step (\d+) \|")
APP_RATE_RE = re.compile(r"\| (\d+) steps/s \|")
PLAYING_ENTRY_JS = r"e[1] && /^training/.test(e[1]) && !/\| Step 0 \|/.test(e[1])"  # a status-log entry of a frame

# Records every change of the status line ("… | Step <n> | …") with a timestamp, polling every 20 ms, so the
# frame rate is measured in the page itself rather than through round trips to the test process.
STATUS_RECORDER_JS = r"""
() => {
  const find = %s;
  window.__statusLog = [];
  let last = null;
  window.__statusTimer = setInterval(() => {
    const text = find() || null;
    if (text !== last) { last = text; window.__statusLog.push([performance.now(), text]); }
  }, 20);
}
""" % STATUS_JS
STATUS_TEXT_JS = STATUS_JS
# The decision boundary, read from the pixels of the live view's boundary canvas (drawn in the browser, inside
# the component's shadow root): "shaded": share of coloured pixels; "points": pixels in (nearly) a pure class
# colour (the points; the shading is always paler); "signature": colours sampled on a 24x24 grid, to see the
# picture change.
BOUNDARY_JS = r"""
() => {
  const canvas = (""" + DEEP_FIND_JS + r""")(document, "[data-testid='boundary']");
  if (!canvas || !canvas.width) return null;
  const [w, h] = [canvas.width, canvas.height];
  const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  let coloured = 0, points = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (Math.abs(r - g) + Math.abs(g - b) > 30) coloured++;
    const near = (c) => Math.abs(r - c[0]) + Math.abs(g - c[1]) + Math.abs(b - c[2]) < 24;
    if (near([78, 121, 167]) || near([242, 142, 43])) points++;
  }
  const samples = [];
  for (let y = 0; y < 24; y++) for (let x = 0; x < 24; x++) {
    const i = (Math.floor((y + 0.5) * h / 24) * w + Math.floor((x + 0.5) * w / 24)) * 4;
    samples.push(data[i] >> 4, data[i + 1] >> 4, data[i + 2] >> 4);
  }
  const box = canvas.getBoundingClientRect();
  return {width: box.width, height: box.height, natural: [w, h], shaded: coloured / (w * h), points,
          signature: samples.join(",")};
}
"""


def output_paths(folder: Path) -> dict[str, Path]:
    """Every file this module writes, inside ``folder`` (a temporary one)."""
    return {"server_log": folder / "streamlit-e2e.log", "deeplink_log": folder / "streamlit-deeplink.log",
            "screenshot": folder / "playground.png",              # the whole page
            "top_screenshot": folder / "playground-top.png"}      # what a 1400x1000 window shows


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    return output_paths(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def streamlit_server(outputs):
    server = StreamlitServer("app.py", cwd=REPO_ROOT, log_path=outputs["server_log"])
    server.start(timeout=60)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_context():
    with launch_chromium() as context:
        yield context


def _fps_floor(cpu: dict) -> float:
    """MIN_FPS scaled by the share of the machine that other processes left free during the measurement
    (server and browser need over a core between them), but never below MIN_FPS_SHARED."""
    if cpu.get("others") is None:
        return MIN_FPS
    free_share = max(cpu["cores"] - cpu["others"], 0.0) / cpu["cores"]
    return max(MIN_FPS_SHARED, min(MIN_FPS, MIN_FPS * free_share))


def _brief(boundary: dict | None) -> dict | None:
    return boundary and {k: v for k, v in boundary.items() if k != "signature"}


def _step(text: str | None) -> int | None:
    m = STEP_RE.search(text or "")
    return int(m.group(1)) if m else None


def test_playground_trains_live_and_pauses(request):
    require_browser()  # before anything starts: skip locally, fail under CI=true
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    t_start = time.monotonic()
    server: StreamlitServer = request.getfixturevalue("streamlit_server")
    outputs = request.getfixturevalue("outputs")
    context = request.getfixturevalue("browser_context")
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    status = ""

    def why(message: str) -> str:
        return f"{message}\n  last status line: {status!r}\n  page errors: {page_errors}"

    def no_exception_box(when: str) -> None:
        count = page.locator(EXCEPTION).count()
        if count:
            text = page.locator(EXCEPTION).first.inner_text()[:2000]
            pytest.fail(why(f"{count} exception box(es) on the page {when}:\n{text}"), pytrace=False)

    try:
        # --- load: the app mounts, finishes its first script run and shows a fresh run at step 0
        # The default settings, except a run long enough to outlast the measurement on a fast machine (set
        # through the page's shareable link, as a workshop would hand it out).
        t_open = time.monotonic()
        page.goto(f"{server.url}/?pg.epochs={LONG_RUN_EPOCHS}", timeout=30_000)
        try:  # the server's first run imports the app's modules and builds the dataset: slow on a busy machine
            page.wait_for_function(f"() => ({STATUS_TEXT_JS})() || document.querySelector(\"{EXCEPTION}\")",
                                   timeout=LOAD_TIMEOUT_S * 1000)
        except PlaywrightTimeout:
            pytest.fail(why(f"no status line ('| Step <n> |') within {LOAD_TIMEOUT_S} s of opening the page"),
                        pytrace=False)
        wait_app_idle(page, timeout_ms=30_000)
        no_exception_box("after loading")
        status = page.evaluate(STATUS_TEXT_JS)
        assert _step(status) == 0, why("a fresh session should start at Step 0")
        try:  # the picture loads after the script run has finished
            page.wait_for_function(f"() => {{ const b = ({BOUNDARY_JS})(); return b && b.shaded > 0.2; }}",
                                   timeout=20_000)
        except PlaywrightTimeout:
            pass  # reported by the assertion below
        boundary_before = page.evaluate(BOUNDARY_JS)
        print(f"\n[e2e] first script run finished and its picture drawn {time.monotonic() - t_open:.2f} s after "
              "opening the page on a fresh server")
        assert boundary_before and boundary_before["shaded"] > 0.2 and boundary_before["points"] > 100, why(
            f"decision boundary (shading and points) missing before Play: {_brief(boundary_before)}")
        t_loaded = time.monotonic()

        lr_input = page.locator("[data-testid='stSlider']", has_text="Learning rate").locator("input[type='range']")
        assert lr_input.count() == 1, why("one 'Learning rate' slider expected in the sidebar")
        lr_start = lr_input.get_attribute("aria-valuetext")
        assert lr_start == "0.01", why(f"default learning rate should be 0.01, slider shows {lr_start!r}")

        # --- play. The first frames after Play also build chart templates and mount the curve charts, so the
        # frame rate is measured after WARMUP_FRAMES frames: first STEADY_SECONDS untouched, then while the
        # learning rate is moved up and, once the status line shows it, back down.
        page.evaluate(STATUS_RECORDER_JS)
        perf_play = page.evaluate("performance.now()")
        page.get_by_role("button", name="Play", exact=True).click()
        t_play = time.monotonic()
        try:
            page.wait_for_function(
                f"() => window.__statusLog.filter(e => {PLAYING_ENTRY_JS}).length >= {WARMUP_FRAMES}",
                timeout=WARMUP_TIMEOUT_S * 1000)
        except PlaywrightTimeout:
            status = page.evaluate(STATUS_TEXT_JS) or ""
            changes = [(round(t - perf_play), (text or "")[:40]) for t, text in page.evaluate("window.__statusLog")]
            pytest.fail(why(f"fewer than {WARMUP_FRAMES} frames within {WARMUP_TIMEOUT_S} s of Play; status-line "
                            f"changes (ms after Play, text): {changes}"), pytrace=False)
        t_warm = time.monotonic()
        perf_warm = page.evaluate("performance.now()")
        cpu_meter = CpuMeter(server.proc.pid).start()
        samples: list[tuple[float, int, str]] = []  # (seconds since warm-up, step, status text)
        raised_at: int | None = None  # index of the last sample taken before the learning rate went up
        perf_raise = None
        lowered = restored = False
        # Sample for PLAY_SECONDS, longer (up to MAX_PLAY_SECONDS) on a slow machine until the counter has
        # risen 3 times and both learning-rate changes have shown up in the status line. (The status line shows
        # the learning rate of the last finished epoch, so a change shows up at the next epoch's end.)
        while True:
            elapsed = time.monotonic() - t_warm
            rises = sum(b[1] > a[1] for a, b in zip(samples, samples[1:]))
            if elapsed >= MAX_PLAY_SECONDS or (elapsed >= PLAY_SECONDS and rises >= 3 and restored):
                break
            page.wait_for_timeout(SAMPLE_EVERY * 1000)
            status = page.evaluate(STATUS_TEXT_JS) or ""
            step = _step(status)
            assert step is not None, why("status line with '| Step <n> |' disappeared while playing")
            samples.append((time.monotonic() - t_warm, step, status))
            no_exception_box("while playing")
            if raised_at is None and time.monotonic() - t_warm >= STEADY_SECONDS:
                perf_raise = page.evaluate("performance.now()")
                lr_input.focus()
                page.keyboard.press("ArrowRight")
                raised_at = len(samples) - 1
            elif raised_at is not None and not lowered and "| lr 0.03 |" in status:
                lr_input.focus()
                page.keyboard.press("ArrowLeft")
                lowered = True
            elif lowered and "| lr 0.01 |" in status:
                restored = True
        perf_end = page.evaluate("performance.now()")
        cpu = cpu_meter.stop()
        status_log = page.evaluate("window.__statusLog")

        steps = [s for _, s, _ in samples]
        trace = ", ".join(f"{t:.1f}s:{s}" for t, s, _ in samples)
        assert all(b >= a for a, b in zip(steps, steps[1:])), why(
            f"the step counter went backwards while playing (a reset?): {trace}")
        rises = sum(b > a for a, b in zip(steps, steps[1:]))
        assert rises >= 3 and steps[-1] > steps[0], why(
            f"the step counter should keep rising while playing (>= 3 rises in {len(samples)} samples): {trace}")
        assert raised_at is not None, why(f"the learning rate was never moved: {trace}")
        seen_raised = [i for i, (_, _, text) in enumerate(samples) if "| lr 0.03 |" in text]
        assert seen_raised, why(f"learning rate moved to 0.03 mid-run but the status line never showed it: {trace}")
        assert samples[seen_raised[0]][1] > samples[raised_at][1], why(
            f"the learning-rate change should keep the run going, not restart it: {trace}")
        assert restored, why(f"learning rate moved back to 0.01 mid-run but the status line never showed it: {trace}")

        # --- frame rate and training speed, from the in-page record of status-line changes
        def frames_between(t0: float, t1: float) -> list[tuple[float, str]]:
            return [(t, text) for t, text in status_log if t0 < t <= t1 and (_step(text) or 0) > 0]

        window = frames_between(perf_warm, perf_end)
        steady = frames_between(perf_warm, perf_raise)
        fps = len(window) / ((perf_end - perf_warm) / 1000)
        fps_steady = len(steady) / ((perf_raise - perf_warm) / 1000)
        first_frame_s = next(((t - perf_play) / 1000 for t, text in status_log if (_step(text) or 0) > 0), None)
        gaps = sorted((b[0] - a[0]) / 1000 for a, b in zip(window, window[1:]))
        step_rate = (steps[-1] - steps[0]) / max(samples[-1][0] - samples[0][0], 1e-9)
        app_rates = [int(m.group(1)) for _, text in window if (m := APP_RATE_RE.search(text))]
        print(f"\n[e2e] frames/s while playing: {fps:.2f} over {(perf_end - perf_warm) / 1000:.1f} s "
              f"({len(window)} frames; {fps_steady:.2f} before the slider moved; target 4); frame gap median "
              f"{gaps[len(gaps) // 2] if gaps else float('nan'):.2f} s, max {max(gaps, default=float('nan')):.2f} s; "
              f"first frame {first_frame_s:.2f} s after Play, warm-up ({WARMUP_FRAMES} frames) {t_warm - t_play:.1f} s")
        print(f"[e2e] training speed: {step_rate:.0f} steps/s from the counter; app's own figure "
              f"{app_rates[-1] if app_rates else '?'} steps/s (max {max(app_rates, default=0)}); samples: {trace}")
        floor = _fps_floor(cpu)
        if cpu["total"] is not None:
            server_cores = cpu["by_root"][server.proc.pid]
            client_cores = cpu["ours"] - server_cores
            per_frame = (f"{server_cores / fps:.2f} s server + {client_cores / fps:.2f} s browser/test"
                         if fps else "n/a")
            print(f"[e2e] CPU during the measurement: {cpu['total']:.2f} of {cpu['cores']} cores busy: app server "
                  f"{server_cores:.2f}, Chromium + Playwright + test {client_cores:.2f}, other processes "
                  f"{cpu['others']:.2f}; CPU per frame {per_frame}; frame-rate floor {floor:.2f} frames/s")
        assert fps >= floor, why(
            f"only {fps:.2f} status-line updates per second while playing (floor {floor:.2f} with "
            f"{cpu['others'] or 0:.2f} cores taken by other processes; target 4)")

        # --- pause: the counter stops and the status says so; the learning rate is back to where it was put
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_timeout(1500)
        wait_app_idle(page, timeout_ms=15_000)
        status = page.evaluate(STATUS_TEXT_JS) or ""
        first = _step(status)
        page.wait_for_timeout(1500)
        status = page.evaluate(STATUS_TEXT_JS) or ""
        second = _step(status)
        assert first is not None and first == second, why(f"the counter moved after Pause: {first} -> {second}")
        assert status.startswith("paused"), why("the status line should say 'paused' after Pause")
        assert first >= steps[-1], why(f"Pause should keep the run (step {steps[-1]} before, {first} after)")
        lr_now = lr_input.get_attribute("aria-valuetext")
        assert lr_now == "0.01", why(f"learning rate slider should be back at 0.01, shows {lr_now!r}")
        assert f"| lr {lr_now} |" in status, why(f"status line should show the slider's learning rate {lr_now}")
        no_exception_box("after Pause")

        # --- the decision boundary is drawn, with points on it, and changed while the network learned
        boundary = page.evaluate(BOUNDARY_JS)
        assert boundary, why("no chart on the page")
        assert boundary["width"] > 100 and boundary["height"] > 100, why(
            f"decision boundary chart not rendered: {_brief(boundary)}")
        assert boundary["shaded"] > 0.2 and boundary["points"] > 100, why(
            f"decision boundary lacks its shaded probabilities or data points: {_brief(boundary)}")
        assert boundary["signature"] != boundary_before["signature"], why(
            "the decision boundary looks the same as before training")
        assert not page_errors, why("JavaScript errors on the page")

        # --- screenshots (temporary folder): the top of the page at 1400x1000, then the whole page
        shots = save_screenshots(page, outputs["top_screenshot"], outputs["screenshot"])
        for shot in (shots["top"], shots["full"]):
            assert shot.stat().st_size > 20_000, why(f"screenshot {shot} suspiciously small")
        print(f"[e2e] screenshots: {shots['full']} ({VIEWPORT['width']}x{shots['full_height']}, whole page), "
              f"{shots['top']} ({VIEWPORT['width']}x{VIEWPORT['height']}); timings: load "
              f"{t_loaded - t_start:.1f} s, total {time.monotonic() - t_start:.1f} s")
    except BaseException:
        print(f"\n--- streamlit server log ({server.log_path}) ---\n{server.log_tail()}")
        raise
    finally:
        page.close()
    assert "Traceback" not in server.log_tail(200_000), f"server logged a traceback:\n{server.log_tail()}"


def test_a_link_straight_to_a_page_on_a_fresh_server_runs_through_the_app(browser_context, outputs):
    """The first request of a new server, a shared link to the Images page with a setting in it: Streamlit
    would run the page file alone (legacy pages-folder mode: file names as navigation, no app.py). The page
    must come up as the app's Images page, with the app's navigation and the link's setting."""
    require_browser()
    with StreamlitServer("app.py", cwd=REPO_ROOT, log_path=outputs["deeplink_log"]) as server:
        page = browser_context.new_page()
        try:
            page.goto(f"{server.url}/images?img.limit=500")
            page.wait_for_selector("h1", timeout=LOAD_TIMEOUT_S * 1000)
            wait_app_idle(page, timeout_ms=LOAD_TIMEOUT_S * 1000)
            page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stSidebarNav'] a\").length >= 6",
                                   timeout=30_000)
            links = [text.split("\n")[-1] for text in
                     page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()]
            assert links == ["Playground", "Images", "From scratch", "Lessons", "Search", "Compare"], links
            assert page.locator("h1").first.inner_text() == "Images"
            limit = page.locator("[data-testid='stNumberInput']", has_text="Training images").locator("input")
            try:  # the page settles after its run through the app (a moment after the first run ends)
                page.wait_for_function("(el) => el.value === '500'", arg=limit.element_handle(), timeout=10_000)
            except Exception:
                pass  # reported by the assertion below
            assert limit.input_value() == "500", "the link's setting was lost on the way through the app"
        finally:
            page.close()
        assert "Traceback" not in server.log_tail(200_000), server.log_tail()
