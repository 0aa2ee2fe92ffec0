"""The live view in a real browser (Chromium at devicePixelRatio 2): it plays and pauses, is sharp, answers
hover and clicks, edits the engine's weights, grows the network, and takes drawn points. Nothing on the page
is fetched from outside the server.

Skips when Chromium or Playwright is missing, except under ``CI=true`` where that fails.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager

import numpy as np
import pytest

from nncore.io.checkpoint import load_checkpoint
from nncore.config import DataConfig, ModelConfig, RunConfig
from nncore.train.trainer import Trainer
from ui.liveview.payload import FrameBuilder, decode

from tests.browser.support import (DEEP_FIND_JS, REPO_ROOT, StreamlitServer, launch_chromium, require_browser,
                                   wait_app_idle)

LINK = "/?pg.hidden=3,2&pg.n_points=200&pg.epochs=10000"  # a small network, drawn in full
CONFIG = RunConfig(data=DataConfig(n_points=200), model=ModelConfig(hidden=(3, 2)))  # what LINK trains
VIEW = "[data-testid='live-view']"
LOAD_TIMEOUT_MS = 120_000
NOTICE = "[data-testid='stAlert']"

# The boundary canvas's pixels, read in the page: (width, height, a checksum of every pixel).
PIXELS_JS = """(canvas) => {
  const g = canvas.getContext("2d");
  const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] * 7 + d[i + 1] * 3 + d[i + 2]) >>> 0;
  return [canvas.width, canvas.height, h];
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    log = tmp_path_factory.mktemp("live-view") / "streamlit.log"
    srv = StreamlitServer("app.py", cwd=REPO_ROOT, log_path=log)
    srv.start(timeout=60)
    try:
        yield srv
    finally:
        srv.stop()
        assert "Traceback" not in srv.log_tail(200_000), srv.log_tail()


@pytest.fixture(scope="module")
def context():
    require_browser()
    with launch_chromium(device_scale_factor=2, accept_downloads=True) as ctx:
        yield ctx


@contextmanager
def _opened(context, server, link: str = LINK):
    """A page of the app at ``link``, its live view drawn: (page, page errors, URLs requested); closed after."""
    page = context.new_page()
    try:
        yield _load(page, server, link)
    finally:
        page.close()


