"""Races: a few configurations trained in lockstep on the same data, the same seed and the same batches.

A ``Race`` builds one Dataset (from the shared DataConfig) and one Trainer per racer on that very object.
Trainers with the same data seed shuffle identically (their batch order comes from ``[seed, 1]``), so with
the same batch size every racer sees the same mini-batches in the same order; ``run(steps)`` advances each
racer by the same number of optimizer steps, so after every call they stand at the same step. Differences
between the racers' curves and boundaries therefore come from their own settings only.

One exception to "same batches": with batch norm on, a lone leftover sample at the end of an epoch is
skipped (it cannot be normalized), so a batch-norm racer moves one batch ahead of the others on datasets
whose training split leaves exactly one sample over.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import fields

from nncore.config import RunConfig
from nncore.data import Dataset, make_dataset
from nncore.errors import ConfigError
from nncore.train.snapshot import Snapshot
from nncore.train.trainer import Trainer

# Training settings that decide what a mini-batch holds: racers must agree on them to see the same batches.
BATCH_FIELDS = ("batch_size", "augment_flip", "augment_shift", "augment_rotate")
MIN_RACERS = 2
MAX_STEPS_PER_CALL = 10_000  # cap for time-budgeted calls (a finished race costs nothing per step)


def check_racers(configs: Mapping[str, RunConfig]) -> None:
    """Raise ConfigError unless there are at least two racers sharing the data and batch settings; the
    message names the first field that differs, the two racers and both values."""
    if len(configs) < MIN_RACERS:
        raise ConfigError(f"a race needs at least {MIN_RACERS} racers, got {len(configs)}", "racers")
    (first_name, first), *others = configs.items()
    for name, cfg in others:
        for section, names in (("data", [f.name for f in fields(first.data)]), ("train", BATCH_FIELDS)):
            ours, theirs = getattr(first, section), getattr(cfg, section)
            for field_name in names:
                a, b = getattr(ours, field_name), getattr(theirs, field_name)
                if a != b:
                    raise ConfigError(
                        f"racers must share {section}.{field_name} (same data, same batches): "
                        f"{first_name} has {a!r}, {name} has {b!r}", field_name)


class Race:
    """Trainers that share one Dataset and advance together. ``configs``: racer name -> RunConfig; the
    first one's DataConfig builds the data unless ``dataset`` (built from that same DataConfig) is given."""

    def __init__(self, configs: Mapping[str, RunConfig], dataset: Dataset | None = None):
        check_racers(configs)
        self.configs = dict(configs)
        first = next(iter(self.configs.values()))
        # ``dataset``: one already built from the shared DataConfig (an uploaded table cannot be rebuilt
        # from its config alone); by default the race builds it.
        self.dataset = dataset if dataset is not None else make_dataset(first.data)
        self.trainers = {name: Trainer(cfg, self.dataset) for name, cfg in self.configs.items()}
        self._next_steps = 1  # steps the next time-budgeted call takes (adapted to the measured speed)

    @property
    def running(self) -> bool:
        """True while at least one racer can still train (the others have finished, diverged or stopped)."""
        return any(t.running for t in self.trainers.values())

    @property
    def step(self) -> int:
        """Steps taken by the racers still in the race (all of them, while none has stopped)."""
        return max(t.step for t in self.trainers.values())

    def run(self, steps: int) -> dict[str, Snapshot]:
        """Advance every racer that can still train by ``steps`` optimizer steps; one snapshot per racer."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        return {name: trainer.run(steps=steps) for name, trainer in self.trainers.items()}

    def run_for(self, seconds: float) -> dict[str, Snapshot]:
        """Advance in lockstep by as many steps as fit in about ``seconds`` of wall time (all racers
        together, snapshots included), judged from the previous call; the first call takes one step."""
        steps = self._next_steps
        start = time.perf_counter()
        snapshots = self.run(steps)
        elapsed = max(time.perf_counter() - start, 1e-6)
        # Scale the step count towards the budget, at most 4x either way per call, so one slow call on a
        # shared machine does not swing the next one wildly.
        factor = min(max(seconds / elapsed, 0.25), 4.0)
        self._next_steps = int(min(max(round(steps * factor), 1), MAX_STEPS_PER_CALL))
        return snapshots

    def snapshots(self) -> dict[str, Snapshot]:
        """The racers as they are now, without training."""
        return {name: trainer.snapshot() for name, trainer in self.trainers.items()}
