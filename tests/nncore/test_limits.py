"""Server limits: environment parsing, run checks, and the shared training slots."""

import threading
import time
from dataclasses import fields

import pytest

from nncore.config import DataConfig
from nncore.data import make_dataset
from nncore.errors import ConfigError
from nncore.limits import ENV_NAMES, Limits, TrainingSlots, check_run, load_limits, training_slots
from tests.helpers import make_cfg


# --- load_limits ------------------------------------------------------------------------------------------

def test_every_field_has_its_own_variable():
    assert set(ENV_NAMES) == {f.name for f in fields(Limits)}
    assert len(set(ENV_NAMES.values())) == len(ENV_NAMES)
    assert all(v.startswith("NNPLAY_") for v in ENV_NAMES.values())


def test_defaults_without_environment():
    limits = load_limits({})
    assert limits == Limits()
    assert (limits.max_points, limits.max_upload_mb, limits.max_rows, limits.max_columns, limits.max_classes,
            limits.max_layers, limits.max_width, limits.max_epochs, limits.max_run_seconds,
            limits.max_trainings) == (5000, 10.0, 100_000, 200, 20, 6, 64, 10_000, 600.0, 8)
    assert limits.max_upload_bytes == 10 * 1024 * 1024


@pytest.mark.parametrize("field", sorted(ENV_NAMES))
def test_each_variable_overrides_its_field(field):
    limits = load_limits({ENV_NAMES[field]: " 7 "})
    assert getattr(limits, field) == 7
    others = {f.name: getattr(limits, f.name) for f in fields(Limits) if f.name != field}
    assert others == {name: getattr(Limits(), name) for name in others}


def test_float_fields_take_fractions_and_blank_means_default():
    limits = load_limits({"NNPLAY_MAX_UPLOAD_MB": "0.5", "NNPLAY_MAX_POINTS": "  "})
    assert limits.max_upload_mb == 0.5 and limits.max_upload_bytes == 512 * 1024
    assert limits.max_points == 5000


@pytest.mark.parametrize("var, value", [
    ("NNPLAY_MAX_POINTS", "lots"), ("NNPLAY_MAX_POINTS", "0"), ("NNPLAY_MAX_ROWS", "-5"),
    ("NNPLAY_MAX_WIDTH", "1.5"), ("NNPLAY_MAX_UPLOAD_MB", "nan"), ("NNPLAY_MAX_RUN_SECONDS", "inf"),
    ("NNPLAY_MAX_TRAININGS", "8 slots"), ("NNPLAY_MAX_UPLOAD_MB", "-1"),
])
def test_bad_values_name_the_variable(var, value):
    with pytest.raises(ConfigError) as e:
        load_limits({var: value})
    assert str(e.value).startswith(f"{var} must be a positive")
    assert repr(value) in str(e.value) and e.value.param == var


def test_limits_are_frozen():
    with pytest.raises(AttributeError):
        Limits().max_points = 1


# --- check_run ---------------------------------------------------------------------------------------------

def test_check_run_names_the_limit_and_variable():
    with pytest.raises(ConfigError) as e:
        check_run(make_cfg(n_points=20000), Limits())
    assert str(e.value) == "n_points must be <= 5000 on this server (NNPLAY_MAX_POINTS), got 20000"


@pytest.mark.parametrize("settings, needle", [
    (dict(hidden=(8,) * 7), "hidden layers must be <= 6 on this server (NNPLAY_MAX_LAYERS), got 7"),
    (dict(hidden=(8, 65)), "hidden[1] must be <= 64 on this server (NNPLAY_MAX_WIDTH), got 65"),
    (dict(epochs=10_001), "epochs must be <= 10000 on this server (NNPLAY_MAX_EPOCHS), got 10001"),
])
def test_check_run_refuses_each_limit(settings, needle):
    with pytest.raises(ConfigError) as e:
        check_run(make_cfg(**settings), Limits())
    assert str(e.value) == needle


