"""Steering a run from outside while it goes on: new training settings (another engine may take over the same
weights), one weight set by hand, weights loaded from a checkpoint; and which engine computes."""

from __future__ import annotations

import math

from nncore.config import TrainConfig
from nncore.engines import make_engine


class Steering:
    """The Trainer's methods for changing a run mid-way (a base of ``Trainer``)."""

    def update_train(self, train: TrainConfig) -> None:
        """Change training settings mid-run (learning rate, optimizer, batch size, ...) without a reset."""
        if train == self.cfg.train:
            return
        cfg = self.cfg.replace(train=train)
        if train.engine != self.cfg.train.engine or train.device != self.cfg.train.device:
            # Another engine takes over the same weights (optimizer moments start afresh).
            engine = make_engine(cfg, self.dataset, params=self.engine.get_params())
            engine.set_train_config(train, self.epoch)
            self.engine = engine
        else:
            self.engine.set_train_config(train, self.epoch)
        self.cfg = cfg
        if self.status == "done" and self.epoch < train.epochs:
            self.status, self.message = "running", ""  # more epochs allowed now: carry on

    def set_weight(self, layer: int, source: int, target: int, value: float) -> float:
        """Set one weight by hand: the weight from unit ``source`` of layer ``layer`` (0 = the inputs) to unit
        ``target`` of the next layer, in the running engine. The run goes on from the edited weights; they are
        its last finite state, and the moment kept for time travel at this step holds them too. Returns the
        weight as the network's float type stores it."""
        params = self.engine.get_params()
        if not 0 <= layer < len(params):
            raise ValueError(f"layer {layer} does not exist: the network has {len(params)} weight layers")
        W = params[layer]["W"]  # (fan_out, fan_in)
        if W.ndim != 2 or not (0 <= target < W.shape[0] and 0 <= source < W.shape[1]):
            raise ValueError(f"no weight from unit {source} to unit {target} in layer {layer} (shape "
                             f"{W.shape[1]} -> {W.shape[0]})")
        if not math.isfinite(value):
            raise ValueError(f"a weight must be a finite number, got {value}")
        W[target, source] = value
        self.engine.set_params(params)  # refuses values the float type cannot hold, changing nothing
        self._safe_params = self.engine.get_params()
        self.kept.edited(self.step, self._safe_params)
        self.edits += 1
        return float(self._safe_params[layer]["W"][target, source])

    def load_params(self, params: list[dict]) -> None:
        """Start from these weights (e.g. a checkpoint's); they also become the run's last finite state."""
        self.engine.set_params(params)
        self._safe_params = self.engine.get_params()

    @property
    def engine_label(self) -> str:
        """Which engine computes, and where: "torch on cpu", "numpy on cpu", "torch on cuda"."""
        return f"{self.engine.name} on {self.engine.device}"
