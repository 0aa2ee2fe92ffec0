"""The live view's Streamlit glue (ui/liveview/panel.py) while the fast path serves the view's frames: a timer
tick sends only where to ask, a whole-page run (a click's answer) the whole frame, and every frame of the fast
path carries the run's status line, the one of the snapshot it draws."""

from __future__ import annotations

import itertools

import pytest

from nncore.config import DataConfig, ModelConfig, RunConfig
from nncore.train.trainer import Trainer
from ui.liveview import fast, panel
from ui.liveview.payload import decode
from ui.session import state


@pytest.fixture
def mounted(monkeypatch):
    """(show, sent): draw the view of a playing run whose feed is armed; ``sent``: each frame the component got."""
    trainer = Trainer(RunConfig(data=DataConfig(n_points=120), model=ModelConfig(hidden=(3,))))
    session = state.RunSession(page="playground", trainer=trainer, playing=True)
    feed = fast.Feed(session, "tab-1")
    sent, ids, store = [], itertools.count(1), {}
    monkeypatch.setattr(panel, "live_view", lambda data, **kwargs: sent.append(decode(data)[0]))
    monkeypatch.setattr(panel, "frame_ids", lambda: ("src", lambda: next(ids)))
    monkeypatch.setattr(fast, "claim", lambda: feed)

    def show():
        snap = trainer.snapshot()
        panel.show("pg.live", snap, trainer.engine, trainer.dataset, store, playing=True,
                   status=lambda s, playing: f"training | Step {s.step} | lr {s.lr:.3g}")
    return show, sent, feed, trainer


def test_ticks_send_where_to_ask_and_a_click_sends_the_whole_frame_with_its_status(mounted):
    show, sent, feed, trainer = mounted
    show()
    assert sent[-1]["status"] == f"training | Step 0 | lr {trainer.cfg.train.learning_rate:.3g}"
    frame = feed.render(trainer.run(steps=3), trainer, True)  # a frame of the fast path: the line of its moment
    assert decode(frame)[0]["status"] == "training | Step 3 | lr 0.01" and decode(frame)[0]["step"] == 3

    show()  # a timer tick while the view takes the fast path's frames
    assert sent[-1].get("keep") is True and "status" not in sent[-1]

    from dataclasses import replace
    trainer.update_train(replace(trainer.cfg.train, learning_rate=0.05))
    with fast.page_run_of(feed):  # a click that changed the rate: the page's answer carries it at once
        show()
    assert not sent[-1].get("keep") and sent[-1]["status"] == "training | Step 3 | lr 0.05"
    assert sent[-1]["step"] == 3 and sent[-1]["id"] > decode(frame)[0]["id"]  # the same moment, drawn newer
