"""Export a trained network: an ONNX model, or a standalone PyTorch script.

Both take raw (unscaled) features: the input scaling fitted on the training split is part of the export, and
so are input features (``ModelConfig.inputs``, e.g. x1², x2²), computed from the scaled x1, x2 as in training.
For a table with categorical (text) columns, both take the raw columns: the ONNX model has the inputs
``numbers`` (float32, the numeric columns) and ``categories`` (string, the categorical columns), in the
order its metadata ``numeric_columns`` / ``categorical_columns`` lists, and one-hot encodes the categories
in the graph (ai.onnx.ml OneHotEncoder; a category not seen in training gives all zeros); the script's
``encode`` does the same for rows of raw cells.
Both give class probabilities (n, K) for classification (K = 2 for binary: [P(class 0), P(class 1)]) and
values (n,) for regression, computed in eval mode (batch norm uses its running statistics, no dropout).
Parameters are engine-independent (see ``engines.base``), so a NumPy-engine model exports the same way.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import warnings

import numpy as np

from nncore.config import RunConfig
from nncore.data.signature import Signature
from nncore.engines import BN_PARAMS, parameter_modules
from nncore.errors import ConfigError
from nncore.features import active, check_inputs, input_width
from nncore.features import code as feature_code
from nncore.registry import Registry

# Format key -> description; FILES gives each its download name and MIME type.
EXPORT_FORMATS = Registry("format", {
    "onnx": "ONNX model (onnxruntime, other runtimes), scaling and probabilities included",
    "python": "standalone PyTorch script with the weights embedded and a predict(X) function",
})
FILES = {"onnx": ("model.onnx", "application/octet-stream"), "python": ("model.py", "text/x-python")}


def _dense_sizes(cfg: RunConfig, info: Signature, params: list[dict]) -> list[int]:
    """Sizes of the fully connected layers, after checking ``params`` fit the network ``cfg`` describes."""
    from nncore.engines.init import cnn_dense_inputs, init_cnn_params, init_params
    if cfg.model.kind == "cnn":
        if info.image_shape is None:
            raise ConfigError("a cnn model needs the data's image_shape to be exported", "image_shape")
        first = cnn_dense_inputs(cfg.model, info.image_shape)
        expected = init_cnn_params(cfg.model, info.image_shape, info.n_outputs, seed=0)
    else:
        check_inputs(cfg.model.inputs, info.n_features)
        first = input_width(cfg.model.inputs, info.n_features)
        expected = init_params(cfg.model, [first, *cfg.model.hidden, info.n_outputs], seed=0)
    want = [{k: np.shape(v) for k, v in layer.items()} for layer in expected]
    got = [{k: np.shape(layer.get(k)) for k in w} for layer, w in zip(params, want)]
    if len(params) != len(expected) or got != want:
        raise ConfigError(f"params must match the network of the config ({len(want)} layers shaped "
                          f"{[w['W'] for w in want]}), got {[np.shape(layer.get('W')) for layer in params]}",
                          "params")
    return [first, *cfg.model.hidden, info.n_outputs]


def network_text(cfg: RunConfig, info) -> str:
    """The network's description (``ModelConfig.describe``) after its kind, e.g. ``MLP 2 → 16 → 1``."""
    return f"{cfg.model.kind.upper()} {cfg.model.describe(Signature.of(info))}"


