"""One live frame as compact bytes for the live-view component. Pure (no Streamlit here).

A frame is a JSON header and typed arrays: the boundary grid and the neurons' pictures as uint8, the shown
weights and biases as float32, curves thinned to a chart's pixel width, histogram counts and the hidden-space
coordinates. The layout (see ``encode``):

    b"NNLV" | uint32 LE header length | UTF-8 JSON header | zero padding to 8 | arrays (each 8-aligned)

``header["arrays"][name] = {"offset", "dtype", "shape"}`` with offsets from the start of the array section.
"""

from __future__ import annotations

import json
import math
import struct
import sys

import numpy as np

from nncore import features
from nncore.inspect.grid import Grid, boundary_grid
from nncore.train.snapshot import Snapshot

from ui.panels.charts import PALETTE, envelope_indices

MAGIC = b"NNLV"
DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float32": np.float32, "int32": np.int32}
PANELS = ("diagram", "boundary", "curves", "histograms", "hidden")
THUMB = 32                # side of a neuron's picture (grid points); the boundary: grid.RESOLUTION
MAX_SHOWN = 8             # units drawn per layer in the diagram; the rest are counted ("+N more")
MAX_POINTS = 600          # data points sent per frame (the first of each split, in proportion)
MAX_CURVE_POINTS = 400    # points per curve: about a chart's width in pixels
NEURON_SCALE_PERCENTILE = 95  # the neurons' colour scale reaches this percentile of |output|
GRID_LINES = 9            # hidden space: lines of the input plane per direction
LINE_POINTS = 33          # ... and points along each
DIVERGING = {"neg": "#f28e2b", "zero": "#f7f7f7", "pos": "#4e79a7"}  # negative orange, positive blue
SPLITS = ("train", "val", "test")


# dtype -> its name in DTYPES, in either byte order (looked up, not read from ``dtype.name``: that is a Python
# property in NumPy 2, ~0.3 ms of a frame's build with its ~30 arrays)
_DTYPE_NAMES = {np.dtype(t).newbyteorder(order): name for name, t in DTYPES.items() for order in "<>"}
_LITTLE = {name: np.dtype(t).newbyteorder("<") for name, t in DTYPES.items()}  # name -> the dtype as sent


def encode(header: dict, arrays: dict[str, np.ndarray], starts: dict[str, int] | None = None) -> bytes:
    """The frame's bytes: ``header`` (JSON-ready) plus ``arrays`` (dtypes in DTYPES), offsets filled in.
    ``starts`` (see ``changes``): arrays sent from this row on, the rows before it being the previous frame's."""
    table, chunks, offset = {}, [], 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        kind = _DTYPE_NAMES.get(a.dtype)
        if kind is None:
            raise TypeError(f"array {name!r} has dtype {a.dtype}; use one of {', '.join(DTYPES)}")
        table[name] = {"offset": offset, "dtype": kind, "shape": list(a.shape)}
        if starts and starts.get(name):
            table[name]["from"] = starts[name]
        if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and sys.byteorder == "big"):
            a = a.astype(a.dtype.newbyteorder("<"))
        raw = a.tobytes()
        pad = -len(raw) % 8
        chunks.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    text = json.dumps({**header, "arrays": table}, separators=(",", ":"), allow_nan=False).encode()
    text += b"\0" * (-(8 + len(text)) % 8)
    return MAGIC + struct.pack("<I", len(text)) + text + b"".join(chunks)


def keep_frame(source: str, feed: str) -> bytes:
    """A frame that draws nothing: "keep asking ``feed`` for frames" (sent by the script's timer while the view
    takes its frames from the fast path, so a tick does not carry a whole frame the view has already drawn)."""
    return encode({"v": 1, "keep": True, "src": source, "playing": True, "feed": feed}, {})


