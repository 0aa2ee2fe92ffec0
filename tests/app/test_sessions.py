"""Many users on one server: sessions never share runs, everything that trains live goes through the one
live loop and its gate, and a closed tab's work (runs, race, search) is stopped and freed by one hook."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.session import state

from tests.app.test_pages import button, race_steps, step_count

APP = str(Path(__file__).resolve().parents[2] / "app.py")


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


# --- the one live loop: the gate is asked once per slice, and its refusal stops the timer ----------------------

def _counted_gate(monkeypatch):
    """The gate, with every question asked of it written down (what asked); ``refuse`` makes it answer as it
    does once a run's training time is used up."""
    from nncore import limits
    from ui.session import gate
    # this server's slots to itself: sessions of earlier tests in the process would otherwise count as busy
    # and change the pace mid-test (a new pace restarts the timer with a whole-page run, one more slice)
    server = limits.load_limits()
    monkeypatch.setattr(limits, "_shared_slots", limits.TrainingSlots(server.max_trainings, server.slot_timeout_seconds))
    real, asked, refuse = gate.may_train, [], []

    def may_train(session, what="run", restart="save it, or press Reset to start a new one"):
        asked.append(what)
        if refuse:
            session.playing = False
            return False
        return real(session, what, restart)

    monkeypatch.setattr(gate, "may_train", may_train)
    return asked, refuse


@pytest.mark.parametrize("page, key, run_key", [("app_pages/playground.py", "pg", "run.playground"),
                                                 ("app_pages/images.py", "img", "run.images")])
def test_a_pages_run_asks_the_gate_once_per_slice_and_stops_when_refused(monkeypatch, page, key, run_key):
    asked, refuse = _counted_gate(monkeypatch)
    a = AppTest.from_file(APP, default_timeout=60)
    a.switch_page(page).run()
    a.select_slider(key=f"{key}.speed").set_value("1 step").run()  # one step per slice: steps count the slices
    assert asked == []  # nothing asks while paused
    button(a, "Play").click().run()
    for _ in range(3):
        a.run()  # one timer tick each
    assert asked == ["run"] * 4 and step_count(a) == 4
    refuse.append(True)
    a.run()
    assert asked == ["run"] * 5 and step_count(a) == 4
    run = a.session_state["nnplay"][run_key]
    assert not run.playing and run.frame_seconds is None  # the timer is stopped, not just idle
    a.run()
    assert len(asked) == 5 and step_count(a) == 4


def test_the_race_asks_the_gate_once_per_slice_and_stops_when_refused(monkeypatch):
    asked, refuse = _counted_gate(monkeypatch)
    a = AppTest.from_file(APP, default_timeout=60)
    a.switch_page("app_pages/compare.py").run()
    assert asked == []
    button(a, "Start race").click().run()
    steps = [race_steps(a)[0]]
    for _ in range(2):
        a.run()
        steps.append(race_steps(a)[0])
    assert asked == ["race"] * 3 and 0 < steps[0] < steps[1] < steps[2]  # every slice moved every racer
    refuse.append(True)
    a.run()
    race = a.session_state["nnplay"]["race"]
    assert asked == ["race"] * 4 and race_steps(a) == [steps[-1]] * 3
    assert not race.playing and race.frame_seconds is None
    a.run()
    assert len(asked) == 4


def test_a_search_asks_the_gate_once_per_slice(tmp_path, monkeypatch):
    asked, refuse = _counted_gate(monkeypatch)
    at = _search_page(tmp_path, monkeypatch, epochs=500, trials=50)
    button(at, "Start search").click().run()
    session = at.session_state["nnplay"]["search"]
    at.run()
    assert asked == ["search"] * 2 and session.trained_seconds > 0
    refuse.append(True)
    at.run()
    assert asked == ["search"] * 3 and not session.playing and session.search.finished  # stopped, trial set aside
    at.run()
    assert len(asked) == 3


def test_a_closed_tab_stops_and_frees_its_race():
    a = AppTest.from_file(APP, default_timeout=60)
    a.switch_page("app_pages/compare.py").run()
    button(a, "Start race").click().run()
    race = a.session_state["nnplay"]["race"]
    assert race.playing and race.race.step > 0
    state._free({"space": a.session_state["nnplay"]})  # the session's one release hook, as the server calls it
    assert race.race is None and not race.playing
    a.run()
    assert not a.exception, a.exception
    assert race_steps(a) == [0, 0, 0]  # a fresh race from the settings, which the widgets kept
    assert any("connection was lost" in i.value for i in a.info)


