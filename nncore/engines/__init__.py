"""Engines: interchangeable ways to compute the same network (see ``base.Engine``).

Engine modules are imported on first use, so choosing one never pays for importing another.
"""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from ..init import cnn_dense_inputs, init_cnn_params, init_params
from .base import Engine

# Engine key -> "module:Class", loaded lazily.
ENGINE_CLASSES = {
    "torch": "nncore.engines.torch_engine:TorchEngine",
    "numpy": "nncore.engines.numpy_engine:NumpyEngine",
}


def engine_class(name: str) -> type[Engine]:
    module, cls = ENGINE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def network_sizes(model_cfg, n_inputs: int, n_outputs: int) -> list[int]:
    return [n_inputs, *model_cfg.hidden, n_outputs]


# "auto" picks NumPy up to this many weights. Measured per training step (Adam, float32, batch 32 and 256,
# one thread each as in the app): NumPy 2.5-7x faster than torch up to ~17k weights, 1.3-3x at 66k-270k, and
# within 1.05-1.2x at 670k-1M, where both are bound by the same matrix products; there torch's multithreaded
# elementwise kernels and fused optimizers are the better bet as cores are added.
AUTO_NUMPY_MAX_WEIGHTS = 300_000


def resolve_engine(name: str, model_cfg, sizes: list[int], device: str = "auto") -> str:
    """The engine key to build: ``name`` itself, or for "auto" the faster engine for a network with layer
    ``sizes`` (per-step overhead dominates small networks, matrix products large ones). Only the torch
    engine runs convolutional models, and only it computes on an accelerator: a device asked for by name
    (cuda, mps) means torch."""
    if name != "auto":
        return name
    if model_cfg.kind != "mlp" or device not in ("auto", "cpu"):
        return "torch"
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return "numpy" if weights <= AUTO_NUMPY_MAX_WEIGHTS else "torch"


def make_engine(cfg, dataset, params=None) -> Engine:
    """Build the engine ``cfg.train.engine`` (resolving "auto") for ``dataset``, starting from ``params`` or
    the seeded init."""
    if cfg.model.kind == "cnn":
        return _make_cnn_engine(cfg, dataset, params)
    sizes = network_sizes(cfg.model, dataset.n_features, dataset.n_outputs)
    if params is None:
        params = init_params(cfg.model, sizes, seed=cfg.data.seed)
    name = resolve_engine(cfg.train.engine, cfg.model, sizes, cfg.train.device)
    return engine_class(name)(cfg.model, cfg.train, sizes, dataset.task, params, cfg.data.seed)


def _make_cnn_engine(cfg, dataset, params) -> Engine:
    """The CNN runs on the torch engine only ("auto" picks it)."""
    if dataset.image_shape is None:
        raise ConfigError(f"model cnn needs image data; {dataset.name} is not an image set: use model mlp", "kind")
    if cfg.train.engine == "numpy":
        raise ConfigError("engine numpy trains MLPs only; use engine torch (or auto) for model cnn", "engine")
    sizes = [cnn_dense_inputs(cfg.model, dataset.image_shape), *cfg.model.hidden, dataset.n_outputs]
    if params is None:
        params = init_cnn_params(cfg.model, dataset.image_shape, dataset.n_outputs, seed=cfg.data.seed)
    return engine_class("torch")(cfg.model, cfg.train, sizes, dataset.task, params, cfg.data.seed,
                                 image_shape=dataset.image_shape)
