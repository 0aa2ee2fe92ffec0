"""Export a trained network: an ONNX model, or a standalone PyTorch script.

Both take raw (unscaled) features: the input scaling fitted on the training split is part of the export.
Both give class probabilities (n, K) for classification (K = 2 for binary: [P(class 0), P(class 1)]) and
values (n,) for regression, computed in eval mode (batch norm uses its running statistics, no dropout).
Parameters are engine-independent (see ``engines.base``), so a NumPy-engine model exports the same way.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import warnings
from dataclasses import dataclass

import numpy as np

from .config import RunConfig
from .errors import ConfigError
from .registry import Registry

# Format key -> description; FILES gives each its download name and MIME type.
EXPORT_FORMATS = Registry("format", {
    "onnx": "ONNX model (onnxruntime, other runtimes), scaling and probabilities included",
    "python": "standalone PyTorch script with the weights embedded and a predict(X) function",
})
FILES = {"onnx": ("model.onnx", "application/octet-stream"), "python": ("model.py", "text/x-python")}


@dataclass(frozen=True)
class ModelInfo:
    """What an export needs to know about the data besides the weights. mean/std: (d,) input scaling."""

    n_features: int
    n_outputs: int
    task: str                        # "binary", "multiclass" or "regression"
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def model_info(source) -> ModelInfo:
    """A ``ModelInfo`` from a ``Dataset``, a dict with the same keys, or a ``ModelInfo``."""
    if isinstance(source, ModelInfo):
        return source
    get = source.get if isinstance(source, dict) else lambda k: getattr(source, k)
    task = get("task")
    if task not in ("binary", "multiclass", "regression"):
        raise ConfigError(f"task must be binary, multiclass or regression, got {task!r}", "task")
    n_features = int(get("n_features"))
    mean = tuple(float(v) for v in np.ravel(get("mean")))
    std = tuple(float(v) for v in np.ravel(get("std")))
    if len(mean) != n_features or len(std) != n_features:
        raise ConfigError(f"mean and std must have {n_features} values (one per feature), got "
                          f"{len(mean)} and {len(std)}", "mean")
    return ModelInfo(n_features, int(get("n_outputs")), task, tuple(get("class_names")),
                     tuple(get("feature_names")), mean, std)


def _sizes(cfg: RunConfig, info: ModelInfo, params: list[dict]) -> list[int]:
    sizes = [info.n_features, *cfg.model.hidden, info.n_outputs]
    shapes = [tuple(np.shape(layer["W"])) for layer in params]
    expected = [(b, a) for a, b in zip(sizes[:-1], sizes[1:])]
    if shapes != expected:
        raise ConfigError(f"params must match the network {sizes} (weight shapes {expected}), got {shapes}",
                          "params")
    return sizes


# --- ONNX -------------------------------------------------------------------------------------------------
def torch_module(cfg: RunConfig, params: list[dict], info):
    """The network as a torch module in eval mode: raw features (n, d) float32 → probabilities or values."""
    import torch
    from torch import nn

    from .engines.torch_engine import MLP

    info = model_info(info)
    mlp = MLP(_sizes(cfg, info, params), cfg.model.activation, cfg.model.batch_norm, cfg.model.dropout,
              torch.Generator())
    with torch.no_grad():
        for i, (lin, layer) in enumerate(zip(mlp.linears, params)):
            lin.weight.copy_(torch.as_tensor(np.asarray(layer["W"])))
            lin.bias.copy_(torch.as_tensor(np.asarray(layer["b"])))
            if mlp.norms is not None and i < len(mlp.norms):
                bn = mlp.norms[i]
                for name, target in (("gamma", bn.weight), ("beta", bn.bias), ("running_mean", bn.running_mean),
                                     ("running_var", bn.running_var)):
                    target.copy_(torch.as_tensor(np.asarray(layer[name])))

    class Exported(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = mlp
            self.register_buffer("mean", torch.tensor(info.mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(info.std, dtype=torch.float32))

        def forward(self, x):
            z = self.mlp((x - self.mean) / self.std)
            if info.task == "multiclass":
                return torch.softmax(z, dim=1)
            if info.task == "binary":
                p = torch.sigmoid(z)
                return torch.cat([1.0 - p, p], dim=1)
            return z[:, 0]

    return Exported().float().eval()


def export_onnx(cfg: RunConfig, params: list[dict], info, path_or_buffer=None) -> bytes:
    """Write the network as ONNX to a path or binary file object (if given) and return the model bytes.

    Input ``features`` float32 (batch, d) of raw features, any batch size; output ``probabilities`` (batch, K)
    or ``prediction`` (batch,). Class and feature names, the task and the config are in the metadata."""
    import onnx
    import torch

    info = model_info(info)
    module = torch_module(cfg, params, info)
    output = "prediction" if info.task == "regression" else "probabilities"
    example = torch.zeros(2, info.n_features)
    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed" notices: not relevant here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, (example,), dynamo=True, input_names=["features"],
                                        output_names=[output], dynamic_shapes=({0: torch.export.Dim("batch")},),
                                        verbose=False)
    finally:
        quiet.setLevel(level)
    model = program.model_proto
    onnx.helper.set_model_props(model, {
        "task": info.task, "class_names": json.dumps(list(info.class_names)),
        "feature_names": json.dumps(list(info.feature_names)), "config": json.dumps(cfg.to_dict()),
        "input": "raw features; the training split's scaling is part of the graph"})
    model.doc_string = f"MLP {_sizes(cfg, info, params)} exported from the neural-network playground"
    data = model.SerializeToString()
    _write(path_or_buffer, data)
    return data


def _write(path_or_buffer, data: bytes) -> None:
    if path_or_buffer is None:
        return
    if isinstance(path_or_buffer, (str, os.PathLike)):
        with open(path_or_buffer, "wb") as f:
            f.write(data)
    else:
        path_or_buffer.write(data)


# --- standalone script ------------------------------------------------------------------------------------
_ACTIVATION_CODE = {
    "relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()",
    "gelu": "nn.GELU()", "linear": "nn.Identity()",
}

_SCRIPT = '''#!/usr/bin/env python3
"""{title}