def _load(page, server, link: str):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url + link, timeout=30_000)
    page.locator(VIEW).first.wait_for(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(f"() => document.querySelector('[data-testid=stApp]') && "
                           f"[...document.querySelectorAll('*')].some(e => e.shadowRoot && "
                           f"e.shadowRoot.querySelector(\"{VIEW}\") && "
                           f"+e.shadowRoot.querySelector(\"{VIEW}\").dataset.frame > 0)", timeout=LOAD_TIMEOUT_MS)
    wait_app_idle(page, timeout_ms=30_000)
    return page, errors, requests


def _frames(page) -> int:
    """Data frames drawn by the page's live view (the first one: a paused run may show time travel below)."""
    return int(page.locator(VIEW).first.get_attribute("data-frame"))


def _pixels(page) -> list:
    return page.locator("[data-testid='boundary']").first.evaluate(PIXELS_JS)


def test_frames_advance_while_playing_stop_on_pause_and_the_canvas_is_sharp(context, server):
    with _opened(context, server) as (page, errors, requests):
        canvas = page.locator("[data-testid='boundary']").first
        css = canvas.evaluate("c => [c.getBoundingClientRect().width, c.getBoundingClientRect().height]")
        backing = canvas.evaluate("c => [c.width, c.height]")
        assert css[0] > 100 and backing == [round(css[0] * 2), round(css[1] * 2)], (css, backing)

        # every node's picture is drawn in its box, on the diagram's canvas under the node's element
        centres = page.locator("[data-testid='neuron'], [data-testid='output']").evaluate_all("""els => {
          const cv = els[0].closest(".lv-d-stage").querySelector("canvas"), r = cv.getBoundingClientRect();
          const g = cv.getContext("2d"), k = cv.width / r.width;
          return els.map(e => { const b = e.getBoundingClientRect();
            return g.getImageData(Math.round((b.x + b.width / 2 - r.x) * k), Math.round((b.y + b.height / 2 - r.y) * k),
                                  1, 1).data[3]; });
        }""")
        assert len(centres) == 3 + 2 + 1 and all(alpha == 255 for alpha in centres), centres

        before = _frames(page)
        page.get_by_role("button", name="Play", exact=True).click()
        t0 = time.monotonic()
        deadline = t0 + 30
        while _frames(page) < before + 10 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        grown = _frames(page) - before
        rate = grown / (time.monotonic() - t0)
        print(f"\n[live view] {grown} frames in {time.monotonic() - t0:.1f} s after Play ({rate:.1f} frames/s, "
              "including the first frame's start-up)")
        assert grown >= 10, f"only {grown} new frames within 30 s of Play"

        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_timeout(1000)
        wait_app_idle(page)
        paused = _frames(page)
        page.wait_for_timeout(1500)
        assert _frames(page) == paused, "frames kept coming after Pause"
        assert not errors, errors
        outside = [u for u in requests if not u.startswith((server.url, "data:", "blob:"))]
        assert not outside, f"the page fetched from outside the server: {outside[:5]}"


def test_while_playing_frames_come_from_the_fast_path_not_script_reruns_and_stop_on_pause(context, server):
    with _opened(context, server) as (page, errors, _):
        fed: list[tuple[float, int]] = []  # (time, status) of every answer on the frame route's socket

        def answered(message):  # a frame (binary) is a 200; a refusal is "<status> <why>"
            fed.append((time.monotonic(), 200 if isinstance(message, bytes) else int(message.split()[0])))
        page.on("websocket",
                lambda ws: ws.on("framereceived", answered) if "/_nnplay/live/" in ws.url else None)
        runs = page.evaluate("""() => { window.__runs = 0; const app = document.querySelector('[data-testid=stApp]');
            new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runs++; })
              .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); return 0; }""")
        before = _frames(page)
        page.get_by_role("button", name="Play", exact=True).click()
        deadline = time.monotonic() + 30
        while _frames(page) < before + 20 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        frames, runs = _frames(page) - before, page.evaluate("window.__runs")
        served = sum(status == 200 for _, status in fed)
        assert frames >= 20, f"only {frames} new frames within 30 s of Play"
        # nearly every frame came from the route; the script ran for the click and its slow timer only
        assert served >= frames - runs - 1 and runs < frames / 2, (frames, served, runs)

        # the status line comes with the frames: in the view, the step of the picture drawn, and only there
        line = page.locator("[data-testid='live-status']").first
        for _ in range(5):
            shown = page.locator(VIEW).first.evaluate(
                "v => [v.dataset.step, v.querySelector(\"[data-testid='live-status']\").textContent]")
            assert f"| Step {shown[0]} |" in shown[1] and shown[1].startswith("training"), shown
            assert not page.locator("[data-testid='stMarkdown']", has_text="| Step ").count()
            page.wait_for_timeout(150)

        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_timeout(1000)
        wait_app_idle(page)
        # paused: the page's own status line says so, at the step the view shows; the view's copy is gone
        step = page.locator(VIEW).first.get_attribute("data-step")
        status = page.locator("[data-testid='stMarkdown']", has_text="| Step ").first.text_content()
        assert status.startswith("paused") and f"| Step {step} |" in status, (step, status)
        assert line.is_hidden()
        paused, asked = _frames(page), len(fed)
        page.wait_for_timeout(1500)
        assert _frames(page) == paused, "frames kept coming after Pause"
        assert len(fed) == asked, "the view kept asking for frames after Pause"
        assert not errors, errors


def test_where_the_frame_socket_cannot_be_reached_the_scripts_timer_trains_on(context, server):
    page = context.new_page()
    refused: list[str] = []

    def refuse(ws):  # a proxy that lets Streamlit's socket through but not the frame socket
        refused.append(ws.url)
        ws.close()
    page.route_web_socket("**/_nnplay/live/**", refuse)
    try:
        _, errors, _ = _load(page, server, LINK)
        view = page.locator(VIEW).first
        page.get_by_role("button", name="Play", exact=True).click()
        deadline = time.monotonic() + 30
        while not refused and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert refused, "the view never opened its frame socket"
        step = int(view.get_attribute("data-step") or 0)
        # the view told the script, which now trains on its timer: frames keep coming, from script reruns
        deadline = time.monotonic() + 30
        while int(view.get_attribute("data-step") or 0) <= step + 50 and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert int(view.get_attribute("data-step")) > step + 50
        assert len(refused) == 1, "the view asked a socket that failed again"
        page.get_by_role("button", name="Pause", exact=True).click()
        assert not errors, errors
    finally:
        page.close()


CAPTION = b"A real network trains on 2-D data while you watch"  # in the page's own script run only
RATE = b"Learning rate"                                           # the learning rate's own fragment
OTHERS = (b"Batch size", b"Epochs", b"Gradient clipping")         # other settings' fragments


def test_a_training_setting_changed_while_playing_reruns_only_its_own_widget(context, server):
    page = context.new_page()
    sent: list[bytes] = []  # every message on Streamlit's socket, as the browser received it (not the frames')

    def streamlits(ws):
        if "/_nnplay/live/" not in ws.url:
            ws.on("framereceived", lambda m: sent.append(m if isinstance(m, bytes) else m.encode()))
    page.on("websocket", streamlits)
    try:
        _, errors, _ = _load(page, server, LINK)
        view = page.locator(VIEW).first
        status = view.locator("[data-testid='live-status']")
        slider = page.locator("[data-testid='stSlider']", has_text="Learning rate").locator("input[type='range']")
        page.get_by_role("button", name="Play", exact=True).click()
        status.wait_for(state="visible", timeout=30_000)
        page.wait_for_function("v => v.textContent.includes('| lr 0.01 |')", arg=status.element_handle(),
                               timeout=30_000)
        step, mark = int(view.get_attribute("data-step")), len(sent)
        slider.focus()
        page.keyboard.press("ArrowRight")  # 0.01 -> 0.03
        # the view's next frames say so: the same run, further on, at the new rate
        page.wait_for_function("v => v.textContent.includes('| lr 0.03 |')", arg=status.element_handle(),
                               timeout=30_000)
        assert int(view.get_attribute("data-step")) > step
        page.wait_for_function("() => /pg\\.learning_rate=0\\.03/.test(location.search)", timeout=10_000)
        wait_app_idle(page)
        answer = sent[mark:]
        assert any(RATE in m for m in answer), "the learning rate's widget was not drawn again"
        assert not any(CAPTION in m for m in answer), "the whole page ran again for a training setting"
        drawn = [o for o in OTHERS if any(o in m for m in answer)]
        assert not drawn, f"settings the click did not touch were drawn again: {drawn}"

        # a setting that decides which others show runs the whole page: the optimizer's own knobs follow it
        mark = len(sent)
        page.locator("[data-testid='stSelectbox']", has_text="Optimizer").click()
        page.get_by_role("option", name="momentum", exact=True).click()
        page.locator("[data-testid='stSlider']", has_text="Momentum").wait_for(state="visible", timeout=30_000)
        wait_app_idle(page)
        assert page.locator("[data-testid='stSlider']", has_text="β1").count() == 0  # Adam's, gone
        assert any(CAPTION in m for m in sent[mark:])
        page.wait_for_function("() => /pg\\.optimizer=momentum/.test(location.search)", timeout=10_000)

        # paused, the view fetches no frames: the whole page runs, and its status line shows the new rate
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_timeout(500)
        wait_app_idle(page)
        mark = len(sent)
        slider.focus()
        page.keyboard.press("ArrowLeft")  # 0.03 -> 0.01
        # (looked up at each poll: a page run may put a new element in the old one's place)
        page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stMarkdown']\")].some("
                               "e => e.textContent.includes('| Step ') && e.textContent.includes('| lr 0.01 |'))",
                               timeout=30_000)
        line = page.locator("[data-testid='stMarkdown']", has_text="| Step ").first
        assert line.text_content().startswith("paused") and "| lr 0.01 |" in line.text_content()
        assert any(CAPTION in m for m in sent[mark:])
        assert not errors, errors
    finally:
        page.close()


