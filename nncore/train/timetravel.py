"""Time travel: the moments a run keeps (its weights at the end of some epochs), a look back at one of them,
and a new run that branches from one (``Trainer.from_kept``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nncore.config import TrainConfig
from nncore.engines import make_engine
from nncore.train.recording import Recording
from nncore.train.snapshot import Snapshot

KEEP_BYTES = 32 * 2**20  # weights kept per run at most this big (every other epoch dropped beyond)
MAX_KEPT = 64            # ... and at most this many epochs kept


@dataclass(frozen=True)
class Kept:
    """A moment a run can travel back to: the end of ``epoch`` (0 = before training)."""

    epoch: int
    step: int
    params: list
    rng_state: dict         # the shuffling generator's state, so a branch sees the same batches
    order: np.ndarray       # the next epoch's sample order


class KeptMoments:
    """The kept moments of one run, oldest first, in bounded memory: at most KEEP_BYTES of weights and
    MAX_KEPT moments; beyond that every other one is dropped (the start stays) and epochs are kept half as
    often."""

    def __init__(self, weights_bytes: int):
        self.limit = int(np.clip(KEEP_BYTES // max(weights_bytes, 1), 2, MAX_KEPT))
        self.every = 1  # a moment every this many epochs
        self.moments: list[Kept] = []

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def keep(self, moment: Kept) -> None:
        self.moments.append(moment)
        if len(self.moments) > self.limit:
            self.moments = self.moments[::2]
            self.every *= 2

    def edited(self, step: int, params: list) -> None:
        """Weights set by hand at ``step``: the moment kept at that step (if any) holds them instead."""
        if self.moments and self.moments[-1].step == step:
            last = self.moments[-1]
            self.moments[-1] = Kept(last.epoch, last.step, params, last.rng_state, last.order)

    def epochs(self) -> list[int]:
        return [k.epoch for k in self.moments]

    def at(self, epoch: int) -> Kept:
        for k in self.moments:
            if k.epoch == epoch:
                return k
        raise ValueError(f"epoch {epoch} is not kept; kept: {self.epochs()}")

    def until(self, epoch: int) -> KeptMoments:
        """A copy holding the moments up to ``epoch``."""
        other = KeptMoments(0)
        other.limit, other.every = self.limit, self.every
        other.moments = [k for k in self.moments if k.epoch <= epoch]
        return other


@dataclass(frozen=True)
class BranchPoint:
    """Where a branch of a run starts: a kept moment, what was recorded until then, the moments kept until
    then."""

    kept: Kept
    recording: Recording
    moments: KeptMoments


class TimeTravel:
    """The Trainer's time travel (a base of ``Trainer``): keeping moments, looking at one, branching from one."""

    def _keep(self) -> None:
        self.kept.keep(Kept(self.epoch, self.step, self._safe_params, self._rng.bit_generator.state,
                            self._order.copy()))

    def _start_from(self, point: BranchPoint) -> None:
        """Take over a kept moment's weights, batch order, records and kept moments (a new branch)."""
        kept = point.kept
        self.load_params(kept.params)
        self.engine.set_train_config(self.cfg.train, kept.epoch)  # the schedule resumes at that epoch
        self.step, self.epoch, self._safe_point = kept.step, kept.epoch, (kept.epoch, kept.step)
        self._rng.bit_generator.state = kept.rng_state
        self._order = kept.order.copy()
        self.recording, self.kept = point.recording, point.moments

    @classmethod
    def from_kept(cls, source, epoch: int, train: TrainConfig | None = None):
        """A new run (a Trainer) that continues from the end of ``source``'s kept ``epoch`` with ``train``
        settings (default: the same): same data, same weights, same next batches; records up to that epoch.
        The optimizer's moments start afresh; the schedule resumes at that epoch. ``source`` is only read."""
        kept = source.kept.at(epoch)
        point = BranchPoint(kept, source.recording.until(epoch, kept.step), source.kept.until(epoch))
        cfg = source.cfg if train is None else source.cfg.replace(train=train)
        return cls(cfg, source.dataset, start=point)

    def kept_epochs(self) -> list[int]:
        """Epochs the run can travel back to (0 = before training), oldest first."""
        return self.kept.epochs()

    def engine_at(self, epoch: int):
        """An engine holding the weights of the end of a kept ``epoch`` (for looking at that moment)."""
        return make_engine(self.cfg, self.dataset, params=self.kept.at(epoch).params)

    def snapshot_at(self, epoch: int) -> Snapshot:
        """The run as it was at the end of a kept ``epoch``: curves and histograms of that moment (its
        boundary: ``boundary_grid(self.engine_at(epoch), self.dataset)``)."""
        kept = self.kept.at(epoch)
        return Snapshot(step=kept.step, epoch=epoch, status="ready", message="",
                        **self.recording.until(epoch, kept.step).arrays(),
                        layer_names=tuple(self.engine.layer_names), steps_per_sec=0.0, lr=self.engine.lr,
                        task=self.dataset.task, config=self.cfg)