def test_check_run_accepts_the_edges_and_the_defaults():
    check_run(make_cfg(), Limits())
    check_run(make_cfg(n_points=5000, hidden=(64,) * 6, epochs=10_000), Limits())


def test_limits_follow_the_environment_values():
    limits = load_limits({"NNPLAY_MAX_POINTS": "300", "NNPLAY_MAX_WIDTH": "8"})
    check_run(make_cfg(n_points=300, hidden=(8, 8)), limits)
    with pytest.raises(ConfigError, match="<= 300"):
        check_run(make_cfg(n_points=301, hidden=(8, 8)), limits)
    with pytest.raises(ConfigError, match=r"hidden\[0\] must be <= 8"):
        check_run(make_cfg(n_points=300, hidden=(9,)), limits)


def test_image_networks_get_the_image_width_limit_and_skip_the_points_limit():
    digits = make_dataset(DataConfig(dataset="digits", limit=200))
    cfg = make_cfg(dataset="digits", hidden=(512,), n_points=600)
    check_run(cfg, Limits(max_points=100), dataset=digits)
    with pytest.raises(ConfigError, match="NNPLAY_MAX_IMAGE_WIDTH"):
        check_run(make_cfg(dataset="digits", hidden=(1025,)), Limits(), dataset=digits)
    with pytest.raises(ConfigError, match="NNPLAY_MAX_WIDTH"):  # toy data keeps the small limit
        check_run(make_cfg(hidden=(512,)), Limits())


def test_check_run_counts_classes_of_the_dataset():
    digits = make_dataset(DataConfig(dataset="digits", limit=200))
    with pytest.raises(ConfigError) as e:
        check_run(make_cfg(dataset="digits"), Limits(max_classes=5), dataset=digits)
    assert str(e.value) == "classes must be <= 5 on this server (NNPLAY_MAX_CLASSES), got 10"


# --- TrainingSlots -------------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_slots_fill_then_queue_in_arrival_order():
    slots = TrainingSlots(2)
    assert slots.acquire("a") and slots.acquire("b")
    assert slots.busy == 2
    assert not slots.acquire("c") and not slots.acquire("d")
    assert [slots.queue_position(s) for s in "abcde"] == [0, 0, 1, 2, None]
    assert slots.waiting() == ("c", "d")


def test_a_freed_slot_goes_to_the_first_in_line():
    slots = TrainingSlots(1)
    assert slots.acquire("a")
    assert not slots.acquire("b") and not slots.acquire("c")
    slots.release("a")
    assert not slots.acquire("c")  # "b" queued earlier: the free slot waits for it
    assert slots.queue_position("c") == 2
    assert slots.acquire("b")
    assert slots.queue_position("c") == 1
    slots.release("b")
    assert slots.acquire("c") and slots.waiting() == ()


def test_acquire_and_release_are_idempotent_per_session():
    slots = TrainingSlots(2)
    assert slots.acquire("a") and slots.acquire("a") and slots.acquire("a")
    assert slots.busy == 1
    slots.release("a")
    slots.release("a")
    slots.release("never-seen")
    assert slots.busy == 0 and slots.queue_position("a") is None


def test_release_also_leaves_the_queue():
    slots = TrainingSlots(1)
    slots.acquire("a")
    slots.acquire("b")
    slots.acquire("c")
    slots.release("b")
    assert slots.waiting() == ("c",) and slots.queue_position("c") == 1


def test_a_silent_session_loses_its_slot_and_its_place():
    clock = FakeClock()
    slots = TrainingSlots(1, stale_after=30, clock=clock)
    assert slots.acquire("closed-tab")
    assert not slots.acquire("waiter") and not slots.acquire("gone-waiter")
    clock.now += 20
    slots.touch("waiter")
    clock.now += 15  # closed-tab and gone-waiter: 35 s silent; waiter: 15 s
    assert slots.queue_position("closed-tab") is None
    assert slots.queue_position("gone-waiter") is None
    assert slots.acquire("waiter")
    assert slots.busy == 1