def test_hover_shows_a_neuron_and_a_typed_weight_reaches_the_engine(context, server, tmp_path):
    with _opened(context, server) as (page, errors, _):
        output = _pixels(page)
        neuron = page.locator("[data-testid='neuron'][data-layer='1'][data-unit='0']")
        neuron.hover()
        page.wait_for_timeout(300)
        shown = _pixels(page)
        assert shown != output, "hovering a neuron left the boundary panel unchanged"
        page.mouse.move(2, 2)
        page.wait_for_timeout(300)
        assert _pixels(page) == output, "leaving the neuron did not bring the network's output back"

        # the weight from input x2 (unit 1) to neuron 3 of layer 1 (unit 2), as the engine initialized it
        expected = Trainer(CONFIG).engine.get_params()[0]["W"][2, 1]
        link = page.locator("[data-testid='link'][data-from='0:1'][data-to='1:2']")
        link.hover()
        card = page.locator("[data-testid='link-card']")
        card.wait_for(state="visible", timeout=5000)
        assert f"{expected:.3g}" in card.inner_text(), (card.inner_text(), expected)

        link.click()
        box = page.locator("[data-testid='weight-input']")
        box.wait_for(state="visible", timeout=5000)
        box.fill("0.5")
        box.press("Enter")
        page.locator(NOTICE, has_text="set to 0.5").wait_for(timeout=20_000)
        wait_app_idle(page)
        link.hover()
        page.wait_for_timeout(300)
        assert "0.5" in card.inner_text()

        page.get_by_text("Model file: save, export, or load a checkpoint").click()
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name="Checkpoint (.safetensors)").click()
        path = tmp_path / "edited.safetensors"
        download.value.save_as(path)
        params = load_checkpoint(path.read_bytes()).params
        assert params[0]["W"][2, 1] == 0.5, params[0]["W"]
        assert not errors, errors


