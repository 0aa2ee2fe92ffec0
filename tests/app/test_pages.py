"""AppTest for every page: loads without exception, controls work, the boundary and charts are drawn.

AppTest does not fire ``run_every`` timers by itself: each ``at.run()`` stands for one timer tick.
"""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def status(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "| Step " in m.value)


def step_count(at: AppTest) -> int:
    return int(re.search(r"Step (\d+)", status(at)).group(1))


def charts(at: AppTest) -> list[dict]:
    """Vega-Lite specs on the page, each with the names of its datasets under "_datasets"."""
    out = []
    for element in at.main:
        if getattr(element, "type", None) == "vega_lite_chart":
            spec = json.loads(element.proto.spec)
            spec["_datasets"] = {d.name for d in element.proto.datasets}
            out.append(spec)
    return out


def panel_titles(spec: dict) -> list[str]:
    """Titles of the panels inside a concatenated chart."""
    titles = [spec["title"]] if "title" in spec else []
    for part in spec.get("vconcat", []) + spec.get("hconcat", []):
        titles += panel_titles(part)
    return titles


def test_playground_opens_with_controls_and_sidebar_groups(at):
    assert [b.label for b in at.button][:4] == ["Play", "Pause", "Step", "Reset"]
    assert [s.value for s in at.sidebar.subheader] == ["Data", "Network", "Training", "Regularization"]
    assert step_count(at) == 0
    assert "ready" in status(at)


def test_step_advances_the_step_counter(at):
    button(at, "Step").click().run()
    assert step_count(at) == 1
    button(at, "Step").click().run()
    assert step_count(at) == 2
    assert not at.exception


def test_play_trains_on_each_tick_and_pause_stops(at):
    button(at, "Play").click().run()
    first = step_count(at)
    at.run()
    second = step_count(at)
    assert 0 < first < second
    assert "training" in status(at)
    button(at, "Pause").click().run()
    paused = step_count(at)
    at.run()
    assert step_count(at) == paused
    assert "paused" in status(at)


def image_elements(at: AppTest) -> list:
    """Image elements (st.image) on the page's main area, as protos with url and caption."""
    return [img for element in at.main if getattr(element, "type", None) == "image" for img in element.proto.imgs]


def live_frames(at: AppTest) -> list[tuple[dict, dict]]:
    """The live views on the page's main area: each one's frame, decoded (header, arrays)."""
    from ui.liveview.payload import decode
    return [decode(element.proto.bytes) for element in at.main if getattr(element, "type", None) == "bidi_component"]


def live_frame(at: AppTest) -> tuple[dict, dict]:
    """The Playground's one live view (its drawing is tested in the browser; here: what the frame holds)."""
    found = live_frames(at)
    assert len(found) == 1, [h["panels"] for h, _ in found]
    return found[0]


def test_boundary_curves_histograms_and_norms_are_drawn(at):
    button(at, "Play").click().run()
    at.run()
    header, arrays = live_frame(at)
    assert header["panels"] == ["diagram", "boundary", "curves", "histograms", "hidden"]
    assert header["editable"] and header["boundary"]["kind"] == "binary"
    assert header["network"]["sizes"] == [2, 16, 16, 1]
    assert [s["name"] for s in header["curves"]["series"]] == ["loss", "score", "norms"]
    assert [line["label"] for line in header["curves"]["series"][2]["lines"]] == ["hidden 1", "hidden 2", "output"]
    assert header["histograms"]["layers"] == ["hidden 1", "hidden 2", "output"]
    assert len(arrays["points_split"]) == 600 and arrays["boundary"].shape == (80, 80)
    assert not image_elements(at) and not charts(at)  # one live view per frame, no chart views to update
    [element] = [e for e in at.main if getattr(e, "type", None) == "bidi_component"]
    # a frame carries its data and a small loader, not the view's code (served once from static/liveview)
    assert len(element.proto.js_content) < 4096 and not element.proto.css_content
    assert "/app/static/liveview/" in element.proto.js_content


def test_learning_rate_changes_mid_run_without_reset(at):
    button(at, "Play").click().run()
    at.run()
    before = step_count(at)
    at.sidebar.select_slider(key="pg.learning_rate").set_value(0.1).run()
    assert step_count(at) >= before  # not reset
    at.run()
    assert "lr 0.1 " in status(at) + " "
    assert not any("was reset" in i.value for i in at.info)


