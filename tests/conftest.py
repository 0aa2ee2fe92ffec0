"""Test layers. The folders mirror the code: tests/nncore/<room>/ for the core, tests/ui/<room>/ for the
Streamlit glue, tests/app/ for whole pages run through Streamlit's AppTest, tests/browser/ for real Chromium.

Markers: ``slow`` (whole pages, real browsers, trainings of more than a moment) and ``browser``. The unit
layer, ``pytest -m "not slow"``, runs in under a minute; plain ``pytest`` runs everything.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SLOW_FOLDERS = {"app": ("slow",), "browser": ("slow", "browser")}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a whole page, a real browser or a longer training (left out by -m 'not slow')")
    config.addinivalue_line("markers", "browser: drives a real Chromium")
    # The test process is an entry point: it chooses torch's threads (engines never do). The tests' networks are
    # small, where extra threads only spin (nncore.engines.wants_one_thread).
    import torch
    torch.set_num_threads(1)
    # Tests write only to temporary folders: Hypothesis keeps its examples and caches in a temporary one
    # instead of ./.hypothesis in the working directory.
    from hypothesis.configuration import set_hypothesis_home_dir
    config._nnplay_hypothesis_dir = tempfile.mkdtemp(prefix="nnplay-hypothesis-")
    set_hypothesis_home_dir(config._nnplay_hypothesis_dir)


def pytest_unconfigure(config):
    folder = getattr(config, "_nnplay_hypothesis_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            folder = Path(item.fspath).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        for name in SLOW_FOLDERS.get(folder, ()):
            item.add_marker(getattr(pytest.mark, name))