def test_touch_keeps_a_slot_alive():
    clock = FakeClock()
    slots = TrainingSlots(1, stale_after=10, clock=clock)
    slots.acquire("a")
    for _ in range(5):
        clock.now += 9
        slots.touch("a")
    assert slots.queue_position("a") == 0
    assert not slots.acquire("b")
    clock.now += 10.5
    slots.touch("b")  # only "a" went silent
    assert slots.queue_position("a") is None and slots.acquire("b")


def test_touch_of_an_unknown_session_takes_nothing():
    slots = TrainingSlots(1)
    slots.touch("x")
    assert slots.queue_position("x") is None and slots.busy == 0


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True, "2"])
def test_capacity_must_be_a_positive_integer(capacity):
    with pytest.raises(ConfigError, match="capacity"):
        TrainingSlots(capacity)


def test_threads_hammering_never_exceed_capacity():
    capacity, n_threads, rounds = 3, 12, 100
    slots = TrainingSlots(capacity)
    active, peak, lock, errors = [0], [0], threading.Lock(), []
    start = threading.Barrier(n_threads)

    def worker(k):
        sid = f"session-{k}"
        start.wait()
        done = 0
        while done < rounds:
            if slots.acquire(sid):
                with lock:
                    active[0] += 1
                    peak[0] = max(peak[0], active[0])
                    if active[0] > capacity:
                        errors.append(active[0])
                slots.acquire(sid)  # idempotent while held
                slots.touch(sid)
                time.sleep(0.0002)  # hold the slot across a thread switch
                with lock:
                    active[0] -= 1
                slots.release(sid)
                done += 1
            else:
                position = slots.queue_position(sid)
                if position is None or position < 1:
                    errors.append(("waiting with position", position))
                time.sleep(0.0002)  # a waiting page polls again a moment later

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert peak[0] == capacity  # the slots were really contended, and never overfilled
    assert slots.busy == 0 and slots.waiting() == ()


def test_the_process_wide_slots_are_one_object_sized_by_the_environment(monkeypatch):
    import nncore.limits as limits_module
    monkeypatch.setattr(limits_module, "_shared_slots", None)
    monkeypatch.setenv("NNPLAY_MAX_TRAININGS", "3")
    first = training_slots()
    assert first is training_slots() and first.capacity == 3


# --- the one training gate: every path that trains ----------------------------------------------------------

from pathlib import Path  # noqa: E402

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _checkpoint(**settings) -> bytes:
    from nncore.io.checkpoint import save_checkpoint
    from nncore.train.trainer import Trainer
    return save_checkpoint(Trainer(make_cfg(n_points=100, engine="numpy", **settings)))


def _with_config(data: bytes, section: str, **changes) -> bytes:
    """The same checkpoint file with settings of its config rewritten (what a hand-edited file can ask for)."""
    import json
    import struct
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    cfg = json.loads(header["__metadata__"]["config"])
    cfg[section].update(changes)
    header["__metadata__"]["config"] = json.dumps(cfg)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + length:]


def _uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if key in u.proto.id)


@pytest.mark.slow
@pytest.mark.parametrize("make, needle", [
    (lambda: _with_config(_checkpoint(), "train", epochs=1_000_000), "NNPLAY_MAX_EPOCHS"),
    (lambda: _with_config(_checkpoint(), "data", n_points=1_000_000), "NNPLAY_MAX_POINTS"),
    (lambda: _checkpoint(hidden=(32, 32)), "NNPLAY_MAX_WIDTH"),
])
def test_a_checkpoint_beyond_the_limits_is_refused_by_name_on_upload(make, needle, monkeypatch):
    monkeypatch.setenv("NNPLAY_MAX_POINTS", "1000")  # limits below what the page's controls offer
    monkeypatch.setenv("NNPLAY_MAX_WIDTH", "16")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    _uploader(at, "pg.model.upload").upload("big.safetensors", make()).run()
    assert not at.exception, at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # as written, before Markdown escapes
    assert any(needle in text and text.startswith("This checkpoint cannot be trained here") for text in shown), shown
    assert not any(b.label == "Use these weights and settings" for b in at.button)