def test_changing_the_dataset_resets_and_says_so(at):
    button(at, "Step").click().run()
    assert step_count(at) == 1
    at.sidebar.selectbox(key="pg.dataset").set_value("moons").run()
    assert step_count(at) == 0
    assert any("dataset changed: the run was reset" in i.value for i in at.info)


def test_changing_the_architecture_resets_and_says_so(at):
    button(at, "Step").click().run()
    at.sidebar.text_input(key="pg.hidden").input("8").run()
    assert step_count(at) == 0
    assert any("hidden changed" in i.value for i in at.info)
    button(at, "Play").click().run()
    at.run()
    assert live_frame(at)[0]["histograms"]["layers"] == ["hidden 1", "output"]  # the new network's layers


@pytest.mark.parametrize("text, message", [
    ("8,x", "hidden must be comma-separated layer widths"),
    ("100", "width must be between 1 and 64, got 100"),
    ("4,4,4,4,4,4,4", "hidden layers must be at most 6 here, got 7"),
])
def test_bad_layer_text_shows_a_message_and_keeps_the_run(at, text, message):
    button(at, "Step").click().run()
    at.sidebar.text_input(key="pg.hidden").input(text).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and message in errors[0]
    assert step_count(at) == 1  # the run and its settings are kept
    button(at, "Step").click().run()
    assert step_count(at) == 2


def test_reset_starts_over(at):
    button(at, "Step").click().run()
    button(at, "Step").click().run()
    button(at, "Reset").click().run()
    assert step_count(at) == 0


@pytest.fixture
def images(at) -> AppTest:
    at.switch_page("app_pages/images.py").run()
    assert not at.exception, at.exception
    return at


def test_images_page_opens_on_digits_and_says_how_to_get_fashion_mnist(images, monkeypatch):
    assert images.sidebar.selectbox(key="img.dataset").value == "digits"
    assert step_count(images) == 0
    texts = " ".join(m.value for m in images.markdown)
    assert "FashionMNIST" in texts and "NNCORE_DATA_DIR" in texts


def test_images_page_trains_and_shows_the_evaluation_views(images):
    images.sidebar.text_input(key="img.hidden").input("32").run()
    images.sidebar.number_input(key="img.limit").set_value(400).run()
    for _ in range(12):
        button(images, "Step").click().run()
    assert step_count(images) == 12
    titles = [t for s in charts(images) for t in panel_titles(s)]
    [(header, _)] = live_frames(images)
    assert header["panels"] == ["curves", "histograms"] and header["task"] == "multiclass"
    assert header["curves"]["series"][1]["title"] == "Accuracy" and header["epoch"] >= 1
    for expected in ("Per-class accuracy (test)", "Confusion matrix (test)",
                     "ROC, one class vs rest (legend: AUC)", "Class probabilities"):
        assert expected in titles, (expected, titles)
    assert any(str(t).startswith("Last hidden layer, PCA") for t in titles)
    assert any(m.value.startswith("**Most confident mistakes**") for m in images.markdown)
    confusion = next(s for s in charts(images) if s.get("title") == "Confusion matrix (test)")
    assert confusion["_datasets"] == {"cells"}
    assert len(images.dataframe) == 1 and len(images.dataframe[0].value) == 10  # one row per class


def test_cnn_trains_on_the_images_page(images):
    images.sidebar.selectbox(key="img.kind").set_value("cnn").run()
    images.sidebar.number_input(key="img.limit").set_value(300).run()
    images.sidebar.text_input(key="img.hidden").input("32").run()
    button(images, "Step").click().run()
    assert step_count(images) == 1 and not images.exception
    [(header, _)] = live_frames(images)
    assert header["histograms"]["layers"][:2] == ["conv 1", "conv 2"]


def test_numpy_engine_refuses_the_cnn_with_a_message(images):
    images.sidebar.selectbox(key="img.kind").set_value("cnn").run()
    images.sidebar.selectbox(key="img.engine").set_value("numpy").run()
    assert not images.exception
    assert any("engine numpy trains MLPs only" in e.value for e in images.sidebar.error)
    button(images, "Step").click().run()
    assert "engine torch" in status(images)  # the run goes on with the engine that can train it


