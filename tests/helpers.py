"""Small builders shared by the tests: configs from keyword settings, and train-to-the-end."""

from __future__ import annotations

from dataclasses import fields

from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.training import Snapshot, Trainer


def make_cfg(**settings) -> RunConfig:
    """A RunConfig from flat keyword settings, each routed to the section that owns it."""
    parts = {DataConfig: {}, ModelConfig: {}, TrainConfig: {}}
    for key, value in settings.items():
        owner = next((kind for kind in parts if key in {f.name for f in fields(kind)}), None)
        if owner is None:
            raise KeyError(key)
        parts[owner][key] = value
    return RunConfig(DataConfig(**parts[DataConfig]), ModelConfig(**parts[ModelConfig]),
                     TrainConfig(**parts[TrainConfig]))


def train(**settings) -> tuple[Trainer, Snapshot]:
    """Train a run to its end (epochs, early stop or divergence) and return the trainer and last snapshot."""
    trainer = Trainer(make_cfg(**settings))
    snap = trainer.snapshot()
    while trainer.running:
        snap = trainer.run(steps=5000)
    return trainer, snap
