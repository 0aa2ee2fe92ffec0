"""The live view's frame: what each array holds, its type and shape, and how big a frame is."""

import numpy as np
import pytest

from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.inspect.grid import boundary_grid
from nncore.train.trainer import Trainer
from ui.liveview import payload, sources
from ui.liveview.payload import FrameBuilder, decode, encode

# A frame of the Playground's default network (2-16-16-1 on 600 points) stays below this many bytes: about
# a small image's worth, sent up to 20 times a second.
FRAME_BYTES_BOUND = 96 * 1024


def _run(dataset="spirals", hidden=(5, 3), engine="numpy", steps=60, **data):
    cfg = RunConfig(data=DataConfig(dataset=dataset, n_points=200, **data), model=ModelConfig(hidden=hidden),
                    train=TrainConfig(engine=engine))
    trainer = Trainer(cfg)
    return trainer, trainer.run(steps=steps)


def test_encode_decode_round_trip_keeps_alignment_types_and_values():
    arrays = {"a": np.arange(5, dtype=np.uint8), "b": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
              "c": np.array([1, 65535], np.uint16)}
    frame = encode({"v": 1, "name": "x²"}, arrays)
    header, out = decode(frame)
    assert header["name"] == "x²"
    for name, a in arrays.items():
        assert out[name].dtype == a.dtype and out[name].shape == a.shape
        np.testing.assert_array_equal(out[name], a)
        assert header["arrays"][name]["offset"] % 8 == 0
    assert (8 + int.from_bytes(frame[4:8], "little")) % 8 == 0  # the array section starts 8-aligned
    with pytest.raises(TypeError):
        encode({}, {"bad": np.zeros(2, np.float64)})


def test_arrays_in_either_byte_order_are_sent_little_endian():
    values = {"u": np.array([1, 258, 65535], np.uint16), "f": np.array([0.5, -2.25], np.float32),
              "i": np.array([-7, 1 << 20], np.int32)}
    swapped = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in values.items()}
    assert encode({"v": 1}, swapped) == encode({"v": 1}, values)  # the same bytes, whatever the input's order
    header, out = decode(encode({"v": 1}, swapped))
    for name, v in values.items():
        assert header["arrays"][name]["dtype"] == v.dtype.name
        np.testing.assert_array_equal(out[name], v)
    at = header["arrays"]["u"]["offset"] + 8 + int.from_bytes(encode({"v": 1}, values)[4:8], "little")
    assert encode({"v": 1}, swapped)[at:at + 4] == bytes([1, 0, 2, 1])  # 1 and 258, little-endian


def _frames_of_a_run(count: int, seconds: float = 0.03) -> list[bytes]:
    """``count`` frames of a run that trains ``seconds`` between them (Epochs high: it does not end)."""
    trainer = Trainer(RunConfig(data=DataConfig(n_points=200), train=TrainConfig(epochs=10_000)))
    builder, frames = FrameBuilder(trainer.dataset, editable=True), []
    for i in range(count):
        trainer.advance(seconds=seconds)
        frames.append(builder.build(trainer.snapshot(), trainer.engine, i + 1, playing=True, source="s", feed="f"))
    return frames


def test_a_frame_after_another_sends_only_what_changed_and_is_made_whole_again():
    frames = _frames_of_a_run(6)
    before = decode(frames[0])
    saw_same, saw_rows = set(), set()
    for frame in frames[1:]:
        header, arrays = decode(frame)
        sent = payload.changes(frame, before[0]["id"], before[1])
        h, a = decode(sent)
        assert h["base"] == before[0]["id"] and h["step"] == header["step"] and len(sent) < len(frame)
        whole = payload.rebase(h, a, before[1])
        assert whole.keys() == arrays.keys()
        for name, x in arrays.items():  # exactly the frame's arrays, every type and shape
            assert whole[name].dtype == x.dtype and whole[name].shape == x.shape
            np.testing.assert_array_equal(whole[name], x)
        saw_same |= set(h["same"])
        saw_rows |= {n for n, spec in h["arrays"].items() if spec.get("from")}
        for name in h["same"]:
            assert name not in h["arrays"]  # not sent at all
        before = (header, arrays)
    assert {"points_xy", "points_label"} <= saw_same  # the data points never change during a run
    assert "hist_weights" in saw_rows or "hist_weights" in saw_same  # histograms gain rows: only new ones sent
    # an array of another shape (a new network) goes whole; so does one of another type
    header, arrays = decode(frames[-1])
    other = {**arrays, "W_0": np.zeros((3, 9), np.float32), "points_label": arrays["points_label"].astype(np.uint16)}
    h, a = decode(payload.changes(encode({k: v for k, v in header.items() if k != "arrays"}, other), 7, arrays))
    assert "from" not in h["arrays"]["W_0"] and a["W_0"].shape == (3, 9)
    assert "points_label" in h["arrays"] and "from" not in h["arrays"]["points_label"]
    # rows sent onto a frame whose array has other rows (another shape or type) are refused, not glued on
    prev = decode(frames[-2])[1]
    h, a = decode(payload.changes(frames[-1], 7, prev))
    name = next(n for n, spec in h["arrays"].items() if spec.get("from") and prev[n].ndim == 2)
    for wrong in (prev[name][:, :-1], prev[name].astype(np.int32)):
        with pytest.raises(ValueError):
            payload.rebase(h, a, {**prev, name: wrong})