def test_plus_adds_a_neuron_in_settings_link_and_diagram(context, server):
    with _opened(context, server) as (page, errors, _):
        assert page.locator("[data-testid='neuron'][data-layer='1']").count() == 3
        page.locator("[data-testid='add-unit'][data-layer='1']").click()
        page.wait_for_function("() => /pg\\.hidden=4(%2C|,)2/.test(location.search)", timeout=30_000)
        wait_app_idle(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('*')].some(e => e.shadowRoot && "
            "e.shadowRoot.querySelectorAll(\"[data-testid='neuron'][data-layer='1']\").length === 4)", timeout=30_000)
        hidden = page.locator("[data-testid='stTextInput']", has_text="Hidden layers").locator("input")
        assert hidden.input_value() == "4,2"
        assert page.locator("[data-testid='neuron'][data-layer='2']").count() == 2
        assert not errors, errors


def test_a_click_on_the_plane_adds_a_point_of_the_picked_class(context, server):
    with _opened(context, server) as (page, errors, _):
        canvas = page.locator("[data-testid='boundary']").first
        points = int(canvas.get_attribute("data-points"))
        assert points == 200
        page.locator("[data-testid='draw-mode']").click()
        page.locator("[data-testid='draw-class']").select_option("1")
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator(NOTICE, has_text="class 1").wait_for(timeout=30_000)
        wait_app_idle(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('*')].some(e => e.shadowRoot && "
            "+(e.shadowRoot.querySelector(\"[data-testid='boundary']\") || {dataset: {}}).dataset.points === 201)",
            timeout=30_000)
        assert not errors, errors