def test_from_scratch_page_explains_checks_and_compares_the_playground_network(at):
    button(at, "Step").click().run()
    at.switch_page("app_pages/from_scratch.py").run()
    assert not at.exception, at.exception
    assert any("16 → 16" in m.value for m in at.markdown)
    assert len(at.latex) >= 3 and len(at.dataframe) == 3  # one table per layer
    next(b for b in at.button if b.label == "Check gradients").click().run()
    assert any("Gradient check passed" in s.value for s in at.success), [e.value for e in at.error]
    next(b for b in at.button if b.label == "Take the step in both engines").click().run()
    assert any("Largest parameter difference after the step" in m.value for m in at.markdown)
    assert not at.exception


def test_from_scratch_page_without_a_run_says_where_to_start():
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("app_pages/from_scratch.py").run()
    assert not app.exception
    assert any("Start a run on the Playground first" in i.value for i in app.info)


def test_lessons_page_runs_a_lesson_and_opens_a_variant_in_the_playground(at):
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="lessons.pick").set_value("zero_init_symmetry").run()
    next(b for b in at.button if b.label == "Run the lesson").click().run()
    assert not at.exception, at.exception
    verdicts = [s.value for s in at.success] + [e.value for e in at.error]
    assert any(v.startswith("As expected: zero init") for v in verdicts), verdicts
    titles = [s.get("title") for s in charts(at)]
    assert "Validation loss" in titles and "Train accuracy" in titles
    assert any(w.value.startswith("**Identical hidden units**") for w in [*at.warning, *at.error]), \
        "the zero-init variant shows the symmetry diagnostic"
    opener = next(b for b in at.button if b.label == "Open in Playground")
    opener.click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="pg.init").value == "zeros"
    assert at.sidebar.selectbox(key="pg.dataset").value == "xor"
    assert at.sidebar.text_input(key="pg.hidden").value == "8,8"


def test_search_page_runs_trials_live_and_opens_the_best_in_the_playground(at, tmp_path, monkeypatch):
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path))
    at.switch_page("app_pages/search.py").run()
    assert not at.exception, at.exception
    at.number_input(key="search.trials").set_value(3).run()
    at.number_input(key="search.epochs").set_value(3).run()
    next(b for b in at.button if b.label == "Start search").click().run()
    for _ in range(40):  # timer ticks: the trials train in slices, as many ticks as this machine needs
        at.run()
        if len(at.dataframe) == 1 and len(at.dataframe[0].value) == 3:
            break
    assert not at.exception, at.exception
    assert any(s.value.startswith("Best so far: trial") for s in at.success)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 3
    assert (tmp_path / "studies.db").exists()  # the study is stored in the user's data folder
    titles = [s.get("title") for s in charts(at)]
    assert "Optimization history (red: best so far)" in titles
    next(b for b in at.button if b.label == "Open in Playground").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="pg.dataset").value == "spirals"


def _file_uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.proto.id.endswith(key) or key in u.proto.id)


def test_images_page_saves_and_loads_a_checkpoint_and_refuses_a_pickle(images, tmp_path):
    import pickle

    from nncore.io.checkpoint import save_checkpoint
    images.sidebar.text_input(key="img.hidden").input("24").run()
    images.sidebar.number_input(key="img.limit").set_value(300).run()
    for _ in range(3):
        button(images, "Step").click().run()
    labels = [b.proto.label for b in images.get("download_button")]
    assert labels == ["Checkpoint (.safetensors)", "Export ONNX", "Export PyTorch script"]
    trainer = images.session_state["nnplay"]["run.images"].trainer
    data = save_checkpoint(trainer)

    class Payload:  # a pickle that would write a file when loaded
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    uploader = _file_uploader(images, "img.model.upload")
    uploader.upload("evil.safetensors", pickle.dumps(Payload())).run()
    assert any("not a playground checkpoint" in e.value for e in images.error), [e.value for e in images.error]
    assert not (tmp_path / "pwned").exists()

    _file_uploader(images, "img.model.upload").upload("run.safetensors", data).run()
    next(b for b in images.button if b.label == "Use these weights and settings").click().run()
    assert not images.exception, images.exception
    assert step_count(images) == 0  # a fresh run that starts from the saved weights
    loaded = images.session_state["nnplay"]["run.images"].trainer
    import numpy as np
    np.testing.assert_allclose(loaded.engine.get_params()[0]["W"], trainer.engine.get_params()[0]["W"], rtol=1e-6)
    assert any("Loaded the checkpoint" in i.value for i in images.info)


