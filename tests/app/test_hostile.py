"""Hostile input never breaks or spoofs the app: weights that overflow, Markdown in visitors' text, settings
outside the widgets' ranges (files and links), downloads that trickle."""

import json
import struct

import numpy as np
import pytest

from nncore.io.checkpoint import load_checkpoint, save_checkpoint
from nncore.errors import ConfigError
from nncore.train.trainer import Trainer
from tests.helpers import make_cfg

F32_MAX = float(np.finfo(np.float32).max)


def _tampered(data: bytes, name: str, value: np.ndarray) -> bytes:
    """The checkpoint ``data`` with tensor ``name`` replaced by ``value`` (metadata kept)."""
    from safetensors.numpy import load, save
    (length,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + length])["__metadata__"]
    tensors = load(data)
    tensors[name] = np.ascontiguousarray(value)
    return save(tensors, metadata=metadata)


@pytest.fixture(scope="module")
def small_trainer() -> Trainer:
    return Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), epochs=1))


# --- B9: weights that do not fit the network's float type -------------------------------------------------

@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("bad, words", [(1e300, "beyond the float32 network's range"),
                                        (np.nan, "NaN or infinite"), (np.inf, "NaN or infinite")])
def test_engines_refuse_weights_the_network_cannot_hold_and_name_the_tensor(engine, bad, words):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), engine=engine))
    before = trainer.engine.get_params()
    params = trainer.engine.get_params()
    params[1]["b"][0] = bad
    with pytest.raises(ConfigError, match=rf"layers\.1\.b .*{words}"):
        trainer.load_params(params)
    for old, now in zip(before, trainer.engine.get_params()):  # nothing was changed
        for key in old:
            np.testing.assert_array_equal(old[key], now[key])


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_engines_take_the_largest_float32_weight(engine):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), engine=engine))
    params = trainer.engine.get_params()
    params[0]["W"][0, 0] = F32_MAX  # the boundary itself fits
    trainer.load_params(params)
    assert trainer.engine.get_params()[0]["W"][0, 0] == F32_MAX


def test_a_float32_checkpoint_with_float64_weights_beyond_float32_is_refused(small_trainer):
    data = save_checkpoint(small_trainer)
    W = small_trainer.engine.get_params()[0]["W"].astype(np.float64)
    W[0, 0] = 1e300
    with pytest.raises(ConfigError, match=r"'layers\.0\.W' holds 1e\+300, beyond what its float32 network"):
        load_checkpoint(_tampered(data, "layers.0.W", W))
    W[0, 0] = float(np.nextafter(np.float64(F32_MAX), 0))  # just inside float32's range: loads
    assert load_checkpoint(_tampered(data, "layers.0.W", W)).params[0]["W"][0, 0] == W[0, 0]


def test_a_float64_checkpoint_keeps_large_weights(small_trainer):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(4,), dtype="float64"))
    W = trainer.engine.get_params()[0]["W"]
    W[0, 0] = 1e300
    loaded = load_checkpoint(_tampered(save_checkpoint(trainer), "layers.0.W", W))
    assert loaded.params[0]["W"][0, 0] == 1e300


# --- B4: a checkpoint saved by the CLI always loads in the app ---------------------------------------------

def _app():
    from streamlit.testing.v1 import AppTest

    from tests.app.test_pages import APP
    return AppTest.from_file(APP, default_timeout=60)


def _uploader(at, key: str):
    return next(u for u in at.get("file_uploader") if key in u.proto.id)


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _playground(at):
    return at.session_state["nnplay"]["run.playground"]


CLI_RUNS = {  # the CLI's flags -> what the Playground's widgets cannot show exactly, as the message names it
    "spirals n 3000": (["--dataset", "spirals", "--n", "3000"], []),  # within NNPLAY_MAX_POINTS: shown as it is
    "spirals 7 arms": (["--dataset", "spirals", "--classes", "7", "--n", "300"], []),
    "blobs noise 0.8": (["--dataset", "blobs", "--noise", "0.8", "--n", "300", "--batch-size", "48", "--lr", "0.002"],
                        ["noise 0.8 -> 0.5 (most this page offers)", "learning rate 0.002 -> 0.003 (nearest choice)",
                         "batch size 48 -> 64 (nearest choice)"]),
}


