"""Real-browser helpers shared by the end-to-end test and load benchmarks.

- ``StreamlitServer``: runs ``streamlit run app.py`` headless on 127.0.0.1 and a free port, in its own
  process group, waits for ``/_stcore/health`` to answer "ok", and stops the whole group afterwards. The
  server's stdout/stderr go to a log file that ``log_tail()`` returns for failure messages.
- ``launch_chromium()``: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright, headless, with a fresh
  profile (``CHROMIUM_PATH`` overrides the path). ``browser_unavailable()`` says why it cannot run, if it cannot.
- ``require_browser()``: skips when the browser is missing on a developer machine, but fails under ``CI=true``
  so that a CI job can never pass by skipping the browser check.
- ``wait_app_idle()``: the selectors Streamlit's own e2e tests use to know that a page finished a script run.
- ``STATUS_JS``: the run's status line ("… | Step <n> | …") as the page shows it: in the live view while it
  takes its frames from the fast path, else in the page's markdown.

Import it as ``from tests.browser.support import ...`` (repository root on ``sys.path``) or, inside ``tests/``,
``from tests.browser.support import ...``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The first element that matches a selector, in the document or inside (nested) open shadow roots (the live view
# draws inside its component's shadow root): a JavaScript function expression, (root, selector) -> element or
# null, for the snippets below and the tests' and benchmarks' own.
DEEP_FIND_JS = """(root, selector) => {
  const find = (r) => {
    const el = r.querySelector(selector);
    if (el) return el;
    for (const h of r.querySelectorAll("*")) if (h.shadowRoot) { const f = find(h.shadowRoot); if (f) return f; }
    return null;
  };
  return find(root);
}"""
# The status line's text, or "". The live view's copy (inside its shadow root) is looked up again only once it
# left the document, and at most once a second while there is none (callers poll this every few ms);
# textContent, not innerText: reading it forces no style or layout work.
STATUS_JS = """() => {
  const deep = (r) => (""" + DEEP_FIND_JS + """)(r, "[data-testid='live-status']");
  const now = performance.now(), w = window;
  if (!(w.__nnStatusEl && w.__nnStatusEl.isConnected) && !(now - (w.__nnStatusLooked || -1e9) < 1000)) {
    w.__nnStatusLooked = now;
    w.__nnStatusEl = deep(document);
  }
  const lv = w.__nnStatusEl;
  if (lv && lv.isConnected && !lv.hidden && lv.textContent.includes("| Step ")) return lv.textContent;
  const md = [...document.querySelectorAll("[data-testid='stMarkdown']")].find(e => e.textContent.includes("| Step "));
  return md ? md.textContent : "";
}"""
# Debian's Chromium; CHROMIUM_PATH overrides it (Playwright cannot download its own browsers here).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}

APP_SELECTOR = "[data-testid='stApp']"
# Set on the app root by Streamlit: "running" while a script run is in progress, "notRunning" once it finished.
IDLE_SELECTOR = "[data-test-script-state='notRunning']"


# ----------------------------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """One ``streamlit run`` subprocess; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(self, script: str = "app.py", port: int | None = None, cwd: Path = REPO_ROOT,
                 log_path: Path | None = None, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.script = script
        self.port = port or free_port()
        self.cwd = Path(cwd)
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
        self.extra_args = list(extra_args or [])
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streamlit", "run", self.script,
                "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(self.port),
                "--browser.gatherUsageStats", "false", *self.extra_args]

    def start(self, timeout: float = 60.0) -> "StreamlitServer":
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode} before it was healthy.\n"
                                   f"--- server log ---\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    body = resp.read().decode("utf-8", "replace").strip()
                if resp.status == 200 and body == "ok":
                    return
                last = f"HTTP {resp.status}: {body!r}"
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                last = repr(e)
            time.sleep(0.25)
        raise TimeoutError(f"streamlit at {self.url} not healthy after {timeout:.0f} s (last: {last}).\n"
                           f"--- server log ---\n{self.log_tail()}")

    def stop(self, grace: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(grace)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, max_chars: int = 8000) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError as e:
            return f"(log unreadable: {e})"
        return text[-max_chars:] if text else "(empty log)"

    def __enter__(self) -> "StreamlitServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------- browser

