"""Many users on one server: sessions never share runs, and a closed tab's run is stopped and freed."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import state

from .test_app import button, step_count

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_two_sessions_train_independently():
    a = AppTest.from_file(APP, default_timeout=60)
    b = AppTest.from_file(APP, default_timeout=60)
    a.run()
    b.run()
    button(a, "Play").click().run()
    a.run()
    a.run()
    b.run()
    assert step_count(a) > 0 and step_count(b) == 0  # A's training never moves B
    b.sidebar.selectbox(key="pg.dataset").set_value("moons").run()
    a.run()
    assert a.sidebar.selectbox(key="pg.dataset").value == "spirals"
    run_a = a.session_state["nnplay"]["run.playground"].trainer
    run_b = b.session_state["nnplay"]["run.playground"].trainer
    assert run_a is not run_b and run_a.dataset is not run_b.dataset
    assert a.session_state["nnplay"]["session_id"] != b.session_state["nnplay"]["session_id"]


def test_a_closed_session_stops_and_frees_its_runs():
    a = AppTest.from_file(APP, default_timeout=60)
    a.run()
    button(a, "Play").click().run()
    a.run()
    ns = a.session_state["nnplay"]
    assert ns["run.playground"].trainer is not None
    state._free({"space": ns})  # what the server calls when the tab's connection closes
    assert ns["run.playground"].trainer is None and not ns["run.playground"].playing
    a.run()
    assert not a.exception
    assert any("connection was lost" in i.value for i in a.info)


def test_a_full_server_queues_the_next_user_with_a_friendly_message(monkeypatch):
    from nncore import limits
    monkeypatch.setattr(limits, "_shared_slots", limits.TrainingSlots(1, 30.0))  # a server with one slot
    a = AppTest.from_file(APP, default_timeout=60)
    b = AppTest.from_file(APP, default_timeout=60)
    a.run()
    b.run()
    button(a, "Play").click().run()
    assert step_count(a) > 0
    button(b, "Play").click().run()
    b.run()
    assert step_count(b) == 0
    assert any("The server is busy" in w.value and "number 1 in line" in w.value for w in b.warning)
    button(a, "Pause").click().run()  # A gives its slot back
    b.run()
    assert step_count(b) > 0 and not any("busy" in w.value for w in b.warning)


def test_a_run_stops_at_the_servers_training_time_limit(monkeypatch):
    monkeypatch.setenv("NNPLAY_MAX_RUN_SECONDS", "0.03")  # whole-page runs (each AppTest run) train 0.01 s
    a = AppTest.from_file(APP, default_timeout=60)
    a.run()
    button(a, "Play").click().run()
    for _ in range(6):
        a.run()
    assert not a.session_state["nnplay"]["run.playground"].playing
    assert any("NNPLAY_MAX_RUN_SECONDS" in i.value for i in a.info)
    steps = step_count(a)
    a.run()
    assert step_count(a) == steps
