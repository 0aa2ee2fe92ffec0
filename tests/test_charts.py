"""Chart builders and the live pictures: what a live frame sends to the browser."""

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from nncore.metrics import HIST_EDGES
from ui import charts, frame, histograms, raster


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


def test_envelope_of_non_finite_buckets_keeps_their_first_entry():
    values = np.arange(1000, dtype=float)
    values[100:300] = np.nan
    idx = charts.envelope_indices(values, max_points=20)
    assert len(idx) <= 20 and idx[0] == 0 and idx[-1] == 999
    buckets = np.array_split(np.arange(1000), 9)
    for bucket in buckets:  # every bucket is represented, so a gap in the data stays visible as a gap
        assert np.intersect1d(bucket, idx).size >= 1


def test_png_encoder_round_trips_exactly():
    rgb = np.random.default_rng(1).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(charts.png_bytes(rgb))))
    assert np.array_equal(decoded, rgb)
    rgba = np.random.default_rng(2).integers(0, 256, size=(5, 7, 4), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(charts.png_bytes(rgba)))), rgba)


def test_nice_ticks_are_round_and_cover_the_range():
    assert raster.linear_ticks(0.0, 1.0) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert raster.linear_ticks(0.53, 0.98) == [0.6, 0.7, 0.8, 0.9]
    assert raster.log_ticks(1e-4, 2.0) == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert raster.log_ticks(0.2, 0.9) == [0.2, 0.5]  # within a decade: 1-2-5 steps
    assert raster.tick_label(1e-5) == "1e-5" and raster.tick_label(0.25) == "0.25"
    assert raster.tick_label(190_000.0) == "1.9e5" and raster.tick_label(250_000.0) == "2.5e5"  # told apart
    assert raster.log_ticks(0.533, 1.013) == [0.6, 0.8, 1.0]  # less than a 1-2-5 step: round linear values
    assert raster.linear_ticks(1.0, 11.0) == [2.5, 5.0, 7.5, 10.0]
    assert raster.linear_ticks(1.0, 11.0, integer=True) == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert raster.linear_ticks(1.0, 2.0, integer=True) == [1.0, 2.0]  # epochs never get fractional ticks


class _Grid:
    """A 2-class grid over [-2, 3] x [-1, 1.5]: class 0 certain on the left half, class 1 on the right."""
    xs = np.linspace(-2.0, 3.0, 40)
    ys = np.linspace(-1.0, 1.5, 40)
    values = np.zeros((40, 40, 2))
    values[:, :20, 0] = 1.0
    values[:, 20:, 1] = 1.0
    is_projection = False
    axes = ("x1", "x2")
    center = components = None

    def project(self, X, dataset):
        return X


class _Data:
    task = "binary"
    class_names = ("a", "b")
    n_features = 2

    y_mean, y_std = 0.0, 1.0

    def split(self, name):
        if name == "train":
            return np.array([[-1.5, 0.0], [2.5, 1.0]]), np.array([0, 1])
        return np.zeros((0, 2)), np.zeros(0, dtype=int)

    def unscale_targets(self, values):
        return np.asarray(values, dtype=float) * self.y_std + self.y_mean

    def targets(self, name):
        return self.unscale_targets(self.split(name)[1])


def _snapshot(epochs: int, layers=("hidden 1", "output"), grid=_Grid()):
    n_bins = len(HIST_EDGES) - 1
    history = _history(epochs)
    if epochs > 3:
        history["train_loss"][3] = np.nan  # a gap must not break the drawing
    norms = np.outer(np.ones(epochs), 0.1 ** np.arange(len(layers)))  # one level per layer
    return SimpleNamespace(grid=grid, history=history, grad_norms=norms,
                           layer_names=layers, hist_steps=np.arange(3), hist_edges=HIST_EDGES,
                           grad_hist=np.ones((3, len(layers), n_bins)), weight_hist=np.ones((3, len(layers), n_bins)))


def _colour(picture, region: str, fx: float, fy: float) -> np.ndarray:
    box = picture.regions[region]
    x, y = box.px(fx, fy)
    return picture.rgb[int(y), int(x)].astype(int)