def test_binary_frame_holds_the_run_exactly_as_quantized():
    trainer, snap = _run()
    header, a = decode(FrameBuilder(trainer.dataset, editable=True).build(snap, trainer.engine, 7))
    assert header["id"] == 7 and header["task"] == "binary" and header["editable"] is True
    assert set(header["panels"]) == set(payload.PANELS)
    # boundary: P(class 1) on the run's own grid, row 0 at the bottom (ys[0])
    grid = boundary_grid(trainer.engine, trainer.dataset)  # what the view asked for
    p1 = grid.values[..., -1]
    assert a["boundary"].dtype == np.uint8 and a["boundary"].shape == p1.shape
    assert np.abs(a["boundary"] / 255.0 - p1).max() <= 0.5 / 255 + 1e-12
    # weights: W_l[i, j] is the weight from unit i of layer l to unit j of layer l + 1
    params = trainer.engine.get_params()
    sizes = header["network"]["sizes"]
    assert sizes == [2, 5, 3, 1] and header["network"]["shown"] == sizes
    for l, p in enumerate(params):
        assert a[f"W_{l}"].dtype == np.float32 and a[f"W_{l}"].shape == (sizes[l], sizes[l + 1])
        np.testing.assert_array_equal(a[f"W_{l}"], p["W"].T.astype(np.float32))
        np.testing.assert_array_equal(a[f"b_{l}"], p["b"].astype(np.float32))
    # a hidden neuron's picture is its output over the plane on one colour scale (128 = 0)
    t = header["plane"]["thumb"]
    xs = np.linspace(*header["plane"]["x"], t)
    ys = np.linspace(*header["plane"]["y"], t)
    post = trainer.engine.trace(payload.plane_inputs(grid, trainer.dataset, xs, ys))[1]["post"]  # layer 2
    scale = header["network"]["neuron_scale"]
    got = (a["thumb_2"].astype(np.float64) - 128) / 127 * scale
    want = post.T.reshape(3, t, t)
    assert a["thumb_2"].shape == (3, t, t)
    inside = np.abs(want) <= scale
    assert np.abs(got - want)[inside].max() <= scale / 127 * 0.5 + 1e-9
    assert np.all(np.abs(got[~inside]) == scale) and np.all(np.sign(got[~inside]) == np.sign(want[~inside]))
    hidden = np.concatenate([trainer.engine.trace(payload.plane_inputs(grid, trainer.dataset, xs, ys))[l]["post"]
                             .ravel() for l in (0, 1)])
    assert np.isclose(scale, np.percentile(np.abs(hidden), payload.NEURON_SCALE_PERCENTILE))  # one scale for all


def test_points_are_the_datas_in_plane_coordinates_with_their_split():
    trainer, snap = _run()
    header, a = decode(FrameBuilder(trainer.dataset).build(snap, trainer.engine, 1))
    ds = trainer.dataset
    (x0, x1), (y0, y1) = header["plane"]["x"], header["plane"]["y"]
    xy = np.stack([x0 + a["points_xy"][:, 0] / 65535 * (x1 - x0), y0 + a["points_xy"][:, 1] / 65535 * (y1 - y0)], 1)
    expected = np.concatenate([ds.unscale(ds.split(s)[0]) for s in ("train", "val", "test")])
    assert np.abs(xy - expected).max() <= max(x1 - x0, y1 - y0) / 65535
    np.testing.assert_array_equal(a["points_label"], np.concatenate([ds.split(s)[1] for s in ("train", "val", "test")]))
    counts = np.bincount(a["points_split"], minlength=3)
    assert list(counts) == [len(ds.y_train), len(ds.y_val), len(ds.y_test)]


