"""Engines: interchangeable ways to compute the same network (see ``base.Engine``).

Engine modules are imported on first use, so choosing one never pays for importing another.
"""

from __future__ import annotations

import importlib
import os

from nncore.errors import ConfigError
from nncore.features import DEFAULT_INPUTS, check_inputs, input_width
from nncore.engines.init import cnn_dense_inputs, init_cnn_params, init_params
from nncore.engines.base import Engine

# Engine key -> "module:Class", loaded lazily.
ENGINE_CLASSES = {
    "torch": "nncore.engines.torch_engine:TorchEngine",
    "numpy": "nncore.engines.numpy_engine:NumpyEngine",
}


def engine_class(name: str) -> type[Engine]:
    module, cls = ENGINE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def network_sizes(model_cfg, n_inputs: int, n_outputs: int) -> list[int]:
    """[first layer's fan-in, hidden widths..., outputs] for data with ``n_inputs`` features: the fan-in is one
    per input feature (``model_cfg.inputs``), or the data's features for the default inputs. Non-default
    inputs on data without exactly 2 features are a ConfigError."""
    inputs = getattr(model_cfg, "inputs", DEFAULT_INPUTS)
    check_inputs(inputs, n_inputs)
    return [input_width(inputs, n_inputs), *model_cfg.hidden, n_outputs]


def layer_weights(sizes: list[int]) -> list[int]:
    """Weights (biases aside) of each dense layer of a network with layer ``sizes`` (fan-in first)."""
    return [a * b for a, b in zip(sizes[:-1], sizes[1:])]


def dense_weights(sizes: list[int]) -> int:
    """Weights (biases aside) in the dense layers of a network with layer ``sizes``."""
    return sum(layer_weights(sizes))


BN_PARAMS = (("gamma", "weight"), ("beta", "bias"), ("running_mean", "running_mean"), ("running_var", "running_var"))


def parameter_modules(n_convs: int, n_dense: int, batch_norm: bool) -> list[tuple[str, str | None]]:
    """Where each layer of ``Engine.get_params`` lives in a torch network with ``convs``, ``linears`` and
    ``norms`` module lists: (the module holding its W and b, the batch norm after it or None). Batch norm
    follows every dense layer but the output one; ``BN_PARAMS`` pairs its parameters with their torch names."""
    return ([(f"convs.{i}", None) for i in range(n_convs)]
            + [(f"linears.{j}", f"norms.{j}" if batch_norm and j < n_dense - 1 else None) for j in range(n_dense)])


# "auto" compares the engines' expected time per training step on the CPU:
#     layers · dispatch  +  weights · update  +  6 · batch · weights / (GEMM_FLOPS_PER_THREAD · threads)
# dispatch: the fixed cost per layer and step (torch's autograd and kernel launches, NumPy's Python calls);
# update: the optimizer's passes over every weight; the matrix products run at the same BLAS speed on both.
# The constants are fitted to measured step times (docs/measurements.md): NumPy is faster until a layer holds
# about 350k weights on average. ``python -m nncore bench auto`` measures both beside the choice.
ENGINE_STEP_COSTS = {  # engine -> (seconds per layer, seconds per weight) of one training step
    "numpy": (20e-6, 2.0e-9),
    "torch": (90e-6, 1.8e-9),
}
GEMM_FLOPS_PER_THREAD = 100e9


def _threads() -> int:
    """Threads the matrix products may use: OMP_NUM_THREADS where set (the app sets 1), else every core."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


def step_seconds(engine: str, sizes: list[int], batch_size: int, threads: int | None = None) -> float:
    """The cost model's estimate of one training step of an MLP with layer ``sizes`` on ``engine``."""
    per_layer, per_weight = ENGINE_STEP_COSTS[engine]
    weights = dense_weights(sizes)
    flops = 6.0 * batch_size * weights
    return ((len(sizes) - 1) * per_layer + weights * per_weight
            + flops / (GEMM_FLOPS_PER_THREAD * (threads or _threads())))


def resolve_engine(name: str, model_cfg, sizes: list[int], device: str = "auto", batch_size: int = 32) -> str:
    """The engine key to build: ``name`` itself, or for "auto" the engine with the lower estimated step time
    (``step_seconds``) for a network with layer ``sizes``. Only the torch engine runs convolutional models,
    and only it computes on an accelerator: a device asked for by name (cuda, mps) means torch."""
    if name != "auto":
        return name
    if model_cfg.kind != "mlp" or device not in ("auto", "cpu"):
        return "torch"
    numpy_s, torch_s = (step_seconds(e, sizes, batch_size) for e in ("numpy", "torch"))
    return "numpy" if numpy_s <= torch_s else "torch"


SMALL_NETWORK_WEIGHTS = 100_000  # below this many weights, a torch MLP on the CPU computes best on one thread


def wants_one_thread(engine: Engine) -> bool:
    """Whether torch should compute ``engine``'s network on one thread: a torch MLP on the CPU with fewer than
    ``SMALL_NETWORK_WEIGHTS`` weights, whose matrices are too small to split (extra threads only spin, and on a
    busy machine that slows training several times). The thread count is per process, so engines never set
    it: the entry points do (app.py through OMP_NUM_THREADS, the CLI and the benchmarks ``set_threads_for``)."""
    if engine.name != "torch" or engine.device != "cpu" or engine.model.kind != "mlp":
        return False
    return dense_weights(engine.sizes) < SMALL_NETWORK_WEIGHTS


def set_threads_for(engine: Engine) -> None:
    """For an entry point that has built the engine it will train: one torch thread where ``wants_one_thread``
    says so; otherwise torch's thread count stays as it is."""
    if wants_one_thread(engine):
        import torch
        torch.set_num_threads(1)


def make_engine(cfg, dataset, params=None) -> Engine:
    """Build the engine ``cfg.train.engine`` (resolving "auto") for ``dataset``, starting from ``params`` or
    the seeded init."""
    if cfg.model.kind == "cnn":
        return _make_cnn_engine(cfg, dataset, params)
    check_inputs(cfg.model.inputs, dataset.n_features, dataset.name)
    sizes = network_sizes(cfg.model, dataset.n_features, dataset.n_outputs)
    if params is None:
        params = init_params(cfg.model, sizes, seed=cfg.data.seed)
    name = resolve_engine(cfg.train.engine, cfg.model, sizes, cfg.train.device, cfg.train.batch_size)
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