# --- ONNX -------------------------------------------------------------------------------------------------
def torch_module(cfg: RunConfig, params: list[dict], info):
    """The network as a torch module in eval mode: raw features (n, d) float32 → probabilities or values."""
    import torch
    from torch import nn

    from nncore.engines.torch_engine import build_network, load_params

    info = Signature.of(info)
    net = build_network(cfg.model, _dense_sizes(cfg, info, params), torch.Generator(), info.image_shape)
    load_params(net, params)

    class Exported(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(info.mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(info.std, dtype=torch.float32))

        def forward(self, x):
            z = self.net((x - self.mean) / self.std)
            if info.task == "multiclass":
                return torch.softmax(z, dim=1)
            if info.task == "binary":
                p = torch.sigmoid(z)
                return torch.cat([1.0 - p, p], dim=1)
            return z[:, 0] * info.y_std + info.y_mean  # the prediction in the target's own units

    return Exported().float().eval()


def export_onnx(cfg: RunConfig, params: list[dict], info, path_or_buffer=None) -> bytes:
    """Write the network as ONNX to a path or binary file object (if given) and return the model bytes.

    Input ``features`` float32 (batch, d) of raw features, any batch size; output ``probabilities`` (batch, K)
    or ``prediction`` (batch,). Class and feature names, the task and the config are in the metadata."""
    import onnx
    import torch

    info = Signature.of(info)
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
    props = {"task": info.task, "class_names": json.dumps(list(info.class_names)),
             "feature_names": json.dumps(list(info.feature_names)), "config": json.dumps(cfg.to_dict()),
             "input": "raw features; the training split's scaling is part of the graph"
             + (f", then the input features {', '.join(cfg.model.inputs)}" if active(cfg.model.inputs) else "")}
    if info.encoding and info.encoding["categories"]:
        props.update(_encode_in_graph(model, info.encoding))
    onnx.helper.set_model_props(model, props)
    model.doc_string = f"{network_text(cfg, info)} exported from the neural-network playground"
    data = model.SerializeToString()
    write_file(path_or_buffer, data)
    return data


def _encode_in_graph(model, encoding: dict) -> dict:
    """Replace the model's ``features`` input by the raw columns: ``numbers`` (float32, batch x numeric
    columns) and ``categories`` (string, batch x categorical columns), one-hot encoded in the graph.
    Returns the metadata naming both inputs' columns."""
    from onnx import TensorProto, helper, numpy_helper
    graph, cats = model.graph, encoding["categories"]
    numeric = [c for c in encoding["columns"] if c not in cats]
    categorical = [c for c in encoding["columns"] if c in cats]
    old = next(i for i in graph.input if i.name == "features")
    graph.input.remove(old)
    if numeric:
        graph.input.append(helper.make_tensor_value_info("numbers", TensorProto.FLOAT, ["batch", len(numeric)]))
    graph.input.append(helper.make_tensor_value_info("categories", TensorProto.STRING, ["batch", len(categorical)]))
    nodes, pieces = [], []
    for k, c in enumerate(encoding["columns"]):
        index, out = f"encode/{k}/index", f"encode/{k}/out"
        if c in cats:
            graph.initializer.append(numpy_helper.from_array(np.array(categorical.index(c), np.int64), index))
            nodes.append(helper.make_node("Gather", ["categories", index], [f"encode/{k}/text"], axis=1))
            nodes.append(helper.make_node("OneHotEncoder", [f"encode/{k}/text"], [out], domain="ai.onnx.ml",
                                          cats_strings=list(cats[c]), zeros=1))
        else:
            graph.initializer.append(numpy_helper.from_array(np.array([numeric.index(c)], np.int64), index))
            nodes.append(helper.make_node("Gather", ["numbers", index], [out], axis=1))
        pieces.append(out)
    nodes.append(helper.make_node("Concat", pieces, ["features"], axis=1))
    for node in reversed(nodes):
        graph.node.insert(0, node)
    if not any(o.domain == "ai.onnx.ml" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    return {"numeric_columns": json.dumps(numeric), "categorical_columns": json.dumps(categorical),
            "encoding": json.dumps(encoding),
            "input": "raw columns: numbers (float32, numeric_columns) and categories (string, categorical_columns, "
                     "as in training without surrounding spaces; unseen: all zeros); one-hot encoding and the "
                     "training split's scaling are part of the graph"}


def write_file(path_or_buffer, data: bytes) -> None:
    """Write ``data`` to a path or a binary file object (nothing for None)."""
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

_SCRIPT = """#!/usr/bin/env python3
\"\"\"{title}

Exported from the neural-network playground. Needs numpy and torch.
    python model.py table.csv   # one row per sample: {features}; {header}
prints one CSV row per sample: {columns}.
From Python: ``predict(X)`` with X (n, {d}) raw features returns {returns};
``encode(rows)`` turns rows of raw cells (in COLUMNS order) into such an X.
\"\"\"

import base64
import csv
import re
import sys

import numpy as np
import torch
from torch import nn

TASK = {task!r}
FEATURES = {feature_names!r}  # the network's inputs: a categorical column gives one "column=value" per category
COLUMNS = {raw_columns!r}  # the table columns the model reads, in this order
CATEGORIES = {categories!r}  # categorical column -> its categories (one 0/1 input each)
CLASSES = {class_names!r}
IMAGE_SHAPE = {image_shape!r}  # (rows, cols) for a CNN: each row of features is one image, row-major
CHANNELS = {channels!r}  # CNN: output channels of the 3x3 convolutions (each followed by 2x2 max pooling)
SIZES = {sizes!r}  # fully connected layers: inputs, hidden widths, outputs
BATCH_NORM = {batch_norm!r}
DTYPE = torch.{dtype}
MEAN = np.array({mean!r})  # the training split's input scaling, applied to raw features first
STD = np.array({std!r})
INPUTS = {inputs!r}  # the network's input features, computed from the scaled x1, x2 (None: the scaled features)
Y_MEAN, Y_STD = {y_mean!r}, {y_std!r}  # regression: the network predicts (target - Y_MEAN) / Y_STD
# Parameter name -> (shape, little-endian {dtype} values in base64).
WEIGHTS = {weights}


def activation():
    return {activation}


class Net(nn.Module):
    \"\"\"[3x3 conv -> activation -> 2x2 max pool] per CNN channel count, then per hidden layer Linear ->
    [BatchNorm1d] -> activation, then a Linear output layer (dropout acts only in training: left out).\"\"\"

    def __init__(self):
        super().__init__()
        ins = [1, *CHANNELS[:-1]]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(ins, CHANNELS))
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in SIZES[1:-1]) if BATCH_NORM else None
        self.act = activation()

    def forward(self, x):
        if IMAGE_SHAPE:
            x = x.reshape(-1, 1, *IMAGE_SHAPE)
            for conv in self.convs:
                x = nn.functional.max_pool2d(self.act(conv(x)), 2)
            x = x.flatten(1)
        for i, linear in enumerate(self.linears[:-1]):
            x = linear(x)
            if self.norms is not None:
                x = self.norms[i](x)
            x = self.act(x)
        return self.linears[-1](x)


def input_features(x):
    \"\"\"The network's inputs from scaled features x (n, {d}): INPUTS in order, or x itself.\"\"\"
    if INPUTS is None:
        return x
    x1, x2, sin = x[:, 0], x[:, 1], np.sin
    return np.stack({input_code}, axis=1)


def _array(shape, text):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype={np_dtype!r}).reshape(shape).copy())


def load_model():
    model = Net().to(DTYPE)
    state = {{name: _array(shape, text) for name, (shape, text) in WEIGHTS.items()}}
    loaded = model.load_state_dict(state, strict=False)  # batch norm's step counter is not needed to predict
    assert not loaded.unexpected_keys and all(k.endswith("num_batches_tracked") for k in loaded.missing_keys)
    return model.eval()


MODEL = load_model()


def _number(cell):
    \"\"\"A number; thousands separators ("1,037") allowed.\"\"\"
    if re.fullmatch(r"[+-]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d*)?", cell):
        cell = cell.replace(",", "")
    return float(cell)


def encode(rows):
    \"\"\"Rows of raw cells (one list per sample, in COLUMNS order) -> (n, {d}) features: numbers as they are,
    each categorical cell as one 0/1 value per category in CATEGORIES (all 0 for one not seen in training).\"\"\"
    out = []
    for row in rows:
        values = []
        for name, cell in zip(COLUMNS, row):
            cell = str(cell).strip()
            if name in CATEGORIES:
                values += [1.0 if cell == c else 0.0 for c in CATEGORIES[name]]
            else:
                values.append(_number(cell))
        out.append(values)
    return np.array(out, dtype=np.float64).reshape(-1, {d})


@torch.no_grad()
def predict(X):
    \"\"\"X: (n, {d}) raw features. Returns {returns}.\"\"\"
    x = input_features((np.asarray(X, dtype=np.float64).reshape(-1, {d}) - MEAN) / STD)
    z = MODEL(torch.from_numpy(x).to(DTYPE)).double()
    if TASK == "multiclass":
        return torch.softmax(z, dim=1).numpy()
    if TASK == "binary":
        p = torch.sigmoid(z[:, 0])
        return torch.stack([1.0 - p, p], dim=1).numpy()
    return z[:, 0].numpy() * Y_STD + Y_MEAN


def read_csv(path):
    \"\"\"The features of a table's rows; a header row naming COLUMNS selects and orders those columns.\"\"\"
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    columns = list(range(len(COLUMNS)))
    header = [h.strip() for h in rows[0]]
    if all(name in header for name in COLUMNS):
        rows.pop(0)
        columns = [header.index(name) for name in COLUMNS]
    elif CATEGORIES:
        sys.exit("the first row must name the columns: " + ", ".join(COLUMNS))
    else:
        try:
            [float(v) for v in rows[0]]
        except ValueError:
            rows.pop(0)
    return encode([[row[c] for c in columns] for row in rows])


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
"""


def export_python(cfg: RunConfig, params: list[dict], info) -> str:
    """A standalone, runnable PyTorch script of the network (see the module docstring for what it computes):
    ``predict(X)`` from Python, or ``python model.py features.csv`` printing one CSV row per sample."""
    info = Signature.of(info)
    sizes = _dense_sizes(cfg, info, params)
    m = cfg.model
    n_convs = len(m.channels) if m.kind == "cnn" else 0
    np_dtype = "<f8" if m.dtype == "float64" else "<f4"
    weights = {}  # the script's Net has the convs/linears/norms lists of nncore's torch networks
    for layer, (module, norm) in zip(params, parameter_modules(n_convs, len(sizes) - 1, m.batch_norm)):
        keys = [("W", f"{module}.weight"), ("b", f"{module}.bias")]
        keys += [(key, f"{norm}.{attr}") for key, attr in BN_PARAMS] if norm else []
        for key, name in keys:
            a = np.asarray(layer[key], dtype=np_dtype)
            weights[name] = (list(a.shape), base64.b64encode(a.tobytes()).decode("ascii"))
    classification = info.task != "regression"
    encoding = info.encoding or {"columns": list(info.feature_names), "categories": {}}
    weights_text = "{\n" + "".join(f"    {name!r}: ({shape!r}, {text!r}),\n" for name, (shape, text) in
                                  weights.items()) + "}"
    return _SCRIPT.format(
        title=_plain(f"{cfg.data.dataset}: {network_text(cfg, info)} ({m.activation}"
                     f"{', batch norm' if m.batch_norm else ''}), {info.task}"),
        features=_plain(_short(encoding["columns"])),
        columns="the predicted class, then one probability per class" if classification else "the prediction",
        returns=f"class probabilities (n, {max(info.n_outputs, 2)})" if classification else "predicted values (n,)",
        header="a header row naming the columns is " + ("needed" if encoding["categories"] else "optional"),
        raw_columns=list(encoding["columns"]), categories=encoding["categories"],
        d=info.n_features, task=info.task, feature_names=list(info.feature_names),
        class_names=list(info.class_names), image_shape=list(info.image_shape) if n_convs else None,
        channels=list(m.channels) if n_convs else [], sizes=sizes, batch_norm=m.batch_norm, dtype=m.dtype,
        mean=[float(v) for v in info.mean], std=[float(v) for v in info.std], y_mean=info.y_mean, y_std=info.y_std,
        weights=weights_text,
        inputs=list(m.inputs) if active(m.inputs) else None,
        input_code=feature_code(m.inputs) if active(m.inputs) else "[x1, x2]",
        activation=_ACTIVATION_CODE[m.activation], np_dtype=np_dtype)


def _short(names) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:3])}, ..., {names[-1]} ({len(names)} columns)"


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
