"""The README's picture: the Playground paused mid-run after a few seconds of training on its defaults.

    python benchmarks/screenshot.py [--out docs/screenshot.png] [--seconds 6]

Starts ``streamlit run app.py`` on 127.0.0.1, opens the Playground in Chromium (tests/browser/support.py's
harness) with the default settings but a run of LONG_RUN_EPOCHS (so it is still training), presses Play, lets
it train ``--seconds``, presses Pause and saves what a 1400x1000 window shows to ``--out``. Run it on purpose
when the page's look changes; the test suite never writes this file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.support import (REPO_ROOT, StreamlitServer, browser_unavailable, launch_chromium,  # noqa: E402
                                   save_screenshots, wait_app_idle)

LONG_RUN_EPOCHS = 10_000  # the server limit: far more than a few seconds train
STATUS_JS = """() => {
  const el = [...document.querySelectorAll("[data-testid='stMarkdown']")].find(e => e.textContent.includes("| Step "));
  return el ? el.textContent : "";
}"""


def take(out: Path, seconds: float) -> str:
    """Save the picture to ``out``; returns the status line it shows."""
    with tempfile.TemporaryDirectory(prefix="screenshot-") as tmp, \
            StreamlitServer("app.py", cwd=REPO_ROOT, log_path=Path(tmp) / "streamlit.log") as server, \
            launch_chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/?pg.epochs={LONG_RUN_EPOCHS}", timeout=60_000)
        page.wait_for_function(f"() => ({STATUS_JS})().length > 0", timeout=120_000)
        wait_app_idle(page, timeout_ms=60_000)
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_timeout(seconds * 1000)
        page.get_by_role("button", name="Pause", exact=True).click()
        time.sleep(1.0)
        wait_app_idle(page, timeout_ms=30_000)
        out.parent.mkdir(parents=True, exist_ok=True)
        save_screenshots(page, out)
        return page.evaluate(STATUS_JS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png", help="PNG file to write")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long it trains before the picture")
    a = parser.parse_args()
    reason = browser_unavailable()
    if reason:
        print(f"error: cannot take the screenshot: {reason}", file=sys.stderr)
        return 2
    if not a.seconds > 0:
        print(f"error: --seconds must be > 0, got {a.seconds}", file=sys.stderr)
        return 2
    status = take(a.out, a.seconds)
    print(f"saved {a.out} ({a.out.stat().st_size} bytes): {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