Exported from the neural-network playground. Needs numpy and torch.
    python {{this file}} features.csv   # one row per sample: {features}; a header row is optional
prints one CSV row per sample: {columns}.
From Python: ``predict(X)`` with X (n, {d}) raw features returns {returns}.
"""

import base64
import csv
import sys

import numpy as np
import torch
from torch import nn

TASK = {task!r}
FEATURES = {feature_names!r}
CLASSES = {class_names!r}
SIZES = {sizes!r}
BATCH_NORM = {batch_norm!r}
DTYPE = torch.{dtype}
MEAN = np.array({mean!r})  # the training split's scaling, applied to raw features first
STD = np.array({std!r})
# Per layer: name -> (shape, little-endian {dtype} bytes in base64).
WEIGHTS = {weights}


def activation():
    return {activation}


class MLP(nn.Module):
    """Linear -> [BatchNorm1d] -> activation per hidden layer, then a Linear output layer (dropout, used only
    in training, is left out)."""

    def __init__(self):
        super().__init__()
        pairs = list(zip(SIZES[:-1], SIZES[1:]))
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in SIZES[1:-1]) if BATCH_NORM else None
        self.acts = nn.ModuleList(activation() for _ in SIZES[1:-1])

    def forward(self, x):
        for i, linear in enumerate(self.linears[:-1]):
            x = linear(x)
            if self.norms is not None:
                x = self.norms[i](x)
            x = self.acts[i](x)
        return self.linears[-1](x)


def _array(shape, text):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype={np_dtype!r}).reshape(shape).copy())


def load_model():
    model = MLP().to(DTYPE)
    state = {{name: _array(shape, text) for name, (shape, text) in WEIGHTS.items()}}
    loaded = model.load_state_dict(state, strict=False)  # batch norm's step counter is not needed to predict
    assert not loaded.unexpected_keys and all(k.endswith("num_batches_tracked") for k in loaded.missing_keys)
    return model.eval()


MODEL = load_model()


@torch.no_grad()
def predict(X):
    """X: (n, {d}) raw features. Returns {returns}."""
    x = (np.asarray(X, dtype=np.float64).reshape(-1, {d}) - MEAN) / STD
    z = MODEL(torch.from_numpy(x).to(DTYPE)).double()
    if TASK == "multiclass":
        return torch.softmax(z, dim=1).numpy()
    if TASK == "binary":
        p = torch.sigmoid(z[:, 0])
        return torch.stack([1.0 - p, p], dim=1).numpy()
    return z[:, 0].numpy()


def read_csv(path):
    """Rows of numbers; a header row naming the features selects and orders those columns."""
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    columns = list(range({d}))
    try:
        [float(v) for v in rows[0]]
    except ValueError:
        header = [h.strip() for h in rows.pop(0)]
        if all(name in header for name in FEATURES):
            columns = [header.index(name) for name in FEATURES]
    return np.array([[float(row[c]) for c in columns] for row in rows], dtype=np.float64)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 0
    out = predict(read_csv(argv[1]))
    writer = csv.writer(sys.stdout)
    if TASK == "regression":
        writer.writerow(["prediction"])
        writer.writerows([[repr(float(v))] for v in out])
    else:
        writer.writerow(["predicted", *CLASSES])
        for row in out:
            writer.writerow([CLASSES[int(np.argmax(row))], *(repr(float(v)) for v in row)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''


def export_python(cfg: RunConfig, params: list[dict], info) -> str:
    """A standalone, runnable PyTorch script of the network (see the module docstring for its behaviour)."""
    info = model_info(info)
    sizes = _sizes(cfg, info, params)
    np_dtype = "<f8" if cfg.model.dtype == "float64" else "<f4"
    weights = {}
    for i, layer in enumerate(params):
        keys = [("W", f"linears.{i}.weight"), ("b", f"linears.{i}.bias")]
        if cfg.model.batch_norm and i < len(params) - 1:
            keys += [("gamma", f"norms.{i}.weight"), ("beta", f"norms.{i}.bias"),
                     ("running_mean", f"norms.{i}.running_mean"), ("running_var", f"norms.{i}.running_var")]
        for key, name in keys:
            a = np.asarray(layer[key], dtype=np_dtype)
            weights[name] = (list(a.shape), base64.b64encode(a.tobytes()).decode("ascii"))
    classification = info.task != "regression"
    k = max(info.n_outputs, 2)
    weights_text = "{\n" + "".join(f"    {name!r}: ({shape!r}, {text!r}),\n" for name, (shape, text) in
                                  weights.items()) + "}"
    return _SCRIPT.format(
        title=_plain(f"{cfg.data.dataset}: MLP {sizes} ({cfg.model.activation}"
              f"{', batch norm' if cfg.model.batch_norm else ''}), {info.task}"),
        features=_plain(", ".join(info.feature_names)),
        columns="the predicted class, then one probability per class" if classification else "the prediction",
        returns=f"class probabilities (n, {k})" if classification else "predicted values (n,)",
        d=info.n_features, task=info.task, feature_names=list(info.feature_names),
        class_names=list(info.class_names), sizes=sizes, batch_norm=cfg.model.batch_norm,
        dtype=cfg.model.dtype, mean=list(info.mean), std=list(info.std), weights=weights_text,
        activation=_ACTIVATION_CODE[cfg.model.activation], np_dtype=np_dtype)


def _plain(text: str) -> str:
    """Text safe inside the script's docstring."""
    return text.replace("\\", "/").replace('"', "'").replace("{", "(").replace("}", ")")


