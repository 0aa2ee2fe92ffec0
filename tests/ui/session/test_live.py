"""Frame pacing of live training: one training per core at full pace, slower and shorter frames beyond."""

import math

import pytest

from ui.session.live import FRAME_SECONDS, TRAIN_SLICE_SECONDS, pace


def test_up_to_one_training_per_core_runs_at_full_pace():
    assert pace(0, cores=2) == pace(1, cores=2) == pace(2, cores=2) == (FRAME_SECONDS, TRAIN_SLICE_SECONDS)
    assert 1 / FRAME_SECONDS >= 4  # the target frame rate of one session
    assert TRAIN_SLICE_SECONDS < FRAME_SECONDS  # time is left to draw each frame


@pytest.mark.parametrize("active, cores", [(3, 2), (4, 2), (8, 2), (5, 4), (3, 1)])
def test_a_busy_server_spaces_frames_and_shortens_slices_keeping_its_work_per_second(active, cores):
    interval, train_slice = pace(active, cores)
    assert interval > FRAME_SECONDS and train_slice < TRAIN_SLICE_SECONDS
    # every session trains the same share of each second, so the server's training work grows with the number
    # of cores, not with the number of sessions
    total_training_per_second = active * train_slice / interval
    assert total_training_per_second <= cores * TRAIN_SLICE_SECONDS / FRAME_SECONDS + 1e-9
    # and the training work per second falls as sessions are added beyond one per core
    more_interval, more_slice = pace(active + cores, cores)
    assert (active + cores) * more_slice / more_interval < total_training_per_second or \
        math.ceil((active + cores) / cores) == math.ceil(active / cores)


def test_four_sessions_on_two_cores_aim_above_two_frames_per_second():
    interval, _ = pace(4, cores=2)
    assert 1 / interval >= 2


# --- one live loop: one gate question per slice, one meter, one timer, one release hook ----------------------

from pathlib import Path  # noqa: E402

from ui.session import gate, live, state  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def test_a_slice_asks_the_gate_once_and_meters_its_training(monkeypatch):
    asked = []
    monkeypatch.setattr(gate, "may_train", lambda session, what, restart: asked.append((what, restart)) or True)
    session = state.LiveState(playing=True, trained_seconds=1.0)
    calls = []

    def advance(steps, seconds):
        calls.append((steps, seconds))
        return "frame"

    assert live.train_slice(session, advance, seconds=0.02, what="race", restart="press Reset race") == (True, "frame")
    assert asked == [("race", "press Reset race")] and calls == [(None, 0.02)]
    assert session.trained_seconds > 1.0  # its wall time counts against the run's limit


def test_a_refused_slice_trains_nothing(monkeypatch):
    monkeypatch.setattr(gate, "may_train", lambda session, what, restart: False)
    session = state.LiveState(playing=True)
    assert live.train_slice(session, lambda *_: pytest.fail("trained without the gate"), seconds=1.0) == (False, None)
    assert session.trained_seconds == 0.0


def _sources():
    for folder in ("ui", "app_pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text()


def test_only_the_live_loop_keeps_a_frame_timer_and_meters_training():
    """A second copy of the loop (its own timer, its own count of training time) fails here: the race, the
    search and lessons supply only what to advance and what to draw."""
    timers = {name for name, text in _sources() if "run_every=" in text}
    meters = {name for name, text in _sources() if "trained_seconds +=" in text}
    release_hooks = {name for name, text in _sources() if "on_release=" in text}
    assert timers == meters == {"ui/session/live.py"}
    assert release_hooks == {"ui/session/state.py"}


def test_the_one_release_hook_closes_everything_that_trains_live(monkeypatch):
    from nncore import limits
    from ui.panels.race import RaceSession
    from ui.panels.search import SearchSession

    slots = limits.TrainingSlots(2, 30.0)
    monkeypatch.setattr(limits, "_shared_slots", slots)
    assert slots.acquire("tab")

    class Study:  # what the release hook asks of a search under way
        finished, notes = False, []

        def stop(self, note):
            self.notes.append(note)
            self.finished = True

    study = Study()
    run = state.RunSession(page="playground", trainer=object(), playing=True, trained_seconds=3.0,
                           cache={"x": 1}, view={"hidden_layer": 2})
    race = RaceSession(race=object(), playing=True, trained_seconds=2.0)
    search = SearchSession(search=study, playing=True, seconds=60.0)
    ns = {"session_id": "tab", "run.playground": run, "race": race, "search": search, "history": [1]}
    state._free({"space": ns})
    assert slots.busy == 0
    assert ns["run.playground"] is run and run.trainer is None and not run.playing and run.trained_seconds == 0
    assert run.page == "playground" and run.cache == {} and run.view == {} and "connection was lost" in run.notice
    assert race.race is None and not race.playing and race.trained_seconds == 0 and "connection was lost" in race.notice
    assert search.search is None and not search.playing and study.notes == ["stopped: its browser tab was closed"]
    assert "history" not in ns