def test_live_picture_shades_each_class_where_the_network_is_sure_and_draws_the_points():
    data = _Data()
    picture = frame.live_picture(_snapshot(50), data, "Accuracy")
    assert picture.rgb.dtype == np.uint8 and picture.rgb.ndim == 3
    assert set(picture.regions) == {"boundary", "loss", "score", "norms"}
    blue, orange = (np.array(raster.hex_rgb(c)) for c in charts.PALETTE[:2])
    left, right = _colour(picture, "boundary", 0.2, 0.5), _colour(picture, "boundary", 0.8, 0.5)
    # shading is the class colour faded towards white: closer to its own class colour than to the other
    assert np.abs(left - blue).sum() < np.abs(left - orange).sum()
    assert np.abs(right - orange).sum() < np.abs(right - blue).sum()
    # the train point at (-1.5, 0) is drawn in full class colour at its place on the fixed grid extent
    point = _colour(picture, "boundary", (-1.5 + 2.0) / 5.0, (0.0 + 1.0) / 2.5)
    assert np.abs(point - blue).sum() < 40
    assert "hidden 1, output" in picture.caption and "filled dots = train" in picture.caption
    assert picture.rgb.shape[0] > picture.regions["norms"].y + 100  # histograms drawn below the curves


def test_curves_draw_every_series_in_its_own_colours():
    picture = frame.live_picture(_snapshot(200), _Data(), "Accuracy")
    def colours_in(region):
        box = picture.regions[region]
        area = picture.rgb[box.y + 2:box.y + box.h - 2, box.x + 2:box.x + box.w - 2].reshape(-1, 3).astype(int)
        return area
    for region, colours in (("loss", charts.PALETTE[:2]), ("score", charts.PALETTE[:2]),
                            ("norms", [frame.layer_colour(0), frame.layer_colour(1)])):
        area = colours_in(region)
        for colour in colours:
            near = np.abs(area - np.array(raster.hex_rgb(colour))).sum(axis=1) < 30
            assert near.sum() > 50, (region, colour)  # a line of that colour runs through the panel
    assert not {frame.layer_colour(i) for i in range(7)} & set(charts.PALETTE[:2])


def test_curve_panels_before_the_first_epoch_say_when_they_appear():
    picture = frame.live_picture(_snapshot(0), _Data(), "Accuracy")
    box = picture.regions["loss"]
    inside = picture.rgb[box.y + 2:box.y + box.h - 2, box.x + 2:box.x + box.w - 2]
    assert (inside < 200).any()  # the "appears after the first epoch" note, not an empty box
    assert (inside > 250).mean() > 0.9


def test_pictures_without_a_plane_show_the_curves_alone():
    picture = frame.live_picture(_snapshot(20, grid=None), _Data(), "Accuracy")
    assert "boundary" not in picture.regions and {"loss", "score", "norms"} <= set(picture.regions)


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


def test_a_long_class_legend_wraps_inside_the_boundary_panel():
    class ManyClasses(_Data):
        class_names = tuple(f"species number {i}" for i in range(12))

    picture = frame.live_picture(_snapshot(30), ManyClasses(), "Accuracy")
    box = picture.regions["boundary"]
    legend_rows = picture.rgb[box.y + box.h + 28:box.y + box.h + 58]
    assert (legend_rows[:, box.x:box.x + box.w] < 200).any()  # the legend is there
    beside = legend_rows[:, box.x + box.w + 2:frame.CURVES_X - 60]
    assert (beside > 245).all()  # and nothing of it runs out of the panel towards the curves


def test_regression_colours_span_the_targets_range_for_surface_points_and_legend():
    """Targets far from 0 (prices): the colour scale runs from the lowest to the highest training target, so
    low predictions are blue and high ones orange (a scale centred on 0 would paint everything orange)."""
    class Prices(_Data):
        task, class_names = "regression", ()

        def split(self, name):
            if name == "train":
                return np.array([[-1.5, 0.0], [2.5, 1.0]]), np.array([190_000.0, 250_000.0])
            return np.array([[0.5, 0.25]]), np.array([220_000.0])

    class Surface(_Grid):
        values = np.outer(np.ones(40), np.linspace(190_000.0, 250_000.0, 40))  # the prediction rises along x1

    picture = frame.live_picture(_snapshot(10, grid=Surface()), Prices(), "R²")
    blue, orange = (np.array(raster.hex_rgb(c)) for c in charts.PALETTE[:2])
    assert np.abs(_colour(picture, "boundary", 0.02, 0.9) - blue).sum() < 30
    assert np.abs(_colour(picture, "boundary", 0.98, 0.9) - orange).sum() < 30
    assert (_colour(picture, "boundary", 0.5, 0.9) > 235).all()  # the middle of the range is white
    assert picture.caption.startswith("Left: regression surface") and "targets' colour scale" in picture.caption