@pytest.mark.parametrize("run", list(CLI_RUNS))
def test_a_checkpoint_saved_by_the_cli_loads_in_the_app_and_names_the_fitted_settings(run, tmp_path, capsys):
    from nncore.io.checkpoint import read_checkpoint_file
    from nncore.cli.main import main
    flags, notes = CLI_RUNS[run]
    path = tmp_path / "x.safetensors"
    assert main(["train", *flags, "--epochs", "1", "--hidden", "8", "--save", str(path)]) == 0
    saved = read_checkpoint_file(path)
    at = _app()
    at.run()
    _uploader(at, "pg.model.upload").upload("x.safetensors", path.read_bytes()).run()
    _button(at, "Use these weights and settings").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.sidebar.subheader] == ["Data", "Network", "Training", "Regularization"]
    [loaded] = [i.value for i in at.info if i.value.startswith("Loaded the checkpoint")]
    for note in notes:
        assert note in loaded, (note, loaded)
    assert ("Settings fitted to this page's controls" in loaded) == bool(notes)
    at.run()  # the next rerun keeps the loaded run: the sidebar shows the settings it trains with
    assert not at.exception, at.exception
    trainer = _playground(at).trainer
    assert not any("the run was reset" in i.value for i in at.info)
    np.testing.assert_array_equal(trainer.engine.get_params()[0]["W"], saved.params[0]["W"])
    assert at.sidebar.slider(key="pg.n_points").value == trainer.cfg.data.n_points
    if "--classes" in flags:
        assert at.sidebar.slider(key="pg.classes").value == trainer.cfg.data.classes == 7
    assert at.sidebar.select_slider(key="pg.batch_size").value == trainer.cfg.train.batch_size
    _button(at, "Step").click().run()
    assert not at.exception and _playground(at).trainer.step == 1


def test_a_checkpoint_the_page_cannot_hold_is_refused_with_a_message_and_the_run_kept(tmp_path):
    trainer = Trainer(make_cfg(dataset="xor", n_points=100, hidden=(100,), epochs=1))  # wider than 64 units
    at = _app()
    at.run()
    _button(at, "Step").click().run()
    _uploader(at, "pg.model.upload").upload("wide.safetensors", save_checkpoint(trainer)).run()
    assert not at.exception, at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # as written, before Markdown escapes
    assert any("cannot be trained here" in t and "hidden[0] must be <= 64 on this server (NNPLAY_MAX_WIDTH), got "
               "100" in t for t in shown), shown
    assert not [b for b in at.button if b.label == "Use these weights and settings"]
    assert _playground(at).trainer.step == 1


# --- B4/B10: link values the widgets cannot take ------------------------------------------------------------

def _unescaped(markdown: str) -> str:
    """What a Markdown body with backslash escapes displays."""
    import re
    return re.sub(r"\\(.)", r"\1", markdown)


def test_a_link_with_values_the_widgets_cannot_take_draws_the_sidebar_and_says_once_what_was_ignored():
    at = _app()
    at.query_params.update({"pg.n_points": "999999", "pg.seed": "1e400", "pg.learning_rate": "nan",
                            "pg.batch_size": "48", "pg.bogus": "1", "pg.step_size": "1e400", "pg.dataset": "moons"})
    at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.sidebar.subheader] == ["Data", "Network", "Training", "Regularization"]
    [warning] = [_unescaped(w.value) for w in at.sidebar.warning]
    for note in ("ignored pg.n_points=999999: must be a whole number from 20 to 5000",
                 "ignored pg.seed=1e400: must be a whole number from 0 to 2147483647",
                 "ignored pg.learning_rate=nan: must be one of 1e-05, 3e-05, ",
                 "ignored pg.batch_size=48: must be one of 1, 2, 4, 8, 16, 32, 64, ",
                 "ignored pg.bogus=1: not a setting on this page",
                 "ignored pg.step_size=1e400: must be a whole number from 1 to 10000"):
        assert note in warning, (note, warning)
    assert "pg.dataset" not in warning and at.sidebar.selectbox(key="pg.dataset").value == "moons"
    assert at.sidebar.slider(key="pg.n_points").value == 600 and at.sidebar.number_input(key="pg.seed").value == 0
    assert not {"pg.n_points", "pg.seed", "pg.bogus"} & set(at.query_params)
    at.run()
    assert not at.sidebar.warning  # said once
    at.sidebar.selectbox(key="pg.schedule").set_value("step").run()  # the widget of a refused value appears
    assert not at.exception, at.exception
    assert at.sidebar.number_input(key="pg.step_size").value == 50
    _button(at, "Step").click().run()
    assert _playground(at).trainer.cfg.data.dataset == "moons" and _playground(at).trainer.step == 1


# --- B10: a download has an overall deadline ----------------------------------------------------------------

def test_a_download_that_trickles_is_stopped_at_its_deadline_and_leaves_nothing(tmp_path):
    import http.server
    import threading
    import time

    from nncore.data.download import download

    size, pause = 2000, 0.02  # the whole file would take 40 s; every byte arrives well within the read timeout

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                for _ in range(size):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:  # the client gave up
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    deadline, read_timeout = 0.5, 5.0
    try:
        start = time.monotonic()
        with pytest.raises(ConfigError, match=r"took longer than 0\.5 s \(\d+ of 2000 bytes received\)"):
            download(f"http://127.0.0.1:{server.server_address[1]}/f.bin", tmp_path / "f.bin", None,
                     timeout=read_timeout, deadline=deadline)
        elapsed = time.monotonic() - start
    finally:
        server.shutdown()
        server.server_close()
    assert elapsed < read_timeout  # stopped by the deadline: no single read waited long enough to time out
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary part


