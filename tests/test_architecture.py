import pytest
"""Structure rules: the core never imports the UI, pages stay small, engines cover every registry key."""

import ast
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
    pages = list((REPO / "app_pages").glob("*.py"))
    assert pages
    for page in pages:
        assert len(page.read_text().splitlines()) <= 150, f"{page.name} is too long: move logic to ui/ or nncore/"


def _imported_modules(tree) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module or "")
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def test_the_command_line_lives_in_nncore_cli():
    """Each command's flags and handler are in nncore/cli/<command>.py, which imports the work plainly: no
    core module outside nncore/cli imports the CLI or argparse or defines a command, and no command is
    registered through a module-name string."""
    cli = REPO / "nncore" / "cli"
    for path in (REPO / "nncore").rglob("*.py"):
        if path.is_relative_to(cli) or path == REPO / "nncore" / "__main__.py":  # the entry point calls cli.main
            continue
        tree = ast.parse(path.read_text())
        imported = _imported_modules(tree)
        assert not {m for m in imported if m == "argparse" or m.startswith("nncore.cli")}, path
        commands = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                    and (n.name == "add_command" or n.name.startswith("cmd_"))]
        assert commands == [], path
    for path in cli.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert not _imported_modules(tree) & {"importlib", "importlib.import_module"}, path
        calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        assert not {c for c in calls if c.endswith(("import_module", "__import__"))}, path

    # every command's handler is defined in the module named for it, and every such module is a command
    from nncore.cli.main import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    handlers = {name: p.get_default("func") for name, p in sub.choices.items()}
    assert {name: f.__module__ for name, f in handlers.items()} == {name: f"nncore.cli.{name}" for name in handlers}
    assert set(handlers) == {p.stem for p in cli.glob("*.py")} - {"__init__", "main"}


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


def test_the_task_names_are_written_once():
    """The task vocabularies live in nncore.registry (LABEL_TASKS: what a dataset's label is; TASKS: what the
    network does); code elsewhere uses them instead of writing the names out again as a list of choices."""
    from nncore import registry
    vocabularies = [set(registry.LABEL_TASKS) - {"auto"}, set(registry.TASKS) - {"regression"}]
    written = []
    for path in [*(REPO / "nncore").rglob("*.py"), *(REPO / "ui").rglob("*.py"), *(REPO / "app_pages").glob("*.py")]:
        if path == REPO / "nncore" / "registry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if any(v <= names for v in vocabularies):
                    written.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert written == []


def test_every_task_setting_offers_the_registry():
    from nncore import registry, settings
    from nncore.cli.main import build_parser
    from nncore.config import DataConfig
    from nncore.data import drawn, tabular
    assert list(settings.get("task").choices) == list(registry.LABEL_TASKS) == list(tabular.TASKS)
    assert set(drawn.TASKS) == set(registry.LABEL_TASKS) - {"auto"}
    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    assert next(a for a in train._actions if a.dest == "task").choices == list(registry.LABEL_TASKS)
    for task in registry.LABEL_TASKS:
        assert DataConfig(task=task).task == task
    assert set(registry.TASK_LOSS) == set(registry.TASKS)


def test_the_engine_benchmark_measures_with_nncores_bench(monkeypatch):
    """benchmarks/engines.py reports what nncore.train.bench measures (best and mean of its rounds), rather
    than timing its own copy of the networks."""
    import importlib.util

    from nncore.train import bench
    spec = importlib.util.spec_from_file_location("engines_benchmark", REPO / "benchmarks" / "engines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    toy_rounds = iter([{"reference_numpy_steps_per_s": 900.0, "engines": {"torch": {"steps_per_s": 100.0},
                                                                           "numpy": {"steps_per_s": 700.0}}},
                       {"reference_numpy_steps_per_s": 800.0, "engines": {"torch": {"steps_per_s": 150.0},
                                                                           "numpy": {"steps_per_s": 600.0}}}])
    monkeypatch.setattr(bench, "toy_benchmark", lambda seconds, engines: next(toy_rounds))
    assert module.toy(rounds=2, seconds=0.1) == {"bare numpy loop": 900.0, "torch": 150.0, "numpy": 700.0}
    mlp_rounds = iter([{"engines": {"torch": {"epoch_s": 4.0}, "numpy": {"epoch_s": 3.0}}},
                       {"engines": {"torch": {"epoch_s": 2.0}, "numpy": {"epoch_s": 5.0}}}])
    monkeypatch.setattr(bench, "mlp_benchmark", lambda batches, engines: next(mlp_rounds))
    assert module.mlp(rounds=2, batches=4) == {"torch": {"mean": 3.0, "best": 2.0}, "numpy": {"mean": 4.0, "best": 3.0}}
