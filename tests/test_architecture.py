"""Structure rules: the core never imports the UI, pages stay small, engines cover every registry key."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_nncore_never_imports_streamlit():
    sources = [p for p in (REPO / "nncore").rglob("*.py")]
    assert sources
    for path in sources:
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path
    # And at run time: importing and using the core pulls no UI module in.
    code = ("import sys, nncore.cli, nncore.training, nncore.bench; "
            "from nncore.training import Trainer; from nncore.config import RunConfig; "
            "Trainer(RunConfig()).run(steps=3); "
            "print([m for m in sys.modules if m.split('.')[0] in ('streamlit', 'altair', 'ui')])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_pages_read_like_descriptions():
    for page in (REPO / "pages").glob("*.py"):
        assert len(page.read_text().splitlines()) <= 150, f"{page.name} is too long: move logic to ui/ or nncore/"