def test_multiclass_and_regression_boundaries():
    trainer, snap = _run("blobs", classes=4)
    header, a = decode(FrameBuilder(trainer.dataset).build(snap, trainer.engine, 1))
    assert header["boundary"]["kind"] == "multiclass" and len(header["classes"]) == 4
    grid = boundary_grid(trainer.engine, trainer.dataset)
    np.testing.assert_array_equal(a["boundary_class"], grid.values.argmax(-1))
    trainer, snap = _run("ripple")
    header, a = decode(FrameBuilder(trainer.dataset).build(snap, trainer.engine, 1))
    lo, hi = header["boundary"]["range"]
    assert header["boundary"]["kind"] == "regression" and lo < hi
    expected = np.clip((boundary_grid(trainer.engine, trainer.dataset).values - lo) / (hi - lo), 0, 1)
    assert np.abs(a["boundary"] / 255.0 - expected).max() <= 0.5 / 255 + 1e-12


def test_hidden_space_of_a_two_unit_layer_is_its_units_and_wider_layers_their_principal_plane():
    trainer, snap = _run(hidden=(6, 2))
    builder = FrameBuilder(trainer.dataset)
    header, a = decode(builder.build(snap, trainer.engine, 1, hidden_layer=2))
    assert header["hidden"] == {"layer": 2, "layers": [1, 2], "basis": "units", "axes": ["h1", "h2"]}
    post = trainer.engine.trace(builder.points_inputs)[1]["post"]
    np.testing.assert_allclose(a["hidden_points"], post.astype(np.float32), rtol=0, atol=0)
    assert a["hidden_lines"].shape == (2 * payload.GRID_LINES, payload.LINE_POINTS, 2)
    header, a = decode(builder.build(snap, trainer.engine, 2, hidden_layer=1))
    assert header["hidden"]["basis"] == "pca"
    h1 = trainer.engine.trace(builder.points_inputs)[0]["post"]
    centred = h1 - h1.mean(0)
    # the two coordinates carry the layer's two largest variances (principal components of the points)
    top = np.linalg.svd(centred, compute_uv=False)[:2] ** 2
    got = ((a["hidden_points"].astype(np.float64)) ** 2).sum(0)
    np.testing.assert_allclose(got, top, rtol=1e-4)


@pytest.mark.slow
def test_curves_are_thinned_to_the_chart_width_and_keep_the_extremes():
    trainer, snap = _run(steps=2000)
    assert snap.epoch > payload.MAX_CURVE_POINTS // 7  # more epochs than a thinned line keeps per series
    header, a = decode(FrameBuilder(trainer.dataset, panels=("curves",)).build(snap, trainer.engine, 1))
    assert header["panels"] == ["curves"]
    assert len(a["curve_x"]) <= payload.MAX_CURVE_POINTS
    names = [s["name"] for s in header["curves"]["series"]]
    assert names == ["loss", "score", "norms"]
    train = np.asarray(snap.history["train_loss"])
    assert a["curve_loss_train"].min() == np.float32(train.min()) and a["curve_loss_train"].max() == np.float32(train.max())
    assert a["curve_x"][0] == 1 and a["curve_x"][-1] == snap.epoch


def test_histogram_shares_keep_every_nonempty_bin_and_the_row_proportions():
    trainer, snap = _run(steps=300)
    header, a = decode(FrameBuilder(trainer.dataset, panels=("histograms",)).build(snap, trainer.engine, 1))
    counts = np.asarray(snap.weight_hist, np.float64)
    shares = a["hist_weights"].astype(np.float64)
    assert a["hist_weights"].dtype == np.uint16 and shares.shape == counts.shape
    np.testing.assert_array_equal(shares > 0, counts > 0)
    np.testing.assert_array_equal(a["hist_weights_total"], counts.sum(-1).astype(np.float32))
    # a bin's share of its row, from the uint16 shares, is within rounding of the true share
    true = counts / counts.sum(-1, keepdims=True)
    approx = shares / shares.sum(-1, keepdims=True)
    assert np.abs(true - approx).max() <= 2 / 65535 * shares.shape[-1]


def test_default_playground_frame_size_is_bounded():
    trainer = Trainer(RunConfig())
    snap = trainer.run(steps=200)
    frame = FrameBuilder(trainer.dataset, editable=True).build(snap, trainer.engine, 1)
    assert len(frame) <= FRAME_BYTES_BOUND
    big = Trainer(RunConfig(model=ModelConfig(hidden=(64, 64, 64))))
    header, a = decode(FrameBuilder(big.dataset).build(big.snapshot(), big.engine, 1))
    assert header["network"]["sizes"] == [2, 64, 64, 64, 1]
    assert header["network"]["shown"] == [2, 8, 8, 8, 1]  # the first units of each layer, the rest counted
    assert a["W_1"].shape == (8, 8) and a["thumb_3"].shape[0] == 8


