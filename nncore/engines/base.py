"""The Engine interface: what the Trainer needs from a way of computing a network.

Engines are interchangeable: same initial parameters (``nncore.engines.init.init_params``), same batches from the
Trainer, same results. Arrays crossing this interface are NumPy; shapes are given per method.

Parameters travel as a list with one dict per Linear layer (input side first):
``W`` (fan_out, fan_in), ``b`` (fan_out,), and for hidden layers with batch norm also ``gamma``, ``beta``,
``running_mean``, ``running_var`` (fan_out,).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from nncore.config import ModelConfig, TrainConfig
from nncore.errors import ConfigError
from nncore.registry import TASK_LOSS


def check_params(params: list[dict[str, np.ndarray]], dtype, n_layers: int) -> None:
    """Refuse parameters the network cannot hold: a list for another number of layers than ``n_layers`` (a
    ValueError), NaN or infinite values, or values beyond ``dtype``'s largest finite number (float64 1e300 in a
    float32 network would be inf, and the run diverge at its first step). The ConfigError names the tensor, as a
    checkpoint does (``layers.{i}.{key}``)."""
    if len(params) != n_layers:
        raise ValueError(f"expected parameters for {n_layers} layers, got {len(params)}")
    limit = float(np.finfo(dtype).max)
    for i, layer in enumerate(params):
        for key, value in layer.items():
            value = np.asarray(value)
            name = f"layers.{i}.{key}"
            if value.dtype.kind not in "fiu":
                raise ConfigError(f"parameter {name} must hold numbers, got {value.dtype}", "params")
            if value.size and not np.isfinite(value).all():
                raise ConfigError(f"parameter {name} holds NaN or infinite values", "params")
            if value.size and float(np.abs(value).max()) > limit:
                raise ConfigError(f"parameter {name} holds {float(np.abs(value).max()):.3g}, beyond the "
                                  f"{np.dtype(dtype).name} network's range (±{limit:.3g}); use a float64 "
                                  f"network or smaller weights", "params")


class Engine(ABC):
    """One network plus its optimizer and learning-rate schedule."""

    name: str = "?"
    device: str = "cpu"   # where the arithmetic runs, a key of config.DEVICES (cpu, cuda, mps; torch may use
    #                       an accelerator, NumPy always computes on the CPU)

    def __init__(self, model: ModelConfig, train: TrainConfig, sizes: list[int], task: str,
                 params: list[dict[str, np.ndarray]], seed: int):
        """``sizes`` = [inputs, hidden..., outputs]; ``task`` is binary, multiclass or regression;
        ``params`` the initial parameters (copied); ``seed`` drives dropout masks."""
        self.model = model
        self.dtype = np.dtype(model.dtype)  # the network's float type, a NumPy dtype on every engine
        self.train_cfg = train
        self.sizes = list(sizes)
        self.task = task
        self.loss_name = TASK_LOSS[task]
        self.seed = seed

    @property
    def layer_names(self) -> list[str]:
        n = len(self.sizes) - 1
        return [f"hidden {i + 1}" if i < n - 1 else "output" for i in range(n)]

    # --- training -------------------------------------------------------------------------------------
    @abstractmethod
    def train_step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One optimizer update on a batch X (B, d), y (B,). Returns the batch's data loss (without the
        L1/L2 penalty), computed before the update. Gradients of this step stay readable afterwards."""

    @abstractmethod
    def end_epoch(self) -> None:
        """Advance the learning-rate schedule by one epoch."""

    @abstractmethod
    def set_train_config(self, train: TrainConfig, epoch: int) -> None:
        """Apply changed training settings mid-run, keeping weights (and optimizer state when the optimizer
        kind is unchanged). ``epoch`` is how many epochs have finished, for the schedule."""

    @property
    @abstractmethod
    def lr(self) -> float:
        """The learning rate the next step will use (after the schedule)."""

    # --- inference ------------------------------------------------------------------------------------
    @abstractmethod
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Network outputs in eval mode (no dropout, batch-norm running stats): (n, outputs) float64."""

    @abstractmethod
    def trace(self, X: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per layer in eval mode: ``pre`` (n, fan_out) before the activation (after batch norm) and
        ``post`` (n, fan_out) after it (the output layer's ``post`` equals ``pre``)."""

    # --- parameters -------------------------------------------------------------------------------------
    @abstractmethod
    def get_params(self) -> list[dict[str, np.ndarray]]:
        """A float64 copy of all parameters and batch-norm statistics."""

    @abstractmethod
    def set_params(self, params: list[dict[str, np.ndarray]]) -> None:
        """Load parameters (as from ``get_params``); optimizer state is kept. Values that are not finite or do
        not fit the network's float type are refused (``check_params``) before anything is changed."""

    @abstractmethod
    def grads(self) -> list[dict[str, np.ndarray]]:
        """float64 copies of the last step's gradients of the total loss (after clipping): ``W``, ``b``."""

    @abstractmethod
    def grad_norms(self) -> np.ndarray:
        """L2 norm of each layer's weight gradient from the last step: (n_layers,)."""
