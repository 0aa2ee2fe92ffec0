"""Chart builders and the histogram picture: what a live frame sends to the browser."""

import numpy as np
import pytest

from nncore.metrics import HIST_EDGES
from ui import charts, histograms


def _history(n: int) -> dict:
    epochs = np.arange(1, n + 1, dtype=float)
    return {"epoch": epochs, "train_loss": np.exp(-epochs / 50), "val_loss": np.exp(-epochs / 60),
            "train_acc": np.linspace(0.5, 1, n), "val_acc": np.linspace(0.5, 0.9, n)}


def test_envelope_keeps_ends_spikes_and_dips_within_the_budget():
    values = np.random.default_rng(0).normal(size=5000)
    values[1234], values[4321] = 50.0, -40.0
    idx = charts.envelope_indices(values, max_points=160)
    assert len(idx) <= 160
    assert idx[0] == 0 and idx[-1] == 4999
    assert 1234 in idx and 4321 in idx  # uniform thinning would drop both
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(charts.envelope_indices(values[:100], 160), np.arange(100))  # short series untouched


def test_curve_records_are_thinned_and_drop_what_a_log_axis_cannot_show():
    history = _history(3000)
    history["train_loss"][10] = np.nan
    history["val_loss"][20] = 0.0
    spec = charts.curves_chart(history, np.ones(3000 * 2), ["hidden 1", "output"])
    loss = spec["datasets"]["loss"]
    for split in ("train", "validation"):
        rows = [r for r in loss if r["split"] == split]
        assert 2 < len(rows) <= charts.MAX_CURVE_POINTS
        assert rows[-1]["epoch"] == 3000.0  # the latest epoch is always shown
    assert all(np.isfinite(r["value"]) and r["value"] > 0 for r in loss)
    assert {r["layer"] for r in spec["datasets"]["norms"]} == {"hidden 1", "output"}


class _Grid:
    xs = np.linspace(-2.0, 3.0, 8)
    ys = np.linspace(-1.0, 1.5, 8)
    values = np.full((8, 8, 2), 0.5)
    is_projection = False
    axes = ("x1", "x2")


def test_live_chart_is_one_canvas_view_with_fixed_boundary_scales():
    points = [{"x1": 0.0, "x2": 0.0, "label": "a", "split": "train"}]
    spec = charts.live_chart(_Grid(), points, "binary", ["a", "b"], "Decision boundary", _history(5), np.ones(10),
                             ["hidden 1", "output"], "Accuracy")
    assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas" and spec["config"]["aria"] is False
    assert set(spec["datasets"]) == {"image", "points", "loss", "score", "norms"}
    boundary, curves = spec["hconcat"]
    scales = [layer["encoding"]["x"]["scale"]["domain"] for layer in boundary["layer"]]
    assert scales == [[-2.0, 3.0], [-2.0, 3.0]]  # the grid's extent, not the data's: no rescaling per frame
    assert boundary["layer"][0]["encoding"]["y"]["scale"]["domain"] == [-1.0, 1.5]
    assert [p["title"] for p in curves["vconcat"]] == ["Loss", "Accuracy", "Gradient norm per layer"]
    norm_colours = curves["vconcat"][2]["encoding"]["color"]["scale"]["range"]
    assert not set(norm_colours) & set(charts.PALETTE[:2])  # a layer never shares a colour with train/validation


def test_histogram_ticks_label_zero_and_chosen_decades():
    ticks = histograms.value_ticks(HIST_EDGES)
    labels = sorted(ticks.values())
    assert labels == sorted(["-1", "-1e-4", "0", "1e-4", "1"])
    assert ticks[(len(HIST_EDGES) - 1) / 2] == "0"
    positions = sorted(ticks)
    assert min(np.diff(positions)) >= 6  # labels never overlap at 2 pixels per bin


def test_histogram_picture_grows_with_layers_and_shows_where_values_are():
    n_bins = len(HIST_EDGES) - 1
    steps = np.arange(10) * 12
    counts = np.zeros((10, 2, n_bins))
    counts[:, :, n_bins - 1] = 100  # every value in the top bin
    one = histograms.histograms_image(steps, counts, counts, HIST_EDGES, ["hidden 1", "output"])
    three = histograms.histograms_image(steps, np.concatenate([counts, counts[:, :1]], axis=1),
                                        np.concatenate([counts, counts[:, :1]], axis=1), HIST_EDGES,
                                        ["hidden 1", "hidden 2", "output"])
    assert one.dtype == np.uint8 and one.shape[2] == 3
    assert three.shape[0] == one.shape[0] and three.shape[1] > one.shape[1]
    x = histograms.LEFT + 20
    top = one[histograms.TITLE_H + 1, x]
    bottom = one[histograms.TITLE_H + 100, x]
    assert tuple(top) == tuple(histograms._LUT[255])  # the full bin: brightest colour
    assert tuple(bottom) == (250, 250, 250)  # empty bins stay white


@pytest.mark.parametrize("layers", [1, 7])
def test_histogram_picture_fits_the_width(layers):
    n_bins = len(HIST_EDGES) - 1
    counts = np.ones((4, layers, n_bins))
    img = histograms.histograms_image(np.arange(4), counts, counts, HIST_EDGES, [f"l{i}" for i in range(layers)],
                                      max_width=1000)
    assert img.shape[1] <= max(1000, layers * (histograms.LEFT + 80 + histograms.GAP))