# --- B5: visitors' text is never rendered as Markdown ------------------------------------------------------

LINK = "[Log in again to fix](https://evil.example/login)"
IMAGE = "![t](https://evil.example/t.png)"


def _bodies(at) -> list[str]:
    """Every Markdown body on the page (main area and sidebar): messages, captions, markdown."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "toast")
    return [str(e.value) for kind in kinds for e in at.get(kind)]


def _assert_literal(at, *texts) -> None:
    """Each text is shown, escaped, and no Markdown link or image syntax survives unescaped anywhere."""
    import re
    bodies = _bodies(at)
    for body in bodies:
        assert not re.search(r"(?<!\\)\]\(", body), body  # "](" opens a link target unless "]" is escaped
        assert not re.search(r"(?<![\\/])https?://", body), body  # a bare URL would be linked too
    for text in texts:
        assert any(text in _unescaped(body) for body in bodies), (text, bodies)


def test_a_link_s_hidden_layers_text_is_shown_literally_in_the_error(tmp_path):
    at = _app()
    at.query_params.update({"pg.hidden": f"8 {LINK} {IMAGE}", f"pg.{LINK}": "1"})
    at.run()
    assert not at.exception, at.exception
    assert any("hidden must be comma-separated layer widths" in e.value for e in at.sidebar.error)
    _assert_literal(at, f"8 {LINK} {IMAGE}", f"ignored pg.{LINK}=1: not a setting on this page")


def test_a_checkpoint_s_names_are_shown_literally(tmp_path):
    from safetensors.numpy import load, save
    trainer = Trainer(make_cfg(dataset="spirals", n_points=200, epochs=1))
    data = save_checkpoint(trainer)
    (length,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + length])["__metadata__"]
    info = json.loads(metadata["dataset"])
    info["feature_names"] = [LINK, IMAGE]
    metadata["dataset"] = json.dumps(info)
    hostile = save(load(data), metadata=metadata)
    at = _app()
    at.run()
    _button(at, "Step").click().run()  # a spirals run with the features x1, x2
    _uploader(at, "pg.model.upload").upload(f"{LINK}.safetensors", hostile).run()
    assert not at.exception, at.exception
    assert any("this checkpoint was trained on the features" in w.value for w in at.warning)
    _assert_literal(at, f"{LINK}, {IMAGE}")


def test_an_uploaded_table_s_names_are_shown_literally():
    at = _app()
    at.run()
    at.sidebar.selectbox(key="pg.dataset").set_value("csv").run()
    rows = "".join(f"{i * 0.1},{i % 3},{(LINK, IMAGE)[i % 2]}\n" for i in range(200))  # the labels too
    _uploader(at, "pg.csv_file").upload(f"{LINK}.csv", f"{LINK},b,kind\n{rows}".encode()).run()
    _button(at, "Step").click().run()
    assert not at.exception, at.exception
    _assert_literal(at, f"{LINK}.csv")
    at.switch_page("app_pages/from_scratch.py").run()  # the sample's target class
    assert not at.exception, at.exception
    _assert_literal(at)
    assert any(LINK in _unescaped(b) or IMAGE in _unescaped(b) for b in _bodies(at) if "target" in b)
    at.switch_page("app_pages/compare.py").run()  # the race's data line names the table
    assert not at.exception, at.exception
    _assert_literal(at, f"Data: **{LINK}.csv**")


# --- B10: no server paths shown to visitors -----------------------------------------------------------------

def test_pages_name_no_server_folder_even_when_the_data_folder_is_unusable(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    folder = tmp_path / "file" / "data"  # cannot be created: a file is in the way
    monkeypatch.setenv("NNCORE_DATA_DIR", str(folder))
    at = _app()
    at.run()
    at.switch_page("app_pages/search.py").run()
    assert not at.exception, at.exception
    assert any("Not a directory" in e.value for e in at.error), [e.value for e in at.error]
    assert not [b for b in _bodies(at) if str(tmp_path) in _unescaped(b)]
    at.switch_page("app_pages/images.py").run()
    assert not at.exception, at.exception
    bodies = _bodies(at)
    assert any("NNCORE_DATA_DIR" in b for b in bodies)  # how to get FashionMNIST is still said
    assert not [b for b in bodies if str(tmp_path) in _unescaped(b)]


def test_server_text_cuts_absolute_paths_and_database_urls_to_their_names():
    from ui.safe import server_text
    text = ("could not download t.gz from http://h.example/a/t.gz: timed out; put the file at "
            "/srv/nn/FashionMNIST/t.gz by hand. storage 'sqlite:////srv/nn/studies.db' cannot be opened")
    assert _unescaped(server_text(text)) == (
        "could not download t.gz from http://h.example/a/t.gz: timed out; put the file at t.gz by hand. "
        "storage 'sqlite:///studies.db' cannot be opened")