def test_a_link_reproduces_the_settings_and_can_lock_groups():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"pg.dataset": "moons", "pg.hidden": "8,4", "pg.learning_rate": "0.03",
                             "pg.seed": "7", "hide": "training,regularization"})
    app.run()
    assert not app.exception, app.exception
    assert app.sidebar.selectbox(key="pg.dataset").value == "moons"
    assert app.sidebar.text_input(key="pg.hidden").value == "8,4"
    lr = app.sidebar.select_slider(key="pg.learning_rate")
    assert lr.value == 0.03 and lr.disabled  # locked by the link, folded away
    assert not app.sidebar.selectbox(key="pg.dataset").disabled
    assert [s.value for s in app.sidebar.subheader] == ["Data", "Network"]
    button(app, "Step").click().run()
    trainer = app.session_state["nnplay"]["run.playground"].trainer
    assert trainer.cfg.data.seed == 7 and trainer.cfg.model.hidden == (8, 4) and trainer.cfg.train.learning_rate == 0.03


@pytest.fixture
def compare() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception, app.exception
    return app


def race_steps(at: AppTest) -> list[int]:
    return [int(re.search(r"Step (\d+)", m.value).group(1)) for m in at.markdown if "| Step " in m.value]


def test_compare_page_without_kept_runs_says_how_to_get_them(compare):
    assert any("press **Keep the current Playground run**" in i.value for i in compare.info)
    keep = button(compare, "Keep the current Playground run")
    assert keep.disabled
    assert any("There is no Playground run yet" in c.value for c in compare.caption)
    assert len(compare.dataframe) == 0
    assert "Validation loss (log)" not in [s.get("title") for s in charts(compare)]


def test_compare_page_keeps_the_playground_run_and_overlays_its_curves(at):
    at.sidebar.select_slider(key="pg.batch_size").set_value(256).run()  # 360 training points: 2 steps per epoch
    for _ in range(3):
        button(at, "Step").click().run()
    at.switch_page("app_pages/compare.py").run()
    button(at, "Keep the current Playground run").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["dataset"], row["optimizer"], row["epochs"], row["steps"]) == ("spirals", "adam", 1, 3)
    assert 0 < row["val loss"] < 5 and 0 <= row["val acc"] <= 1
    specs = {s.get("title"): s for s in charts(at)}
    for title in ("Validation loss (log)", "Validation accuracy"):
        assert specs[title]["_datasets"] == {"curves"}
        assert specs[title]["encoding"]["color"]["scale"]["domain"] == [row["run"]]  # one colour per kept run
    assert any(s.value == f"Kept as {row['run']}." for s in at.success)
    assert button(at, "Keep the current Playground run").disabled  # the same run is not kept twice
    at.run()
    assert any(c.value == f"This run is already kept, as {row['run']}." for c in at.caption)


def test_race_trains_every_racer_in_lockstep_and_draws_their_boundaries(at):
    at.switch_page("app_pages/compare.py").run()
    assert race_steps(at) == [0, 0, 0]
    button(at, "Start race").click().run()
    at.run()  # one timer tick
    first = race_steps(at)
    at.run()
    second = race_steps(at)
    assert not at.exception, at.exception
    assert len(set(first)) == 1 and len(set(second)) == 1 and 0 < first[0] < second[0]
    views = live_frames(at)
    assert len(views) == 3 and all(h["panels"] == ["boundary", "diagram"] for h, _ in views)
    assert all(h["step"] == first[0] + 0 or h["step"] == second[0] for h, _ in views)
    button(at, "Pause race").click().run()
    paused = race_steps(at)
    at.run()
    assert race_steps(at) == paused
    at.selectbox(key="race.B.optimizer").set_value("rmsprop").run()  # a racer changes: all start again
    assert race_steps(at) == [0, 0, 0]
    assert any("Racer settings changed (B)" in i.value for i in at.info)


def _table_bytes(rows: int = 200, features: int = 3, seed: int = 0) -> bytes:
    import numpy as np
    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(features)]
    lines = [",".join([*names, "kind"])]
    for _ in range(rows):
        x = rng.normal(size=features)
        lines.append(",".join([*(f"{v:.4f}" for v in x), "big" if x[0] + x[-1] > 0 else "small"]))
    return ("\n".join(lines) + "\n").encode()


