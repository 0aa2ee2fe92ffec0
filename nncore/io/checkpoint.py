"""Checkpoints: a trained network saved in a format that cannot carry code, and loaded back safely.

A checkpoint is a safetensors file: raw tensors plus string metadata, nothing executable. Tensors are the
network's parameters, ``layers.{i}.{W,b,gamma,beta,running_mean,running_var}`` (layer 0 on the input side,
in the network's float type), and the input scaling ``dataset.mean`` / ``dataset.std`` (float64), so raw
inputs are scaled exactly as in training. Metadata holds the format name and version, the run config, the
last metrics, the dataset description (name, task, sizes, class and feature names) and the step and epoch.

Uploaded bytes are only ever parsed by safetensors and ``json``; pickles and ``torch.save`` files (zip
archives of pickles, which run code when loaded) are recognized and refused, never loaded.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from nncore.config import RunConfig
from nncore.data.signature import Signature, n_outputs
from nncore.engines import dense_weights, network_sizes
from nncore.errors import ConfigError
from nncore.registry import TASKS
from nncore.features import input_width, is_default, labels
from nncore.inspect.metrics import finite_or_none

FORMAT = "nn-playground-checkpoint"
FORMAT_VERSION = "1"
_METRIC_KEYS = ("train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc", "train_r2", "val_r2",
                "test_r2", "lr")


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint. ``params`` is in ``Engine.get_params`` form: one dict per layer, float64 arrays.

    ``metrics`` holds the saved weights' ``train_loss``/``val_loss``/``test_loss``, ``*_acc`` (accuracy) and
    ``*_r2`` (a regression's R²) (None where they do not apply), ``lr`` (None where not available),
    ``status``, ``message`` and ``best_epoch`` (the epoch whose weights early stopping restored, else None).
    ``signature`` is the data's (``data.signature.Signature``: features, a table's encoding, the input
    scaling, the task and classes, the target scaling), as the training data had it."""

    config: RunConfig
    params: list
    metrics: dict
    signature: Signature
    step: int
    epoch: int
    format_version: str = FORMAT_VERSION

    @property
    def network_text(self) -> str:
        return self.config.model.describe(self.signature)


# --- saving ----------------------------------------------------------------------------------------------

def save_checkpoint(trainer) -> bytes:
    """The checkpoint of ``trainer``'s current weights, config, metrics and data description, as bytes."""
    from safetensors.numpy import save

    cfg, ds = trainer.cfg, trainer.dataset
    snap = trainer.snapshot()
    store = np.float32 if cfg.model.dtype == "float32" else np.float64
    tensors = {}
    for i, layer in enumerate(trainer.engine.get_params()):
        for key, value in layer.items():
            value = np.asarray(value, dtype=np.float64)
            narrow = value.astype(store)
            exact = np.array_equal(narrow.astype(np.float64), value)
            tensors[f"layers.{i}.{key}"] = np.ascontiguousarray(narrow if exact else value)
    signature = Signature.of(ds)
    tensors["dataset.mean"] = np.ascontiguousarray(signature.mean)
    tensors["dataset.std"] = np.ascontiguousarray(signature.std)
    metrics = {key: finite_or_none(snap.final(key)) for key in _METRIC_KEYS}  # the saved weights' (best epoch's)
    metrics.update(status=snap.status, message=snap.message, best_epoch=snap.best_epoch)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "config": json.dumps(cfg.to_dict(), allow_nan=False),
                "dataset": json.dumps(signature.to_json(), allow_nan=False),
                "metrics": json.dumps(metrics, allow_nan=False),
                "step": str(int(trainer.step)), "epoch": str(int(trainer.epoch))}
    return save(tensors, metadata=metadata)


def save_checkpoint_file(trainer, path) -> None:
    """Write ``save_checkpoint(trainer)`` to ``path``."""
    data = save_checkpoint(trainer)
    with open(path, "wb") as f:
        f.write(data)


# --- loading ---------------------------------------------------------------------------------------------

REFUSED = "not a playground checkpoint: "  # how every refusal of a file that is not one begins


def _refuse(why: str) -> ConfigError:
    return ConfigError(f"{REFUSED}{why}", "checkpoint")