def test_histogram_percentiles_from_bins_bracket_numpys_and_follow_the_interpolation_rule(context, tmp_path):
    """The percentile bands (TensorBoard's distributions) come from the binned counts: each percentile lies
    in the bin that holds it, interpolated linearly inside; so it is within that bin of NumPy's percentile of
    the raw values, and equal (to float64 rounding) to the same rule computed here."""
    require_browser()
    from nncore.inspect.metrics import HIST_EDGES, histogram
    from ui.liveview import ASSETS
    edges = np.asarray(HIST_EDGES, np.float64)
    qs = [0, 0.07, 0.16, 0.31, 0.5, 0.69, 0.84, 0.93, 1]
    rng = np.random.default_rng(0)
    samples = [rng.normal(0, s, 4000) for s in (1e-3, 0.1, 2.0)] + [rng.standard_t(2, 3000) * 0.01]
    counts = [np.asarray(histogram(x), np.float64) for x in samples] + [np.zeros(len(edges) - 1)]
    page_file = tmp_path / "percentiles.html"
    page_file.write_text("<script>const PANELS = {}; const LV = {};\n" + (ASSETS / "histograms.js").read_text()
                         + "\n</script>")
    page = context.new_page()
    page.goto(page_file.as_uri())
    got = page.evaluate("([cs, e, qs]) => cs.map(c => Array.from(hist_percentiles(c, e, qs).values))",
                        [[c.tolist() for c in counts], edges.tolist(), qs])
    page.close()
    eps = np.finfo(np.float64).eps
    for x, c, values in zip(samples + [None], counts, got):
        values = np.array([np.nan if v is None else v for v in values], np.float64)
        if x is None:
            assert np.isnan(values).all()  # an empty row has no percentiles
            continue
        cum = np.cumsum(c)
        for q, v in zip(qs, values):
            b = int(np.flatnonzero((c > 0) & (cum >= q * cum[-1]))[0])  # the bin that holds the q-th value
            inside = (q * cum[-1] - (cum[b] - c[b])) / c[b]
            rule = edges[b] + min(max(inside, 0.0), 1.0) * (edges[b + 1] - edges[b])
            assert abs(v - rule) <= 4 * eps * np.abs(edges).max(), (q, v, rule)
            true = np.percentile(np.clip(x, edges[0], edges[-1]), q * 100)
            assert edges[b] - 1e-12 <= v <= edges[b + 1] + 1e-12
            assert abs(v - true) <= (edges[b + 1] - edges[b]) + 4 * eps * abs(true), (q, v, true)


def test_the_view_makes_a_frame_whole_again_as_the_server_built_it(context, tmp_path):
    """A frame the socket sends after another carries only what changed (ui/liveview/payload.py: changes); the
    view's LV.rebase must give back exactly the arrays of the whole frame, and refuse a frame that builds on
    another than the one it has."""
    require_browser()
    from ui.liveview import payload, sources
    trainer = Trainer(RunConfig(train=dataclasses.replace(RunConfig().train, epochs=10_000)))
    builder, frames = FrameBuilder(trainer.dataset, editable=True), []
    for i in range(3):
        trainer.advance(seconds=0.05)
        frames.append(builder.build(trainer.snapshot(), trainer.engine, i + 1, playing=True, source="s", feed="f"))
    before, whole = frames[0], frames[2]
    header, arrays = decode(before)
    sent = payload.changes(whole, header["id"], arrays)
    h = decode(sent)[0]
    assert h["same"] and any(spec.get("from") for spec in h["arrays"].values())  # both kinds are exercised
    page_file = tmp_path / "rebase.html"
    page_file.write_text('<script type="module">\n' + sources()[0] + "\nwindow.__LV = LV;\n</script>")
    page = context.new_page()
    page.goto(page_file.as_uri())
    page.wait_for_function("() => !!window.__LV")
    got = page.evaluate("""([before, sent, whole]) => {
      const P = __LV.decode(Uint8Array.from(before)), D = __LV.decode(Uint8Array.from(sent));
      const W = __LV.decode(Uint8Array.from(whole)), R = __LV.rebase(D, P), differ = [];
      for (const k of new Set([...Object.keys(W.a), ...Object.keys(R.a)])) {
        const x = R.a[k], y = W.a[k];
        const shapes = JSON.stringify(R.s[k]) === JSON.stringify(W.s[k]);
        if (!x || !y || x.constructor !== y.constructor || x.length !== y.length || !shapes
            || x.some((v, i) => !Object.is(v, y[i]))) differ.push(k);
      }
      let refused = false;
      try { __LV.rebase(D, W); } catch (e) { refused = true; }
      return {differ, arrays: Object.keys(R.a).length, step: R.h.step, refused};
    }""", [list(before), list(sent), list(whole)])
    page.close()
    assert got["differ"] == [] and got["arrays"] == len(decode(whole)[1]) and got["step"] == decode(whole)[0]["step"]
    assert got["refused"]  # built on frame 1, offered frame 3: not glued onto the wrong frame


