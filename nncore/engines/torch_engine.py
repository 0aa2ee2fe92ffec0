"""PyTorch engine: torch.nn layers, torch.optim optimizers and torch.optim.lr_scheduler schedules.

Speed notes (see the guide): Adam/AdamW run fused; the training thread flushes denormals (Adam's moment
buffers decay into denormal floats that are ~10x slower). Building an engine never changes torch's thread
count (a process-wide setting): the entry points choose it (``nncore.engines.wants_one_thread``).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from nncore import features
from nncore.config import TrainConfig
from nncore.errors import ConfigError
from nncore.engines import BN_PARAMS, parameter_modules
from nncore.engines.base import Engine, check_params

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}

# Optimizer kind -> (class, fixed keyword arguments, settings read from TrainConfig that can change mid-run).
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {}, lambda t: {"lr": t.learning_rate}),
    "momentum": (torch.optim.SGD, {}, lambda t: {"lr": t.learning_rate, "momentum": t.momentum}),
    "nesterov": (torch.optim.SGD, {"nesterov": True}, lambda t: {"lr": t.learning_rate, "momentum": t.momentum}),
    "rmsprop": (torch.optim.RMSprop, {"alpha": 0.99, "eps": 1e-8}, lambda t: {"lr": t.learning_rate}),
    "adam": (torch.optim.Adam, {"eps": 1e-8, "fused": True},
             lambda t: {"lr": t.learning_rate, "betas": (t.beta1, t.beta2)}),
    "adamw": (torch.optim.AdamW, {"eps": 1e-8, "fused": True},
              lambda t: {"lr": t.learning_rate, "betas": (t.beta1, t.beta2), "weight_decay": t.weight_decay}),
}

SCHEDULES = {
    "constant": lambda opt, t: torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "step": lambda opt, t: torch.optim.lr_scheduler.StepLR(opt, step_size=t.step_size, gamma=t.gamma),
    "cosine": lambda opt, t: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t.epochs),
    "exponential": lambda opt, t: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=t.gamma),
}

LOSSES = {
    "softmax_ce": nn.CrossEntropyLoss,
    "sigmoid_bce": nn.BCEWithLogitsLoss,
    "mse": nn.MSELoss,
}


class SeededDropout(nn.Module):
    """Inverted dropout drawing masks from the engine's own generator, so a run's dropout depends on its
    seed alone and never on other sessions sharing the process-wide torch RNG."""

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return h
        keep = torch.rand(h.shape, generator=self.generator, dtype=h.dtype, device=h.device) >= self.p
        return h * keep / (1.0 - self.p)


class MLP(nn.Module):
    """Linear → [BatchNorm1d] → activation → [dropout] per hidden layer, then a Linear output layer.
    ``inputs``: input feature keys (``nncore.features``) computed from x (n, 2) first; None: x as it is."""

    def __init__(self, sizes, activation, batch_norm, dropout, generator, inputs=None):
        super().__init__()
        self.inputs = tuple(inputs) if inputs is not None else None
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        n_hidden = len(sizes) - 2
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in sizes[1:-1]) if batch_norm else None
        self.acts = nn.ModuleList(ACTIVATIONS[activation]() for _ in range(n_hidden))
        self.drop = SeededDropout(dropout, generator)

    def forward(self, x, trace=None):
        if self.inputs is not None:
            x = features.torch_apply(self.inputs, x)
        last = len(self.linears) - 1
        for i, linear in enumerate(self.linears):
            x = linear(x)
            if i == last:
                if trace is not None:
                    trace.append({"pre": x, "post": x})
                return x
            if self.norms is not None:
                x = self.norms[i](x)
            pre = x
            x = self.acts[i](x)
            if trace is not None:
                trace.append({"pre": pre, "post": x})
            x = self.drop(x)
        return x


class CNN(nn.Module):
    """Images: [3×3 conv (padding 1) → activation → 2×2 max pool] × 2, flatten, then an MLP head."""

    def __init__(self, image_shape, channels, sizes, activation, batch_norm, dropout, generator):
        super().__init__()
        self.image_shape = tuple(image_shape)
        ins = (1, *channels[:-1])
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(ins, channels))
        self.act = ACTIVATIONS[activation]()
        self.head = MLP(sizes, activation, batch_norm, dropout, generator)

    def forward(self, x, trace=None):
        x = x.reshape(-1, 1, *self.image_shape)
        for conv in self.convs:
            pre = conv(x)
            x = nn.functional.max_pool2d(self.act(pre), 2)
            if trace is not None:
                trace.append({"pre": pre, "post": x})
        return self.head(x.flatten(1), trace)


def build_network(model, sizes, generator: torch.Generator, image_shape=None) -> MLP | CNN:
    """The torch module of ``model`` (a ModelConfig) with dense layer ``sizes``: an MLP, or a CNN for images."""
    if model.kind == "cnn":
        return CNN(image_shape, model.channels, sizes, model.activation, model.batch_norm, model.dropout, generator)
    return MLP(sizes, model.activation, model.batch_norm, model.dropout, generator,
               inputs=features.active(model.inputs))


def layer_modules(net: MLP | CNN) -> list[tuple[nn.Module, nn.BatchNorm1d | None]]:
    """Each parameter layer of ``net`` (``Engine.get_params`` order: convolutions, then the dense layers) with
    the batch norm that follows it, or None (``engines.parameter_modules``; a CNN's dense layers are its head)."""
    mlp = net.head if isinstance(net, CNN) else net
    lists = {"convs": net.convs if isinstance(net, CNN) else [], "linears": mlp.linears, "norms": mlp.norms}

    def module(name):
        group, index = name.split(".")
        return lists[group][int(index)]

    layout = parameter_modules(len(lists["convs"]), len(mlp.linears), mlp.norms is not None)
    return [(module(m), module(n) if n else None) for m, n in layout]


@torch.no_grad()
def load_params(net: MLP | CNN, params: list[dict]) -> None:
    """Copy ``params`` (``Engine.get_params`` form) into ``net``, converting to its dtype and device."""
    for (module, bn), layer in zip(layer_modules(net), params):
        module.weight.copy_(torch.as_tensor(np.asarray(layer["W"])))
        module.bias.copy_(torch.as_tensor(np.asarray(layer["b"])))
        if bn is not None:
            for key, attr in BN_PARAMS:
                getattr(bn, attr).copy_(torch.as_tensor(np.asarray(layer[key])))


def read_params(net: MLP | CNN) -> list[dict]:
    """``net``'s parameters in ``Engine.get_params`` form (float64 NumPy copies)."""
    out = []
    for module, bn in layer_modules(net):
        layer = {"W": _numpy(module.weight), "b": _numpy(module.bias)}
        if bn is not None:
            layer.update({key: _numpy(getattr(bn, attr)) for key, attr in BN_PARAMS})
        out.append(layer)
    return out


class TorchEngine(Engine):
    name = "torch"

    def __init__(self, model, train, sizes, task, params, seed, image_shape=None):
        super().__init__(model, train, sizes, task, params, seed)
        self.tensor_dtype = torch.float64 if model.dtype == "float64" else torch.float32  # the dtype, in torch
        self.device = resolve_device(train.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.net = build_network(model, self.sizes, self.generator, image_shape)
        self.convs = list(self.net.convs) if model.kind == "cnn" else []
        self.net.to(device=self.device, dtype=self.tensor_dtype)
        self.layers = [module for module, _ in layer_modules(self.net)]  # input side first
        self.set_params(params)
        self.loss_fn = LOSSES[self.loss_name]()
        self.weights = [layer.weight for layer in self.layers]
        self.optimizer = None
        self.set_train_config(train, epoch=0)

    # --- training -------------------------------------------------------------------------------------
    def _target(self, y: np.ndarray) -> torch.Tensor:
        if self.task == "multiclass":
            return torch.from_numpy(np.asarray(y, dtype=np.int64)).to(self.device)
        return torch.from_numpy(np.asarray(y)).to(self.device, self.tensor_dtype).reshape(-1, 1)

    def _penalty(self) -> torch.Tensor | float:
        t = self.train_cfg
        penalty = 0.0
        if t.l1 > 0:
            penalty = penalty + t.l1 * sum(w.abs().sum() for w in self.weights)
        if t.l2 > 0:
            penalty = penalty + 0.5 * t.l2 * sum((w * w).sum() for w in self.weights)
        return penalty

    def train_step(self, X, y):
        self.net.train()
        self.optimizer.zero_grad(set_to_none=False)
        out = self.net(_tensor(X).to(self.device, self.tensor_dtype))
        loss = self.loss_fn(out, self._target(y))
        (loss + self._penalty()).backward()
        if self.train_cfg.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.train_cfg.clip_norm)
        self.optimizer.step()
        return loss.item()

    def end_epoch(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "scheduler.step() before optimizer.step()"
            self.scheduler.step()

    def set_train_config(self, train: TrainConfig, epoch: int):
        cls, fixed, knobs = OPTIMIZERS[train.optimizer]
        if self.optimizer is None or train.optimizer != self.train_cfg.optimizer:
            self.optimizer = cls(self.net.parameters(), **fixed, **knobs(train))
        else:
            for group in self.optimizer.param_groups:
                group.update(knobs(train))
        self.train_cfg = train
        # Rebuild the schedule from the (possibly new) base rate and replay the finished epochs.
        for group in self.optimizer.param_groups:
            group["lr"] = train.learning_rate
            group.pop("initial_lr", None)
        self.scheduler = SCHEDULES[train.schedule](self.optimizer, train)
        for _ in range(epoch):
            self.end_epoch()

    @property
    def lr(self):
        return float(self.optimizer.param_groups[0]["lr"])

    # --- inference ------------------------------------------------------------------------------------
    @torch.no_grad()
    def forward(self, X):
        self.net.eval()
        return _numpy(self.net(_tensor(X).to(self.device, self.tensor_dtype)))

    @torch.no_grad()
    def trace(self, X):
        self.net.eval()
        layers = []
        self.net(_tensor(X).to(self.device, self.tensor_dtype), trace=layers)
        return [{k: _numpy(v) for k, v in layer.items()} for layer in layers]

    @property
    def layer_names(self):
        return [f"conv {i + 1}" for i in range(len(self.convs))] + super().layer_names

    # --- parameters -------------------------------------------------------------------------------------
    def get_params(self):
        return read_params(self.net)

    def set_params(self, params):
        check_params(params, self.model.dtype, len(self.layers))
        load_params(self.net, params)

    def grads(self):
        return [{"W": _grad(lin.weight), "b": _grad(lin.bias)} for lin in self.layers]

    def grad_norms(self):
        if self.weights[0].grad is None:  # before the first step
            return np.zeros(len(self.weights))
        with torch.no_grad():
            return _numpy(torch.stack([torch.linalg.vector_norm(w.grad) for w in self.weights]))


def _numpy(t: torch.Tensor) -> np.ndarray:
    """A float64 NumPy copy of a tensor on any device."""
    return t.detach().to("cpu", torch.float64).numpy().copy()


def available_devices() -> list[str]:
    """Accelerators torch can use here, after the CPU."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> str:
    """The device key (cpu, cuda, mps) the engine computes on, a plain string as on every engine: ``auto`` =
    CUDA, else Apple MPS, else the CPU; a named device that is not here is a ConfigError."""
    found = available_devices()
    if name == "auto":
        return found[-1] if len(found) > 1 else "cpu"
    if name not in found:
        raise ConfigError(f"device must be one available here ({', '.join(['auto', *found])}), got {name!r}",
                          "device")
    return name


def _tensor(X) -> torch.Tensor:
    """A tensor view of an input array (copied only when the array is read-only, e.g. shared data)."""
    return torch.from_numpy(np.require(X, requirements="W"))


def _grad(p: torch.Tensor) -> np.ndarray:
    """float64 copy of a parameter's gradient; zeros before the first step."""
    if p.grad is None:
        return np.zeros(tuple(p.shape))
    return _numpy(p.grad)