def test_image_runs_send_curves_and_histograms_only():
    from nncore.data import make_dataset
    cfg = RunConfig(data=DataConfig(dataset="digits", limit=200), model=ModelConfig(hidden=(8,)))
    trainer = Trainer(cfg, make_dataset(cfg.data))
    snap = trainer.run(steps=5)
    header, a = decode(FrameBuilder(trainer.dataset, panels=("curves", "histograms")).build(snap, trainer.engine, 1))
    assert header["panels"] == ["curves", "histograms"] and "plane" not in header
    assert not any(k.startswith(("thumb_", "boundary", "W_")) for k in a)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_typed_weight_reaches_the_engine_the_next_frame_and_time_travel(engine):
    trainer, _ = _run(engine=engine, steps=0)
    stored = trainer.set_weight(1, 2, 0, 0.625)  # from unit 2 of layer 1 to unit 0 of layer 2
    assert stored == 0.625 and trainer.engine.get_params()[1]["W"][0, 2] == 0.625
    assert trainer.edits == 1
    header, a = decode(FrameBuilder(trainer.dataset).build(trainer.snapshot(), trainer.engine, 1))
    assert a["W_1"][2, 0] == np.float32(0.625)
    viewer = trainer.engine_at(0)  # the kept moment at this step holds the edit
    assert viewer.get_params()[1]["W"][0, 2] == 0.625
    with pytest.raises(ValueError):
        trainer.set_weight(1, 9, 0, 1.0)
    with pytest.raises(ValueError):
        trainer.set_weight(0, 0, 0, float("nan"))
    fresh = Trainer(trainer.cfg, trainer.dataset)  # Reset: the run's initial weights, without the edit
    assert fresh.engine.get_params()[1]["W"][0, 2] != 0.625


def test_component_sources_are_plain_files_without_imports_or_network():
    js, css = sources()
    assert js.count("export default") <= 1
    # the one connection the view opens: its frame socket, at the address the server's own frame names, on this
    # page's own host (a path on the same server, see test_fast.py)
    assert js.count("new WebSocket(") == 1 and "new URL(url, location.href)" in js and "h.feed" in js
    js = js.replace("new WebSocket(address.href)", "")
    for text in (js.replace("http://www.w3.org/2000/svg", ""), css):  # (the SVG namespace names, fetches nothing)
        for banned in ("http://", "https://", "ws://", "wss://", "import(", "fetch(", "XMLHttpRequest", "@import",
                       "WebSocket(", "EventSource"):
            assert banned not in text


def test_input_nodes_show_the_active_features_over_the_plane():
    cfg = RunConfig(data=DataConfig(dataset="circles", n_points=200),
                    model=ModelConfig(hidden=(), inputs=("x1_sq", "x2_sq", "sin_x1")))
    trainer = Trainer(cfg)
    header, a = decode(FrameBuilder(trainer.dataset, editable=True).build(trainer.snapshot(), trainer.engine, 1))
    net = header["network"]
    assert net["inputs"] == ["x1_sq", "x2_sq", "sin_x1"] and net["toggle"] is True
    assert [f["key"] for f in net["features"]] == ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
    assert net["sizes"] == [3, 1] and a["W_0"].shape == (3, 1)
    t = header["plane"]["thumb"]
    xs, ys = np.linspace(*header["plane"]["x"], t), np.linspace(*header["plane"]["y"], t)
    scaled = payload.plane_inputs(boundary_grid(trainer.engine, trainer.dataset), trainer.dataset, xs, ys)
    for i, fn in enumerate((lambda x: x[:, 0] ** 2, lambda x: x[:, 1] ** 2, lambda x: np.sin(x[:, 0]))):
        value = fn(scaled)
        reach = np.abs(value).max()
        got = (a["thumb_0"][i].astype(np.float64).ravel() - 128) / 127 * reach
        assert np.abs(got - value).max() <= reach / 127 * 0.5 + 1e-9


def test_a_keep_frame_draws_nothing_and_names_the_feed():
    header, arrays = decode(payload.keep_frame("src", "/_nnplay/live/t"))
    assert header["keep"] is True and header["feed"] == "/_nnplay/live/t" and header["playing"] is True
    assert arrays == {} and "panels" not in header and "id" not in header