def decode(frame: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays): the inverse of ``encode`` (for tests and tools)."""
    if frame[:4] != MAGIC:
        raise ValueError("not a live-view frame")
    (size,) = struct.unpack("<I", frame[4:8])
    header = json.loads(frame[8:8 + size].rstrip(b"\0"))
    base = 8 + size
    arrays = {}
    for name, spec in header["arrays"].items():
        count, dtype = math.prod(spec["shape"]), _LITTLE[spec["dtype"]]
        arrays[name] = np.frombuffer(frame, dtype, count, base + spec["offset"]).reshape(spec["shape"])
    return header, arrays


def changes(frame: bytes, base: int, before: dict[str, np.ndarray], decoded: tuple | None = None) -> bytes:
    """``frame`` as the browser's frame socket sends it after the frame ``base`` (whose arrays were ``before``):
    an array equal to the one before is not sent again (named in ``header["same"]``); one whose first rows are
    those before (histograms gain a row per record, a curve a point per epoch until it is thinned) is sent from
    its first new row (``"from"`` in its entry, the rows before it the previous frame's); any other array whole.
    The header says which frame it builds on (``"base"``); ``rebase`` (and core.js's ``LV.rebase``) make the whole
    frame again. ``decoded``: ``decode(frame)``, where the caller has it already."""
    header, arrays = decoded if decoded is not None else decode(frame)
    same, sent, starts = [], {}, {}
    for name, a in arrays.items():
        b = before.get(name)
        k = _kept_rows(a, b)
        if b is not None and b.dtype == a.dtype and b.shape == a.shape and (
                k == len(a) if a.ndim else np.array_equal(a, b)):
            same.append(name)
        elif k:
            sent[name], starts[name] = a[k:], k
        else:
            sent[name] = a
    header = {key: value for key, value in header.items() if key != "arrays"}
    return encode({**header, "base": base, "same": same}, sent, starts)


def _kept_rows(a: np.ndarray, b: np.ndarray | None) -> int:
    """How many of ``a``'s first rows are ``b``'s (0 where ``a`` cannot continue ``b``: none, another type, or
    rows of another shape)."""
    if b is None or b.dtype != a.dtype or a.ndim == 0 or b.shape[1:] != a.shape[1:]:
        return 0
    m = min(len(a), len(b))
    rows = np.all(a[:m] == b[:m], axis=tuple(range(1, a.ndim)))
    return m if rows.all() else int(np.argmin(rows))  # the first row that differs


def rebase(header: dict, arrays: dict[str, np.ndarray], before: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The whole arrays of a frame made by ``changes`` (``decode``'s header and arrays), given the arrays of the
    frame it builds on: the inverse of ``changes``."""
    whole = dict(arrays)
    for name in header.get("same", []):
        whole[name] = before[name]
    for name, spec in header["arrays"].items():
        k = spec.get("from")
        if k:
            if before[name].dtype != arrays[name].dtype or before[name].shape[1:] != arrays[name].shape[1:]:
                raise ValueError(f"array {name!r} does not continue the frame before")
            whole[name] = np.concatenate([before[name][:k], arrays[name]])
    return whole


def _u8(values: np.ndarray, lo: float, hi: float, dtype=np.uint8) -> np.ndarray:
    """Values on [lo, hi] as 0..255 (or the range of another unsigned ``dtype``; clipped; NaN as the middle)."""
    span = hi - lo if hi > lo else 1.0
    scaled = np.nan_to_num((np.asarray(values, np.float64) - lo) / span, nan=0.5)
    return np.round(np.clip(scaled, 0.0, 1.0) * np.iinfo(dtype).max).astype(dtype)


def _signed_u8(values: np.ndarray, scale: float) -> np.ndarray:
    """Values on [-scale, scale] as 1..255 with 128 = 0 (value = (u - 128) / 127 * scale)."""
    scale = scale if scale > 0 else 1.0
    return np.round(128 + np.clip(np.nan_to_num(values / scale), -1.0, 1.0) * 127).astype(np.uint8)


def target_range(dataset) -> tuple[float, float]:
    """The training targets' range (regression): one colour scale for the surface, the points and the legend."""
    y = np.asarray(dataset.unscale_targets(dataset.targets("train")), dtype=np.float64)
    return (float(y.min()), float(y.max())) if y.size else (-1.0, 1.0)


def plane_inputs(grid: Grid, dataset, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The network's (scaled) inputs at the plane points xs × ys, row-major with row i = ys[i]."""
    gx, gy = np.meshgrid(xs, ys)
    flat = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return grid.inputs(flat, dataset)


def point_rows(dataset, limit: int = MAX_POINTS) -> dict[str, np.ndarray]:
    """Which rows of each split are drawn: the first ones, in proportion to the split's size."""
    sizes = {s: len(dataset.split(s)[1]) for s in SPLITS}
    total = sum(sizes.values())
    share = min(1.0, limit / total) if total else 1.0
    return {s: np.arange(min(n, max(int(round(n * share)), 1 if n else 0))) for s, n in sizes.items()}


class FrameBuilder:
    """Builds the frames of one run view. Keeps what never changes during a run (the data points, the
    plane's inputs) so a frame costs one pass of the network over the plane and the points."""

    def __init__(self, dataset, panels=PANELS, editable: bool = False, max_layers: int = 6, max_width: int = 64):
        self.dataset = dataset
        self.panels = tuple(p for p in panels if p in PANELS)
        self.editable = editable
        self.max_layers, self.max_width = max_layers, max_width
        self._plane_key = None

    # --- the plane and the points (fixed during a run) -------------------------------------------------------
    def _prepare(self, grid: Grid) -> None:
        key = (float(grid.xs[0]), float(grid.xs[-1]), float(grid.ys[0]), float(grid.ys[-1]), len(grid.xs),
               grid.is_projection)
        if key == self._plane_key:
            return
        self._plane_key = key
        ds = self.dataset
        self.extent = ([float(grid.xs[0]), float(grid.xs[-1])], [float(grid.ys[0]), float(grid.ys[-1])])
        (x0, x1), (y0, y1) = self.extent
        tx, ty = np.linspace(x0, x1, THUMB), np.linspace(y0, y1, THUMB)
        self.thumb_inputs = plane_inputs(grid, ds, tx, ty)
        rows = point_rows(ds)
        X = np.concatenate([ds.split(s)[0][rows[s]] for s in SPLITS])
        y = np.concatenate([ds.split(s)[1][rows[s]] for s in SPLITS])
        self.points_inputs = np.asarray(X, np.float64)
        xy = grid.project(self.points_inputs, ds)
        self.points_xy = np.stack([_u8(xy[:, 0], x0, x1, np.uint16), _u8(xy[:, 1], y0, y1, np.uint16)], axis=1)
        self.points_split = np.concatenate([np.full(len(rows[s]), i, np.uint8) for i, s in enumerate(SPLITS)])
        if ds.task == "regression":
            self.value_range = target_range(ds)
            self.points_label = _u8(ds.unscale_targets(y), *self.value_range)
        else:
            self.value_range = (0.0, 1.0)
            self.points_label = np.asarray(y, dtype=np.uint8)
        # the input plane's grid lines, for the hidden-space view: horizontal lines, then vertical ones
        u = np.linspace(0.0, 1.0, LINE_POINTS)
        v = np.linspace(0.0, 1.0, GRID_LINES)
        horizontal = np.stack(np.broadcast_arrays(x0 + u[None, :] * (x1 - x0), y0 + v[:, None] * (y1 - y0)), -1)
        vertical = np.stack(np.broadcast_arrays(x0 + v[:, None] * (x1 - x0), y0 + u[None, :] * (y1 - y0)), -1)
        self.line_inputs = grid.inputs(np.concatenate([horizontal, vertical]).reshape(-1, 2), ds)

    # --- one frame ---------------------------------------------------------------------------------------
    def build(self, snap: Snapshot, engine, frame_id: int, *, playing: bool = False, hidden_layer: int = 1,
              status: str = "", source: str = "", feed: str = "") -> bytes:
        """One frame. ``frame_id`` grows with every frame of one ``source`` (a browser session), so that the view
        draws only frames newer than the last it drew (those of the fast path and of the script can arrive out
        of order); ``feed``: where the view asks for its next frame while playing (``ui.liveview.fast``)."""
        ds, cfg = self.dataset, snap.config
        task = ds.task
        header = {
            "v": 1, "id": int(frame_id), "editable": bool(self.editable), "task": task,
            "classes": [str(c) for c in (ds.class_names or ())] if task != "regression" else ["low", "high"],
            "colours": list(PALETTE[:max(ds.n_classes or 2, 2)]) if task != "regression" else list(PALETTE[:2]),
            "diverging": DIVERGING, "epoch": int(snap.epoch), "step": int(snap.step), "playing": bool(playing),
        }
        if status:
            header["status"] = status
        if source:
            header["src"] = source
        if feed and playing:
            header["feed"] = feed
        arrays: dict[str, np.ndarray] = {}
        panels = list(self.panels)
        grid = boundary_grid(engine, ds)  # asked for here: training never pays for it
        if grid is None:  # no 2-D plane: no boundary, neurons' pictures or hidden space
            panels = [p for p in panels if p not in ("boundary", "hidden")]
        want_trace = grid is not None and ("diagram" in panels or "hidden" in panels)
        if grid is not None:
            self._prepare(grid)
            header["plane"] = {"x": self.extent[0], "y": self.extent[1], "axes": list(grid.axes),
                               "res": len(grid.xs), "thumb": THUMB}
            if "boundary" in panels:
                self._boundary(grid, header, arrays)
        n_points = len(self.points_split) if grid is not None else 0
        traces = None
        if want_trace:
            X = np.concatenate([self.thumb_inputs, self.points_inputs, self.line_inputs])
            traces = [layer["post"] for layer in engine.trace(X)]
        if "diagram" in panels:
            self._diagram(cfg, engine, traces, header, arrays)
        if "hidden" in panels:
            hidden = list(range(1, len(traces))) if traces else []
            if hidden:
                self._hidden(traces, hidden, hidden_layer, n_points, header, arrays)
            else:
                panels.remove("hidden")
        if "curves" in panels:
            self._curves(snap, task, header, arrays)
        if "histograms" in panels:
            self._histograms(snap, header, arrays)
        header["panels"] = panels
        return encode(header, arrays)

    def _boundary(self, grid: Grid, header: dict, arrays: dict) -> None:
        task = self.dataset.task
        values = grid.values
        if task == "regression":
            lo, hi = self.value_range
            arrays["boundary"] = _u8(values, lo, hi)
            header["boundary"] = {"kind": "regression", "range": [lo, hi], "label": "predicted value"}
        elif values.shape[-1] <= 2:
            arrays["boundary"] = _u8(values[..., -1], 0.0, 1.0)
            header["boundary"] = {"kind": "binary", "range": [0.0, 1.0], "label": "P(class 1)"}
        else:
            arrays["boundary_class"] = np.argmax(values, axis=-1).astype(np.uint8)
            arrays["boundary_conf"] = _u8(values.max(axis=-1), 0.0, 1.0)
            header["boundary"] = {"kind": "multiclass", "range": [0.0, 1.0], "label": "predicted class"}
        arrays["points_xy"] = self.points_xy
        arrays["points_label"] = self.points_label
        arrays["points_split"] = self.points_split

    def _diagram(self, cfg, engine, traces, header: dict, arrays: dict) -> None:
        ds = self.dataset
        params = engine.get_params()
        sizes = [int(params[0]["W"].shape[1])] + [int(p["W"].shape[0]) for p in params]
        shown = [min(s, MAX_SHOWN) for s in sizes]
        inputs = list(cfg.model.inputs)
        two_d = ds.n_features == 2
        names = inputs if two_d else list(ds.feature_names)
        header["network"] = {
            "inputs": names[:shown[0]] if not two_d else inputs,
            "features": ([{"key": k, "label": features.LABELS[k]} for k in features.KEYS] if two_d
                         else [{"key": n, "label": n} for n in names[:shown[0]]]),
            "toggle": two_d, "sizes": sizes, "shown": shown, "activation": cfg.model.activation,
            "max_layers": self.max_layers, "max_width": self.max_width, "neuron_scale": 1.0,
        }
        for l, p in enumerate(params):
            arrays[f"W_{l}"] = np.asarray(p["W"].T[:shown[l], :shown[l + 1]], np.float32)
            arrays[f"b_{l}"] = np.asarray(p["b"][:shown[l + 1]], np.float32)
        if traces is None:
            return
        t2 = THUMB * THUMB
        x_in = features.apply(inputs, self.thumb_inputs) if two_d else self.thumb_inputs
        x_in = x_in[:, :shown[0]]
        reach = np.abs(x_in).max(axis=0)
        arrays["thumb_0"] = np.stack([_signed_u8(x_in[:, i], reach[i]) for i in range(shown[0])]).reshape(
            shown[0], THUMB, THUMB)
        hidden = [traces[l][:t2, :shown[l + 1]] for l in range(len(sizes) - 2)]
        # One colour scale for every neuron: the 95th percentile of |output| over all the pictures, so a few
        # large outputs (ReLU's far corners) do not wash out the rest; beyond it the colour is at its strongest.
        values = np.concatenate([np.abs(h).ravel() for h in hidden]) if hidden else np.zeros(0)
        scale = float(np.percentile(values, NEURON_SCALE_PERCENTILE)) if values.size else 1.0
        scale = scale if np.isfinite(scale) and scale > 0 else 1.0
        header["network"]["neuron_scale"] = scale
        for l, h in enumerate(hidden, 1):
            arrays[f"thumb_{l}"] = _signed_u8(h.T, scale).reshape(shown[l], THUMB, THUMB)

    def _hidden(self, traces, hidden_layers, layer: int, n_points: int, header: dict, arrays: dict) -> None:
        layer = layer if layer in hidden_layers else hidden_layers[0]
        t2 = THUMB * THUMB
        post = np.asarray(traces[layer - 1], np.float64)
        points, lines = post[t2:t2 + n_points], post[t2 + n_points:]
        width = post.shape[1]
        if width == 1:
            basis, axes = "units", ["h1", "(one unit)"]
            project = lambda a: np.concatenate([a, np.zeros_like(a)], axis=1)  # noqa: E731
        elif width == 2:
            basis, axes = "units", ["h1", "h2"]
            project = lambda a: a  # noqa: E731
        else:
            basis, axes = "pca", ["PC1", "PC2"]
            center = points.mean(axis=0)
            _, _, vt = np.linalg.svd(points - center, full_matrices=False)
            comps = vt[:2]
            comps = comps * np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])[:, None]  # a fixed sign
            project = lambda a: (a - center) @ comps.T  # noqa: E731
        arrays["hidden_points"] = np.asarray(project(points), np.float32)
        arrays["hidden_lines"] = np.asarray(project(lines), np.float32).reshape(2 * GRID_LINES, LINE_POINTS, 2)
        header["hidden"] = {"layer": layer, "layers": hidden_layers, "basis": basis, "axes": axes}

    def _curves(self, snap: Snapshot, task: str, header: dict, arrays: dict) -> None:
        h = snap.history
        score = snap.score  # "acc" or "r2": the history keys of the run's score
        charts = [("loss", "Loss", True, [("train", "train_loss"), ("validation", "val_loss")]),
                  ("score", "Accuracy" if score == "acc" else "R²", False,
                   [("train", f"train_{score}"), ("validation", f"val_{score}")])]
        lines = {key: np.asarray(h[key], np.float64) for _, _, _, ls in charts for _, key in ls}
        norms = np.asarray(snap.grad_norms, np.float64)
        for i, name in enumerate(snap.layer_names):
            lines[f"norm_{i}"] = norms[:, i] if norms.size else np.zeros(0)
        epochs = np.asarray(h["epoch"], np.float64)
        per_line = max(16, MAX_CURVE_POINTS // max(len(lines), 1))
        keep = np.unique(np.concatenate([envelope_indices(v, per_line) for v in lines.values()] or [np.zeros(0, int)]))
        arrays["curve_x"] = np.asarray(epochs[keep], np.float32)
        series = []
        for name, title, log, ls in charts:
            entries = []
            for j, (label, key) in enumerate(ls):
                arrays[f"curve_{name}_{label}"] = np.asarray(lines[key][keep], np.float32)
                entries.append({"label": label, "colour": PALETTE[j], "array": f"curve_{name}_{label}"})
            series.append({"name": name, "title": title, "log": log, "lines": entries})
        entries = []
        for i, layer_name in enumerate(snap.layer_names):
            arrays[f"curve_norms_{i}"] = np.asarray(lines[f"norm_{i}"][keep], np.float32)
            entries.append({"label": layer_name, "colour": PALETTE[2 + i % (len(PALETTE) - 2)],
                            "array": f"curve_norms_{i}"})
        series.append({"name": "norms", "title": "Gradient norm per layer", "log": True, "lines": entries})
        header["curves"] = {"x": "epoch", "series": series}

    def _histograms(self, snap: Snapshot, header: dict, arrays: dict) -> None:
        arrays["hist_edges"] = np.asarray(snap.hist_edges, np.float32)
        arrays["hist_steps"] = np.asarray(snap.hist_steps, np.float32)
        for kind, counts in (("gradients", snap.grad_hist), ("weights", snap.weight_hist)):
            counts = np.array(counts, np.float64)
            if kind == "gradients" and len(snap.hist_steps) and snap.hist_steps[0] == 0:
                counts[0] = 0  # before the first step there are no gradients: an empty row, not a spike at 0
            shares, totals = _row_shares(counts)
            arrays[f"hist_{kind}"] = shares
            arrays[f"hist_{kind}_total"] = totals
        header["histograms"] = {"layers": list(snap.layer_names), "kinds": ["gradients", "weights"],
                                "bins": len(snap.hist_edges) - 1}


def _row_shares(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histogram counts (T, L, B) as uint16 shares of each row's largest bin (a bin that holds anything stays
    >= 1, so the range of the values is never lost) and the row totals (T, L) float32."""
    top = counts.max(axis=-1, keepdims=True) if counts.size else np.ones(counts.shape[:-1] + (1,))
    shares = np.where(counts > 0, np.maximum(np.round(counts / np.maximum(top, 1) * 65535), 1), 0)
    return shares.astype(np.uint16), counts.sum(axis=-1).astype(np.float32)


def demo_frames(kind: str = "binary", hidden: tuple[int, ...] = (6, 4), count: int = 20, steps: int = 40,
                editable: bool = True) -> list[bytes]:
    """``count`` frames of a real small run (``steps`` optimizer steps apart), for developing the view:
    binary (spirals), multiclass (4 blobs) or regression (ripple)."""
    from nncore.config import DataConfig, ModelConfig, RunConfig
    from nncore.train.trainer import Trainer

    data = {"binary": DataConfig(dataset="spirals", n_points=300),
            "multiclass": DataConfig(dataset="blobs", classes=4, n_points=300),
            "regression": DataConfig(dataset="ripple", n_points=300)}[kind]
    trainer = Trainer(RunConfig(data=data, model=ModelConfig(hidden=hidden, activation="tanh")))
    builder = FrameBuilder(trainer.dataset, editable=editable)
    frames = []
    for i in range(count):
        snap = trainer.run(steps=steps) if i else trainer.snapshot()
        frames.append(builder.build(snap, trainer.engine, i + 1, playing=True,
                                    status=f"training | epoch {snap.epoch} | step {snap.step}"))
    return frames
