"""Engines: interchangeable ways to compute the same network (see ``base.Engine``).

Engine modules are imported on first use, so choosing one never pays for importing another.
"""

from __future__ import annotations

import importlib

from ..init import init_params
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


def make_engine(cfg, dataset, params=None) -> Engine:
    """Build the engine ``cfg.train.engine`` for ``dataset``, starting from ``params`` or the seeded init."""
    sizes = network_sizes(cfg.model, dataset.n_features, dataset.n_outputs)
    if params is None:
        params = init_params(cfg.model, sizes, seed=cfg.data.seed)
    return engine_class(cfg.train.engine)(cfg.model, cfg.train, sizes, dataset.task, params, cfg.data.seed)