def export_from_trainer(trainer, fmt: str) -> bytes:
    """The trainer's current network in format ``fmt`` (a key of EXPORT_FORMATS), as bytes to save or
    download under ``FILES[fmt]``."""
    return export_bytes(trainer.cfg, trainer.engine.get_params(), trainer.dataset, fmt)


def export_bytes(cfg: RunConfig, params: list[dict], info, fmt: str) -> bytes:
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}", "format")
    if fmt == "onnx":
        return export_onnx(cfg, params, info)
    return export_python(cfg, params, info).encode("utf-8")


# --- command line ----------------------------------------------------------------------------------------
def add_command(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a checkpoint's network as ONNX or a PyTorch script")
    p.add_argument("file", help="a checkpoint saved by the app or nncore.checkpoint")
    p.add_argument("--format", default="onnx", choices=list(EXPORT_FORMATS))
    p.add_argument("--out", default=None, help="output path (default: model.onnx / model.py)")
    p.set_defaults(func=cmd_export)


def cmd_export(a) -> int:
    from .checkpoint import load_checkpoint
    try:
        with open(a.file, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(f"file cannot be read: {a.file} ({e.strerror})", "file") from None
    try:
        ckpt = load_checkpoint(raw)
    except ConfigError:
        raise
    except Exception as e:  # a damaged or foreign file: say so in one line
        raise ConfigError(f"file is not a checkpoint: {a.file} ({type(e).__name__})", "file") from None
    data = export_bytes(ckpt.config, ckpt.params, _checkpoint_info(ckpt), a.format)
    out = a.out or FILES[a.format][0]
    _write(out, data)
    print(f"wrote {out} ({len(data):,} bytes, {a.format})")
    return 0


def _checkpoint_info(ckpt) -> ModelInfo:
    """The dataset facts a checkpoint keeps (as an object or dict under ``info``/``dataset``, or flat)."""
    for name in ("info", "dataset_info", "dataset"):
        source = getattr(ckpt, name, None)
        if source is not None:
            return model_info(source)
    return model_info(ckpt)