# Counts, per animation frame, whether the boundary canvas was drawn on (any drawImage on it), so that a test
# sees how many times each data frame is drawn.
DRAWS_INIT_JS = """(() => {
  let tick = 0;
  window.__boundaryTicks = new Set();
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = cb => raf(now => { tick++; cb(now); });
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    if (this.canvas && this.canvas.getAttribute && this.canvas.getAttribute("data-testid") === "boundary")
      window.__boundaryTicks.add(tick);
    return draw.apply(this, args);
  };
})();"""


def test_frames_that_come_fast_are_drawn_once_each(context, tmp_path):
    """Frames 60 ms apart (faster than the view eases) are drawn once each: one animation frame draws the
    boundary per data frame, not two (an animation frame's time can precede the data's arrival; the view
    once took that for an easing that had not begun and drew every frame twice)."""
    require_browser()
    from ui.liveview import harness
    page_file = tmp_path / "harness.html"
    page_file.write_text(harness.page("binary", (3, 2), count=20, ms=60), encoding="utf-8")
    page = context.new_page()
    try:
        page.add_init_script(DRAWS_INIT_JS)
        page.goto(page_file.as_uri())
        page.wait_for_function("() => window.__lv && window.__lv.count > 3", timeout=30_000)
        page.wait_for_timeout(500)
        start = page.evaluate("() => [window.__lv.count, window.__boundaryTicks.size]")
        page.wait_for_timeout(2000)
        page.evaluate("() => window.__lv.pause()")
        page.wait_for_timeout(300)  # the last frame drawn
        end = page.evaluate("() => [window.__lv.count, window.__boundaryTicks.size]")
    finally:
        page.close()
    frames, drawn = end[0] - start[0], end[1] - start[1]
    assert frames >= 10, frames
    # each frame drawn: at least once per two frames (two may arrive within one animation frame on a busy
    # machine), and at most once per frame (plus one for the frame the window began in)
    assert frames / 2 <= drawn <= frames + 1, (frames, drawn)


# Each node's box on the diagram's canvas, read in the page: [layer, unit, kind, [[r, g, b] at each fraction
# pair of the box], [r, g, b] two CSS pixels left of the box at its middle (where a neuron's bias bar is)].
NODE_SAMPLES_JS = """([fracs]) => {
  const stage = (""" + DEEP_FIND_JS + """)(document, ".lv-d-stage");
  const cv = stage.querySelector("canvas"), r = cv.getBoundingClientRect();
  const g = cv.getContext("2d"), k = cv.width / r.width;
  const at = (x, y) => [...g.getImageData(Math.floor((x - r.x) * k), Math.floor((y - r.y) * k), 1, 1).data.slice(0, 3)];
  return [...stage.querySelectorAll("[data-testid='neuron'], [data-testid='output']")].map(e => {
    const b = e.getBoundingClientRect();
    return [+e.dataset.layer, +e.dataset.unit, e.dataset.testid,
            fracs.map(([fx, fy]) => at(b.x + fx * b.width, b.y + fy * b.height)), at(b.x - 2, b.y + b.height / 2)];
  });
}"""


def _ranks(v: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float)