# --- searches: metered like runs, stopped with their tab, resumable ------------------------------------------

def _search_page(tmp_path, monkeypatch, epochs: int, trials: int = 3) -> AppTest:
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path))  # the studies database lives here
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/search.py").run()
    at.number_input(key="search.trials").set_value(trials).run()
    at.number_input(key="search.epochs").set_value(epochs).run()
    return at


def _trial_states(tmp_path, name):
    from nncore.search.storage import load_study
    return [t.state.name for t in load_study(name, f"sqlite:///{tmp_path / 'studies.db'}").trials]


def test_a_search_is_bounded_by_the_servers_training_time(tmp_path, monkeypatch):
    from ui.panels import search as search_panels
    monkeypatch.setenv("NNPLAY_MAX_RUN_SECONDS", "0.6")
    at = _search_page(tmp_path, monkeypatch, epochs=500)  # trials of 500 epochs: far beyond 0.6 s each
    assert at.number_input(key="search.minutes").max == 0.01  # the Minutes control stops at the limit
    button(at, "Start search").click().run()
    session = at.session_state["nnplay"]["search"]
    for _ in range(12):
        if not session.playing:
            break
        at.run()
    assert not at.exception, at.exception
    assert not session.playing and session.search.finished
    # one slice may end after the limit by at most a slice
    assert 0.6 <= session.trained_seconds <= 0.6 + search_panels.SLICE_SECONDS
    assert "RUNNING" not in _trial_states(tmp_path, session.search.study_name)  # the cut trial is set aside
    assert any("minutes of training" in i.value for i in at.info)


def test_a_search_waits_for_a_training_slot(tmp_path, monkeypatch):
    from nncore import limits
    slots = limits.TrainingSlots(1, 30.0)
    monkeypatch.setattr(limits, "_shared_slots", slots)
    slots.acquire("someone else")
    at = _search_page(tmp_path, monkeypatch, epochs=5)
    button(at, "Start search").click().run()
    at.run()
    session = at.session_state["nnplay"]["search"]
    assert session.trained_seconds == 0 and session.search.result().n_trials == 0
    assert any("The server is busy" in w.value for w in at.warning)
    slots.release("someone else")
    for _ in range(40):  # timer ticks until its 3 trials are done (how many depends on the machine's load)
        at.run()
        if not session.playing:
            break
    assert session.search.result().n_trials == 3


def test_a_closed_tab_stops_its_search_and_the_study_resumes_from_the_page(tmp_path, monkeypatch):
    at = _search_page(tmp_path, monkeypatch, epochs=500, trials=200)
    button(at, "Start search").click().run()
    at.run()
    ns = at.session_state["nnplay"]
    session = ns["search"]
    name = session.search.study_name
    assert any(t.value == f"Study: {name}" for t in at.text)  # the study's name is shown
    before = _trial_states(tmp_path, name)
    assert before[-1] == "RUNNING"  # a trial under way (early stopping may have ended earlier ones)
    state._free({"space": ns})  # the tab's connection closed
    after = _trial_states(tmp_path, name)
    assert after == [*before[:-1], "FAIL"] and not session.playing
    used = session.trained_seconds
    at.run()
    assert session.trained_seconds == used and _trial_states(tmp_path, name) == after
    assert any("connection was lost" in i.value for i in at.info)

    again = AppTest.from_file(APP, default_timeout=60)  # a new visit picks the stored study
    again.switch_page("app_pages/search.py").run()
    assert name in again.selectbox(key="search.pick").options
    again.selectbox(key="search.pick").set_value(name).run()
    again.number_input(key="search.trials").set_value(1).run()
    shown = [t.value for t in again.text]
    assert any(t.startswith(f"Resuming {name}: spirals") and "500 epochs per trial" in t for t in shown), shown
    button(again, "Resume search").click().run()
    resumed = again.session_state["nnplay"]["search"].search
    counted = sum(state in ("COMPLETE", "PRUNED") for state in after)  # the failed trial does not count
    assert resumed.study_name == name and resumed.n_trials == counted + 1
    again.run()
    assert len(_trial_states(tmp_path, name)) > len(after)  # the study goes on
    resumed.stop()
