"""Whole-page tests share one process, and the server's training slots are process-wide: a session an earlier
test left playing would still hold a slot and count as busy, which shortens every later slice (the pace follows
how many train at once). Each test here starts with a server of its own: fresh slots, sized from the limits
in force when the test first trains."""

import pytest


@pytest.fixture(autouse=True)
def own_training_slots(monkeypatch):
    from nncore import limits
    monkeypatch.setattr(limits, "_shared_slots", None)  # made on first use, from this test's NNPLAY_* limits