def test_a_checkpoint_is_checked_before_its_data_is_generated(monkeypatch):
    from nncore import data as datasets
    from nncore.io.checkpoint import load_checkpoint, trainer_from_checkpoint

    ckpt = load_checkpoint(_with_config(_checkpoint(), "data", n_points=1_000_000))
    monkeypatch.setattr(datasets, "make_dataset", lambda *a, **k: pytest.fail("the data was generated"))
    with pytest.raises(ConfigError, match="n_points must be <= 5000 on this server"):
        trainer_from_checkpoint(ckpt, limits=Limits())


@pytest.mark.slow
def test_a_fashion_mnist_checkpoint_never_starts_a_download(tmp_path, monkeypatch):
    from nncore.io.checkpoint import load_checkpoint, save_checkpoint, trainer_from_checkpoint
    from nncore.data import images
    from nncore.train.trainer import Trainer
    from tests.nncore.data.test_image_data import _write_big_fashion

    have = tmp_path / "have"
    have.mkdir()
    _write_big_fashion(have, 200, 50)
    monkeypatch.setenv("NNCORE_DATA_DIR", str(have))
    data = save_checkpoint(Trainer(make_cfg(dataset="fashion_mnist", hidden=(8,), limit=100, engine="numpy")))
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path / "empty"))  # a server without the files
    monkeypatch.setattr(images, "fetch", lambda *a, **k: pytest.fail("a download started"))
    with pytest.raises(ConfigError, match="FashionMNIST is not in"):
        trainer_from_checkpoint(load_checkpoint(data), download=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/images.py").run()
    _uploader(at, "img.model.upload").upload("fashion.safetensors", data).run()
    next(b for b in at.button if b.label == "Use these weights and settings").click().run()
    assert not at.exception, at.exception
    shown = [i.value.replace("\\", "") for i in at.info]
    assert any("Could not load the checkpoint" in t and "has not downloaded yet" in t for t in shown), shown
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


@pytest.mark.slow
def test_epochs_raised_mid_run_beyond_the_limit_are_refused(monkeypatch):
    monkeypatch.setenv("NNPLAY_MAX_EPOCHS", "5000")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    run = at.session_state["nnplay"]["run.playground"]
    before = run.trainer.cfg.train.epochs
    assert at.sidebar.number_input(key="pg.epochs").max == 5000  # the widget offers what the server allows
    at.sidebar.number_input(key="pg.epochs").set_value(20_000).run()
    assert not at.exception, at.exception
    assert at.sidebar.number_input(key="pg.epochs").value == before  # the widget does not take it
    assert run.trainer.cfg.train.epochs == before and run.trainer.step == 0  # the run goes on as it was
    at.sidebar.number_input(key="pg.epochs").set_value(5000).run()  # the limit itself is offered and taken
    assert not at.exception and run.trainer.cfg.train.epochs == 5000


@pytest.mark.slow
def test_a_lesson_is_refused_beyond_the_limits_and_stops_at_the_time_limit(monkeypatch):
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/lessons.py").run()
    monkeypatch.setenv("NNPLAY_MAX_EPOCHS", "1")
    next(b for b in at.button if b.label == "Run the lesson").click().run()
    assert any("NNPLAY_MAX_EPOCHS" in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
    monkeypatch.delenv("NNPLAY_MAX_EPOCHS")
    monkeypatch.setenv("NNPLAY_MAX_RUN_SECONDS", "0.001")
    next(b for b in at.button if b.label == "Run the lesson").click().run()
    assert not at.exception, at.exception
    assert any("NNPLAY_MAX_RUN_SECONDS" in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
    assert "lessons" not in at.session_state["nnplay"] or not at.session_state["nnplay"]["lessons"]