def test_playground_trains_on_an_uploaded_table_and_keeps_it_when_a_bad_file_follows(at):
    at.sidebar.selectbox(key="pg.dataset").set_value("csv").run()
    assert any("Upload a CSV table" in e.value for e in at.sidebar.error)
    _file_uploader(at, "pg.csv_file").upload("shop.csv", _table_bytes()).run()
    assert not at.exception, at.exception
    button(at, "Step").click().run()
    assert step_count(at) == 1
    header, _ = live_frame(at)
    assert header["plane"]["axes"] == ["PC1", "PC2"] and header["network"]["sizes"][0] == 3
    assert header["network"]["toggle"] is False and header["classes"] == ["big", "small"]
    trainer = at.session_state["nnplay"]["run.playground"].trainer
    assert trainer.dataset.class_names == ("big", "small") and trainer.cfg.data.label == "kind"
    _file_uploader(at, "pg.csv_file").upload("broken.csv", b"a,b,c\n").run()  # header only
    assert not at.exception
    assert any("broken.csv" in e.value and "previous table is still in use" in e.value for e in at.sidebar.error)
    button(at, "Step").click().run()
    assert step_count(at) == 2  # the run on the previous table goes on


def test_playground_diagnoses_a_paused_run_and_travels_back_in_time(at):
    at.sidebar.selectbox(key="pg.init").set_value("zeros").run()
    at.sidebar.number_input(key="pg.epochs").set_value(8).run()
    button(at, "Play").click().run()
    trainer = at.session_state["nnplay"]["run.playground"].trainer
    for _ in range(60):  # timer ticks until the 8 epochs are done (how many depends on the machine)
        at.run()
        if trainer.epoch >= 8:
            break
    assert trainer.epoch == 8
    button(at, "Pause").click().run()
    assert any(w.value.startswith("**Identical hidden units**") for w in [*at.warning, *at.error])
    at.select_slider(key="pg.travel.epoch").set_value(2).run()
    assert not at.exception, at.exception
    assert any("epoch 2 " in c.value + " " for c in at.caption)
    views = live_frames(at)
    assert [h["epoch"] for h, _ in views] == [8, 2]  # the live view of now, and of epoch 2
    next(b for b in at.button if b.label == "Branch from here").click().run()
    assert any("Branched from epoch 2" in i.value for i in at.info)
    trainer = at.session_state["nnplay"]["run.playground"].trainer
    assert trainer.epoch == 2
    assert len(at.session_state["nnplay"]["history"]) == 1  # the earlier run is kept for comparison


def test_race_waits_for_a_training_slot_and_stops_at_the_time_cap(at, monkeypatch):
    from nncore import limits
    slots = limits.TrainingSlots(1, 30.0)
    monkeypatch.setattr(limits, "_shared_slots", slots)  # a server with one slot, held by another user
    assert slots.acquire("someone else")
    at.switch_page("app_pages/compare.py").run()
    button(at, "Start race").click().run()
    at.run()
    assert race_steps(at) == [0, 0, 0]
    assert any("The server is busy" in w.value and "number 1 in line" in w.value for w in at.warning)
    slots.release("someone else")
    monkeypatch.setenv("NNPLAY_MAX_RUN_SECONDS", "1e-06")  # any slice (three networks' steps) is over it
    at.run()
    raced = race_steps(at)
    assert len(set(raced)) == 1 and raced[0] > 0
    at.run()  # past the cap: the race stops and says why
    assert not at.exception, at.exception
    assert race_steps(at) == raced
    assert any("This race used the 1e-06 s of training" in i.value for i in at.info)
    assert slots.busy == 0  # the slot is given back


def test_a_page_run_as_its_own_script_draws_its_page():
    """The pages live in `app_pages/`, not `pages/`, so Streamlit never engages its legacy pages-folder mode
    (which ran a deep-linked page without app.py); a page file run on its own still draws."""
    assert not (Path(APP).parent / "pages").exists()
    page = AppTest.from_file(str(Path(APP).parent / "app_pages" / "lessons.py"), default_timeout=60)
    page.run()
    assert not page.exception, page.exception
    assert [t.value for t in page.title] == ["Lessons"]