def test_each_node_draws_its_own_picture_and_bias_on_the_diagrams_canvas(context, tmp_path):
    """The nodes' pictures reach the diagram's canvas through one atlas of tiles: each node's box shows its own
    neuron's output over the plane (not a neighbour's tile, not shifted), and left of each hidden neuron's box
    its bias bar has the colour of the bias's sign."""
    require_browser()
    import base64
    import json

    from ui.liveview import harness, sources
    from ui.liveview.payload import decode, demo_frames

    frames = demo_frames("binary", (4, 3), count=4, steps=80)
    js, css = sources()
    page_file = tmp_path / "nodes.html"
    page_file.write_text(harness.PAGE % {"css": json.dumps(css), "js": json.dumps(js), "ms": 10_000_000,
                                         "frames": json.dumps([base64.b64encode(f).decode() for f in frames]),
                                         "width": 1100}, encoding="utf-8")
    header, arrays = decode(frames[-1])
    # texel centres of the tiles, as fractions of a box: 6 x 6 of them
    n = arrays["thumb_1"].shape[-1]
    cols = [round((i + 0.5) * n / 6 - 0.5) for i in range(6)]
    fracs = [((c + 0.5) / n, (r + 0.5) / n) for r in cols for c in cols]
    page = context.new_page()
    try:
        page.goto(page_file.as_uri())
        page.wait_for_function("() => window.__lv && window.__lv.count >= 1", timeout=30_000)
        page.evaluate(f"() => {{ window.__lv.pause(); window.__lv.show({len(frames) - 1}); }}")
        page.wait_for_timeout(800)  # eased in (at most 250 ms) and drawn
        nodes = page.evaluate(NODE_SAMPLES_JS, [fracs])
    finally:
        page.close()

    # every tile the atlas holds, as it is laid on screen (its row 0 at the top: the plane's highest y)
    tiles = {(l, u): arrays[f"thumb_{l}"][u] for l in (1, 2) for u in range(arrays[f"thumb_{l}"].shape[0])}
    tiles[(3, 0)] = arrays["boundary"].reshape(int(np.sqrt(arrays["boundary"].size)), -1)

    def texels(tile: np.ndarray) -> np.ndarray:
        m = tile.shape[0]
        return np.array([tile[m - 1 - int(fy * m), int(fx * m)] for fx, fy in fracs], float)

    # the colour scales are monotonic in the value (blue minus red rises or falls with it), so a box that shows
    # a tile ranks its pixels as the tile ranks its values: a rank correlation near +-1 with its own tile, and
    # below that with any other tile; the slack below 1 is for ties of uint8 values and sampling between texels
    assert len(nodes) == 4 + 3 + 1, nodes
    checked = 0
    for layer, unit, kind, samples, bias_px in nodes:
        own = (layer, unit) if kind == "neuron" else (3, 0)
        if np.ptp(texels(tiles[own])) < 8:  # a nearly flat picture ranks by noise: nothing to tell apart
            continue
        rgb = np.array(samples, float)
        shown = _ranks(rgb[:, 2] - rgb[:, 0])
        rho = {key: abs(np.corrcoef(shown, _ranks(texels(t)))[0, 1]) for key, t in tiles.items()
               if np.ptp(texels(t)) >= 8}
        best = max(rho, key=rho.get)
        assert best == own and rho[own] > 0.8, (kind, layer, unit, rho)
        checked += 1
        if kind == "neuron":
            b = float(arrays[f"b_{layer - 1}"][unit])
            d = header["diverging"]
            want, other = (d["pos"], d["neg"]) if b >= 0 else (d["neg"], d["pos"])
            hexrgb = lambda s: np.array([int(s[i:i + 2], 16) for i in (1, 3, 5)], float)  # noqa: E731
            px = np.array(bias_px, float)
            assert np.abs(px - hexrgb(want)).sum() < np.abs(px - hexrgb(other)).sum(), (layer, unit, b, bias_px)
    assert checked >= 5, f"only {checked} of {len(nodes)} pictures had enough contrast to check"
