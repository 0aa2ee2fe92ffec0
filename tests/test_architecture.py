import pytest
"""Structure rules: the core never imports the UI, pages stay small, engines cover every registry key."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_nncore_never_imports_streamlit():
    sources = [p for p in (REPO / "nncore").rglob("*.py")]
    assert sources
    for path in sources:
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path
    # And at run time: importing and using the core pulls no UI module in.
    code = ("import sys, nncore.cli.main, nncore.train.trainer, nncore.train.bench; "
            "from nncore.train.trainer import Trainer; from nncore.config import RunConfig; "
            "Trainer(RunConfig()).run(steps=3); "
            "print([m for m in sys.modules if m.split('.')[0] in ('streamlit', 'altair', 'ui')])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_pages_read_like_descriptions():
    for page in (REPO / "pages").glob("*.py"):
        assert len(page.read_text().splitlines()) <= 150, f"{page.name} is too long: move logic to ui/ or nncore/"


def test_the_browser_tests_write_only_into_a_temporary_folder(tmp_path):
    """Running the suite must leave the checkout as it was: the browser tests' logs and screenshots go to
    pytest's temporary folder; the README's picture is made on purpose by benchmarks/screenshot.py."""
    import ast

    import tests.browser.test_app_browser as e2e
    from tests.browser.support import REPO_ROOT, save_screenshots

    # no module-level path into the repository (the app's folder itself, where the server runs, aside)
    inside = [name for name, value in vars(e2e).items() if isinstance(value, Path) and value != REPO_ROOT
              and value.resolve().is_relative_to(REPO_ROOT)]
    assert inside == []
    # no path built from the repository's root, and no file written past the fixture's paths
    tree = ast.parse(Path(e2e.__file__).read_text())
    built = [ast.unparse(n) for n in ast.walk(tree)
             if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and "REPO" in ast.unparse(n.left)]
    assert built == []
    writers = {"copyfile", "copy", "copy2", "copytree", "move", "write_text", "write_bytes", "open", "mkdir"}
    calls = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call)
             and (getattr(n.func, "attr", None) or getattr(n.func, "id", None)) in writers]
    assert calls == []
    # the fixture's paths all lie in the temporary folder pytest hands it
    factory = type("Factory", (), {"mktemp": lambda self, name: tmp_path / name})()
    (tmp_path / "e2e").mkdir()
    outputs = e2e.outputs.__wrapped__(factory)
    assert outputs and all(p.parent == tmp_path / "e2e" for p in outputs.values())

    # the screenshot helper writes the paths it is given and nothing else
    class Page:
        written: list[str] = []

        def evaluate(self, script):
            return 1200

        def wait_for_timeout(self, ms):
            pass

        def wait_for_selector(self, selector, timeout=None):
            pass

        def set_viewport_size(self, size):
            pass

        def screenshot(self, path, full_page=False):
            self.written.append(path)

    shots = save_screenshots(Page(), tmp_path / "top.png", tmp_path / "full.png")
    assert Page.written == [str(tmp_path / "top.png"), str(tmp_path / "full.png")]
    assert shots["full_height"] == 1200


HEAVY = ("torch", "sklearn", "optuna", "onnx", "onnxruntime", "pandas")


@pytest.mark.slow
def test_the_playground_loads_and_draws_without_torch_or_scikit_learn():
    """The first visitor of a fresh server waits for whatever the Playground's first run imports; its
    default (the NumPy engine on a toy set) needs none of torch, scikit-learn, Optuna, ONNX or pandas (pandas
    reads uploaded tables only)."""
    code = ("import sys\n"
            "from streamlit.testing.v1 import AppTest\n"
            "import ui.liveview.payload, ui.panels.charts\n"
            "at = AppTest.from_file('app.py', default_timeout=120)\n"
            "at.run()\n"
            "assert not at.exception, [e.value for e in at.exception]\n"
            "assert any('| Step 0 |' in m.value for m in at.markdown), 'no status line: the page did not draw'\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
