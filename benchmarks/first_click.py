"""First click: how long the Playground's default settings take to solve their dataset in a real browser.

    python benchmarks/first_click.py [--target 0.95] [--runs 2]

Starts ``streamlit run app.py`` on 127.0.0.1, opens the Playground in Chromium, presses Play without touching
a setting, and times the wall clock from the click until the status line shows a test accuracy of at least
``--target``. The reference is the same training measured in this process without the app
(``python -m nncore bench defaults``: frame-sized slices, no drawing), so the ratio says what the live frames
cost. The last line is one JSON object: dataset, target, seconds_in_browser (each run), steps, test_acc,
reference_seconds, ratio_vs_reference.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nncore.train.bench import defaults_benchmark  # noqa: E402
from nncore.config import RunConfig  # noqa: E402
from tests.browser.support import StreamlitServer, launch_chromium, wait_app_idle  # noqa: E402

STATUS_JS = """() => {
  const el = [...document.querySelectorAll("[data-testid='stMarkdown']")].find(e => e.textContent.includes("| Step "));
  return el ? el.textContent : "";
}"""
TEST_ACC_RE = re.compile(r"test loss [0-9.]+ · acc ([0-9.]+)%")
STEP_RE = re.compile(r"\| Step (\d+) \|")


def time_to_target(server: StreamlitServer, target: float, limit_s: float = 60.0) -> dict:
    with launch_chromium() as browser:
        page = browser.new_page()
        page.goto(server.url)
        wait_app_idle(page, timeout_ms=120_000)
        page.wait_for_function(f"() => ({STATUS_JS})().length > 0", timeout=120_000)
        page.get_by_role("button", name="Play", exact=True).click()
        started = time.monotonic()
        text = ""
        while time.monotonic() - started < limit_s:
            text = page.evaluate(STATUS_JS)
            m = TEST_ACC_RE.search(text)
            if m and float(m.group(1)) / 100 >= target:
                return {"seconds": round(time.monotonic() - started, 2), "steps": int(STEP_RE.search(text).group(1)),
                        "test_acc": float(m.group(1)) / 100}
            time.sleep(0.05)
        return {"seconds": None, "status": text}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--runs", type=int, default=2)
    a = parser.parse_args()
    dataset = RunConfig().data.dataset
    with StreamlitServer() as server:
        runs = [time_to_target(server, a.target) for _ in range(a.runs)]  # each run: a new browser session
    reference = defaults_benchmark(target=a.target)[dataset]["seconds_to_target"]
    seconds = [r["seconds"] for r in runs]
    best = min((s for s in seconds if s is not None), default=None)
    print(json.dumps({
        "dataset": dataset, "target": a.target, "seconds_in_browser": seconds,
        "steps": [r.get("steps") for r in runs], "test_acc": [r.get("test_acc") for r in runs],
        "reference_seconds": reference,
        "ratio_vs_reference": round(best / reference, 2) if best and reference else None,
    }))
    return 0 if best is not None else 1


if __name__ == "__main__":
    sys.exit(main())