def _sniff_unsafe(data: bytes) -> str | None:
    """Why ``data`` is a code-carrying format we refuse, or None."""
    if data[:4] == b"PK\x03\x04":
        return ("this is a zip archive, such as a PyTorch torch.save file; those hold pickles, which can run "
                "code when loaded, so they are refused. Save the model with the playground (safetensors)")
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return ("this is a Python pickle (for example an old torch.save file), which can run code when "
                "loaded, so it is refused. Save the model with the playground (safetensors)")
    return None


def _header_metadata(data: bytes) -> dict:
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length].decode("utf-8"))
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise _refuse("its metadata is not a table of strings")
    return metadata


def _json_field(metadata: dict, key: str, kind: type):
    if key not in metadata:
        raise ConfigError(f"checkpoint metadata lacks {key!r}: the file is incomplete or was edited", "checkpoint")
    try:
        value = json.loads(metadata[key])
    except (ValueError, RecursionError, TypeError):
        raise ConfigError(f"checkpoint metadata {key!r} is not valid JSON: the file is damaged",
                          "checkpoint") from None
    if not isinstance(value, kind):
        raise ConfigError(f"checkpoint metadata {key!r} has the wrong shape: the file is damaged", "checkpoint")
    return value


def _expected_params(cfg: RunConfig, signature: Signature) -> list[dict]:
    """Parameters of a freshly initialized network of this config and data (for their names and shapes)."""
    from nncore.engines.init import init_params
    if getattr(cfg.model, "kind", "mlp") == "cnn":
        from nncore.engines.init import init_cnn_params
        if not signature.image_shape:
            raise ConfigError("checkpoint describes a CNN without an image shape: the file is damaged", "checkpoint")
        return init_cnn_params(cfg.model, signature.image_shape, signature.n_outputs, seed=0)
    return init_params(cfg.model, network_sizes(cfg.model, signature.n_features, signature.n_outputs), seed=0)


def _dataset_info(metadata: dict) -> dict:
    info = _json_field(metadata, "dataset", dict)
    rules = {"name": str, "task": str, "n_classes": int, "n_features": int, "n_outputs": int,
             "class_names": list, "feature_names": list}
    for key, kind in rules.items():
        if not isinstance(info.get(key), kind) or isinstance(info.get(key), bool):
            raise ConfigError(f"checkpoint dataset description lacks a valid {key!r}: the file is damaged",
                              "checkpoint")
    if info["task"] not in TASKS:
        raise ConfigError(f"checkpoint dataset task {info['task']!r} is unknown: the file is damaged", "checkpoint")
    names_ok = all(isinstance(n, str) for n in info["class_names"] + info["feature_names"])
    outputs = n_outputs(info["task"], info["n_classes"])
    classes = {"binary": 2, "regression": 0}.get(info["task"], info["n_classes"])
    shape = info.get("image_shape")
    shape_ok = shape is None or (isinstance(shape, list) and len(shape) == 2 and
                                 all(isinstance(v, int) and v > 0 for v in shape) and
                                 shape[0] * shape[1] == info["n_features"])
    if not (names_ok and shape_ok and info["n_features"] >= 1 and 1 <= info["n_outputs"] == outputs
            and info["n_classes"] == classes == len(info["class_names"])
            and len(info["feature_names"]) == info["n_features"]):
        raise ConfigError("checkpoint dataset description is inconsistent: the file is damaged", "checkpoint")
    info["image_shape"] = shape
    y_mean, y_std = info.get("y_mean", 0.0), info.get("y_std", 1.0)  # regression target scaling (identity)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (y_mean, y_std)) \
            or y_std <= 0:
        raise ConfigError("checkpoint target scaling (y_mean, y_std) is damaged", "checkpoint")
    info["y_mean"], info["y_std"] = float(y_mean), float(y_std)
    from nncore.data.columns import check_encoding
    info["encoding"] = check_encoding(info.get("encoding"), info["feature_names"])
    return {key: info[key] for key in (*rules, "image_shape", "y_mean", "y_std", "encoding")}


def _clean_metrics(raw: dict, task: str) -> dict:
    """Known metrics only: finite numbers or None, and the status and message texts. Files written before
    ``*_r2`` existed kept a regression's R² under ``*_acc``: it is read as ``*_r2``."""
    if task == "regression" and not any(f"{s}_r2" in raw for s in ("train", "val", "test")):
        raw = {**raw, **{f"{s}_r2": raw.get(f"{s}_acc") for s in ("train", "val", "test")},
               **{f"{s}_acc": None for s in ("train", "val", "test")}}
    metrics = {}
    for key in _METRIC_KEYS:
        v = raw.get(key)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        metrics[key] = float(v) if ok else None
    for key in ("status", "message"):
        metrics[key] = raw.get(key) if isinstance(raw.get(key), str) else ""
    best = raw.get("best_epoch")
    metrics["best_epoch"] = best if isinstance(best, int) and not isinstance(best, bool) and best >= 1 else None
    return metrics