def browser_unavailable() -> str | None:
    """Why a real browser cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"the playwright Python package is not installed ({e})"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium executable at {CHROMIUM} (apt-get install -y chromium)"
    return None


def require_browser() -> None:
    """Skip (developer machine) or fail (CI=true) when the browser cannot run."""
    import pytest

    reason = browser_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"real-browser test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"real-browser test skipped: {reason}")


@contextlib.contextmanager
def launch_chromium(headless: bool = True, viewport: dict | None = None, **context_kwargs):
    """Yield a Playwright BrowserContext on /usr/bin/chromium with a fresh, temporary profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=headless, args=CHROMIUM_ARGS,
                viewport=viewport or VIEWPORT, **context_kwargs)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def wait_app_idle(page, timeout_ms: float = 30_000) -> None:
    """Wait until the Streamlit app is mounted and no script run is in progress."""
    page.wait_for_selector(APP_SELECTOR, timeout=timeout_ms)
    page.wait_for_selector(IDLE_SELECTOR, timeout=timeout_ms)


# ------------------------------------------------------------------------------------------ CPU meter

def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, utime + stime in clock ticks), for every process readable in /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                raw = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid ... utime(11) stime(12)
        table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _cpu_busy_ticks() -> int:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values[:8]) - idle  # user nice system idle iowait irq softirq steal; guest is inside user


class CpuMeter:
    """How busy the whole machine was over a window, split into our processes (this process and the given
    roots, with all their descendants: the server, Chromium, Playwright's driver) and everything else.

    Other processes matter on a shared machine: with the cores taken by others, frame rates drop for reasons
    that have nothing to do with the app. Linux only (reads /proc); elsewhere the figures are None.
    """

    def __init__(self, *root_pids: int) -> None:
        self.roots = list(dict.fromkeys([os.getpid(), *root_pids]))
        self.cores = os.cpu_count() or 1
        self._start = None

    @staticmethod
    def _tree(root: int, table: dict[int, tuple[int, int]]) -> set[int]:
        """``root`` and all its descendants in ``table``."""
        tree, changed = {root}, True
        while changed:
            changed = False
            for pid, (ppid, _) in table.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        return tree

    def start(self) -> "CpuMeter":
        try:
            self._start = (time.monotonic(), _cpu_busy_ticks(), _proc_table())
        except OSError:
            self._start = None
        return self

    def stop(self) -> dict:
        """Average cores in use over the window: {"cores", "seconds", "total", "ours", "others", "by_root"}, where
        ``by_root`` maps each root pid (this process first) to the cores used by it and its descendants (a
        process under several roots counts for the one given last)."""
        if self._start is None:
            return {"cores": self.cores, "seconds": None, "total": None, "ours": None, "others": None, "by_root": {}}
        t0, busy0, table0 = self._start
        table1, busy1, seconds = _proc_table(), _cpu_busy_ticks(), max(time.monotonic() - t0, 1e-9)
        hz = os.sysconf("SC_CLK_TCK")

        def cores_used(pids: set[int]) -> float:
            ticks = sum(t1 - (table0[pid][1] if pid in table0 else 0) for pid, (_, t1) in table1.items() if pid in pids)
            return ticks / hz / seconds

        trees, assigned = {}, set()
        for root in reversed(self.roots):  # the given roots before this process, whose tree may contain them
            trees[root] = (self._tree(root, table0) | self._tree(root, table1)) - assigned
            assigned |= trees[root]
        by_root = {root: cores_used(trees[root]) for root in self.roots}
        total = (busy1 - busy0) / hz / seconds
        ours = sum(by_root.values())
        return {"cores": self.cores, "seconds": seconds, "total": total, "ours": ours,
                "others": max(total - ours, 0.0), "by_root": by_root}


# ------------------------------------------------------------------------------------------ screenshots

def save_screenshots(page, top_path: Path, full_path: Path | None = None, max_height: int = 6000) -> dict:
    """What a VIEWPORT-sized window shows, saved to ``top_path`` (the README's picture), and, when
    ``full_path`` is given, the whole page (the main area scrolls inside the app, not the window, so the
    viewport is grown to the content's height, at most ``max_height``). Writes nothing else. Returns
    {"top": top_path, "full": full_path, "full_height": pixels or None}."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no slider focus ring
    page.evaluate("""() => { for (const sel of ["[data-testid='stSidebarContent']", "[data-testid='stMain']"]) {
                               const el = document.querySelector(sel); if (el) el.scrollTop = 0; } }""")
    page.wait_for_timeout(300)
    page.screenshot(path=str(top_path))
    full_height = None
    if full_path is not None:
        height = page.evaluate("""() => Math.max(...["[data-testid='stMain']", "[data-testid='stSidebarContent']"]
                                   .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight))""")
        full_height = int(min(max(height, VIEWPORT["height"]), max_height))
        page.set_viewport_size({"width": VIEWPORT["width"], "height": full_height})
        page.wait_for_timeout(800)
        wait_app_idle(page, timeout_ms=15_000)
        page.screenshot(path=str(full_path), full_page=True)
    return {"top": top_path, "full": full_path, "full_height": full_height}