def _declared_weights(cfg: RunConfig, signature: Signature) -> int:
    """Weights in the dense layers the config declares, computed without allocating them."""
    first = input_width(cfg.model.inputs, signature.n_features)
    if getattr(cfg.model, "kind", "mlp") == "cnn" and signature.image_shape:
        from nncore.engines.init import cnn_dense_inputs
        first = cnn_dense_inputs(cfg.model, signature.image_shape)
    return dense_weights([first, *cfg.model.hidden, signature.n_outputs])


def load_checkpoint(data: bytes, limits=None) -> Checkpoint:
    """Parse checkpoint ``data`` (as uploaded) into a ``Checkpoint``; ConfigError for anything else.

    Only safetensors and JSON parsers read the bytes, so a file can never run code. ``limits`` (default
    ``load_limits()``) bounds the size, like every upload."""
    from safetensors.numpy import load

    from nncore.limits import load_limits, upload_bytes
    data = upload_bytes(data, limits if limits is not None else load_limits(), "checkpoint",
                        prefix=REFUSED)
    unsafe = _sniff_unsafe(data)
    if unsafe:
        raise _refuse(unsafe)
    if len(data) < 8:
        raise _refuse("the file is too short to be a safetensors file")
    try:
        tensors = load(data)
        metadata = _header_metadata(data)
    except ConfigError:
        raise
    except Exception as e:  # anything the safetensors or JSON parser rejects
        raise _refuse(f"not a valid safetensors file ({str(e)[:120]})") from None
    if metadata.get("format") != FORMAT:
        raise _refuse("a safetensors file without playground metadata (saved by another program?)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ConfigError(f"checkpoint format version {version!r} is not supported (this version reads "
                          f"{FORMAT_VERSION}): save it again with this version of the playground", "checkpoint")
    raw_config = _json_field(metadata, "config", dict)
    try:
        config = RunConfig.from_dict(raw_config)
    except ConfigError as e:
        raise ConfigError(f"checkpoint config is not valid here: {e}", "checkpoint") from None
    except (TypeError, AttributeError, ValueError, RecursionError):
        raise ConfigError("checkpoint config has the wrong shape: the file is damaged", "checkpoint") from None
    info = _dataset_info(metadata)
    metrics = _clean_metrics(_json_field(metadata, "metrics", dict), info["task"])
    try:
        step, epoch = int(metadata["step"]), int(metadata["epoch"])
    except (KeyError, ValueError):
        raise ConfigError("checkpoint metadata lacks a valid step and epoch: the file is damaged",
                          "checkpoint") from None
    scaling = {}
    for key in ("mean", "std"):
        name = f"dataset.{key}"
        value = tensors.get(name)
        if value is None or value.shape != (info["n_features"],) or not np.isfinite(value).all():
            raise ConfigError(f"checkpoint tensor {name!r} is missing or damaged", "checkpoint")
        scaling[key] = value.astype(np.float64)
    if not (scaling["std"] > 0).all():
        raise ConfigError("checkpoint tensor 'dataset.std' has values <= 0: the file is damaged", "checkpoint")
    signature = Signature(info["name"], info["task"], info["n_classes"], info["class_names"], info["feature_names"],
                          scaling["mean"], scaling["std"], info["image_shape"], info["y_mean"], info["y_std"],
                          info["encoding"])
    if _declared_weights(config, signature) > sum(t.size for t in tensors.values()):
        raise ConfigError(f"checkpoint tensors are too small for its network {config.model.describe(signature)}: "
                          "the file is incomplete", "checkpoint")
    params = _read_params(tensors, config, signature)
    return Checkpoint(config, params, metrics, signature, step, epoch, version)


def _read_params(tensors: dict, cfg: RunConfig, signature: Signature) -> list[dict]:
    expected = _expected_params(cfg, signature)
    names = {f"layers.{i}.{k}" for i, layer in enumerate(expected) for k in layer}
    extra = sorted(k for k in tensors if k not in names and not k.startswith("dataset."))
    if extra:
        raise ConfigError(f"checkpoint has tensors this network does not use: {', '.join(extra[:5])}; it does not "
                          f"match its own config ({cfg.model.describe(signature)})", "checkpoint")
    params = []
    for i, layer in enumerate(expected):
        loaded = {}
        for key, init in layer.items():
            name = f"layers.{i}.{key}"
            if name not in tensors:
                raise ConfigError(f"checkpoint is missing tensor {name!r} of its network "
                                  f"{cfg.model.describe(signature)}: the file is incomplete", "checkpoint")
            value = tensors[name]
            if value.dtype.kind != "f" or value.shape != init.shape:
                raise ConfigError(f"checkpoint tensor {name!r} has shape {list(value.shape)} ({value.dtype}); "
                                  f"the network {cfg.model.describe(signature)} needs {list(init.shape)} floats",
                                  "checkpoint")
            value = value.astype(np.float64)
            if not np.isfinite(value).all():
                raise ConfigError(f"checkpoint tensor {name!r} holds NaN or infinite values", "checkpoint")
            biggest = float(np.abs(value).max()) if value.size else 0.0
            if biggest > float(np.finfo(cfg.model.dtype).max):  # would be inf in the network: diverges at once
                raise ConfigError(f"checkpoint tensor {name!r} holds {biggest:.3g}, beyond what its "
                                  f"{cfg.model.dtype} network can hold (±{float(np.finfo(cfg.model.dtype).max):.3g}): "
                                  "the file is damaged or was edited", "checkpoint")
            loaded[key] = value
        params.append(loaded)
    return params


# --- using a checkpoint ----------------------------------------------------------------------------------

def check_compatible(checkpoint: Checkpoint, cfg: RunConfig, dataset) -> None:
    """Raise ConfigError unless ``checkpoint``'s weights fit the network ``cfg`` builds for ``dataset``."""
    ck, sig = checkpoint.config.model, checkpoint.signature
    theirs, ours = checkpoint.network_text, cfg.model.describe(dataset)
    fix = "load its settings first or pick a matching network"
    if theirs != ours or getattr(ck, "kind", "mlp") != getattr(cfg.model, "kind", "mlp"):
        raise ConfigError(f"this checkpoint is for {theirs} ({sig.name}); the current network is {ours}: {fix}",
                          "checkpoint")
    for field, what in (("activation", "activation"), ("batch_norm", "batch norm")):
        a, b = getattr(ck, field), getattr(cfg.model, field)
        if a != b:
            a, b = ({True: "on", False: "off"}.get(v, v) for v in (a, b))
            raise ConfigError(f"this checkpoint's network uses {what} {a}; the current network uses {what} {b}: "
                              f"{fix}", "checkpoint")
    if tuple(ck.inputs) != tuple(cfg.model.inputs):
        a, b = (", ".join(labels(m.inputs)) for m in (ck, cfg.model))
        raise ConfigError(f"this checkpoint's network reads the inputs {a}; the current network reads {b}: {fix}",
                          "checkpoint")
    if sig.task != dataset.task:
        raise ConfigError(f"this checkpoint solves a {sig.task} task ({sig.name}); the current data "
                          f"({dataset.name}) is {dataset.task}: load matching data", "checkpoint")
    if tuple(sig.feature_names) != tuple(dataset.feature_names):
        raise ConfigError(f"this checkpoint was trained on the features {', '.join(sig.feature_names[:10])}; "
                          f"the current data has {', '.join(dataset.feature_names[:10])}: load matching data",
                          "checkpoint")
    if tuple(sig.class_names) != tuple(dataset.class_names):
        raise ConfigError(f"this checkpoint predicts the classes {', '.join(sig.class_names[:10])}; the "
                          f"current data has {', '.join(dataset.class_names[:10])}: load matching data",
                          "checkpoint")


def trainer_from_checkpoint(checkpoint: Checkpoint, dataset=None, limits=None, download: bool = True):
    """A Trainer for ``checkpoint``'s config, starting from its weights, to evaluate or train on.

    ``dataset`` None regenerates the data from the config (toy and image sets; ``download`` False refuses to
    fetch image files that are not on disk); uploaded tables must be passed in. ``limits`` (a server's
    ``Limits``): the config is checked against them before any data is generated. The inputs are rescaled
    with the checkpoint's mean/std, so the network sees them exactly as
    in training. The optimizer state and the metric histories are not saved: the Trainer starts at step 0
    with a fresh optimizer, and its schedule starts again from the beginning."""
    from nncore.data import make_dataset
    from nncore.train.trainer import Trainer

    cfg, sig = checkpoint.config, checkpoint.signature
    if limits is not None:
        from nncore.limits import check_run
        check_run(cfg, limits, dataset)
    if dataset is None:
        if sig.name != cfg.data.dataset:
            raise ConfigError(f"this checkpoint was trained on {sig.name!r} (uploaded data): load the same "
                              "table to use it", "checkpoint")
        dataset = make_dataset(cfg.data, download=download)
    check_compatible(checkpoint, cfg, dataset)
    if not (np.array_equal(dataset.mean, sig.mean) and np.array_equal(dataset.std, sig.std)):
        def rescale(X):
            return (dataset.unscale(X) - sig.mean) / sig.std
        dataset = dataclasses.replace(dataset, X_train=rescale(dataset.X_train), X_val=rescale(dataset.X_val),
                                      X_test=rescale(dataset.X_test), mean=sig.mean.copy(),
                                      std=sig.std.copy())
    if dataset.task == "regression" and (dataset.y_mean, dataset.y_std) != (sig.y_mean, sig.y_std):
        def retarget(y):  # the network predicts targets on the checkpoint's scale
            return (dataset.unscale_targets(y) - sig.y_mean) / sig.y_std
        dataset = dataclasses.replace(dataset, y_train=retarget(dataset.y_train), y_val=retarget(dataset.y_val),
                                      y_test=retarget(dataset.y_test), y_mean=sig.y_mean, y_std=sig.y_std)
    trainer = Trainer(cfg, dataset)
    params = [{k: v.copy() for k, v in layer.items()} for layer in checkpoint.params]
    trainer.load_params(params)
    return trainer


# --- a checkpoint's summary and its file (what ``python -m nncore inspect`` shows) --------------------------

def describe(checkpoint: Checkpoint) -> str:
    """Human-readable summary: data, network, progress, metrics and every config setting."""
    sig, m, model = checkpoint.signature, checkpoint.metrics, checkpoint.config.model
    classes = f"; classes: {', '.join(sig.class_names[:20])}" if sig.class_names else ""
    lines = [f"playground checkpoint (format {checkpoint.format_version})",
             f"data:     {sig.name} ({sig.task}, {sig.n_features} features → "
             f"{sig.n_outputs} output{'s' if sig.n_outputs > 1 else ''}){classes}",
             f"network:  {checkpoint.network_text}"
             + (f" (inputs {', '.join(labels(model.inputs))})" if not is_default(model.inputs) else "")
             + f", {model.activation}, batch norm "
             f"{'on' if model.batch_norm else 'off'}, dropout {model.dropout:g}, {model.dtype}",
             f"progress: epoch {checkpoint.epoch}, step {checkpoint.step}, status {m.get('status', '?')}"
             + (f"; best epoch {m['best_epoch']} of {checkpoint.epoch}, weights restored (metrics are its)"
                if m.get("best_epoch") else "")]
    if m.get("message"):
        lines.append(f"          {m['message']}")
    score = "r2" if sig.task == "regression" else "acc"
    parts = []
    for split in ("train", "val", "test"):
        for key, label in ((f"{split}_loss", f"{split} loss"), (f"{split}_{score}", f"{split} {score}")):
            value = m.get(key)
            parts.append(f"{label} {value:.4f}" if isinstance(value, (int, float)) else f"{label} n/a")
    lines.append("metrics:  " + ", ".join(parts))
    lines.append("config:")
    for section, values in checkpoint.config.to_dict().items():
        lines.append(f"  {section}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return "\n".join(lines)


def read_checkpoint_file(path, limits=None) -> Checkpoint:
    """``load_checkpoint`` on a file, refusing one over the upload limit before reading it."""
    from nncore.limits import ENV_NAMES, load_limits
    limits = limits if limits is not None else load_limits()
    try:
        size = os.stat(path).st_size
        if size > limits.max_upload_bytes:
            raise ConfigError(f"{path} is {size / 2**20:.1f} MB; checkpoints may be up to "
                              f"{limits.max_upload_mb:g} MB ({ENV_NAMES['max_upload_mb']})", "checkpoint")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}", "checkpoint") from None
    return load_checkpoint(data, limits)
