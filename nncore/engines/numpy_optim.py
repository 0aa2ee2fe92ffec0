"""Optimizers and learning-rate schedules of the NumPy engine, written to match torch.optim step for step.

An optimizer updates one flat parameter vector ``p`` (P,) in place from its gradient ``g`` (P,); every
state buffer is a flat (P,) array too, so one update is a handful of vectorized operations whatever the
network's depth. Buffers are updated in place through one scratch vector to keep allocations out of the
training loop.

Denormal floats (below ``finfo.tiny``) make NumPy arithmetic ~10x slower, and decaying moment buffers
(Adam's second moment shrinks by beta2 per step where gradients are zero) drift into that range; every
``FLUSH_EVERY`` steps such entries are set to zero, as a CPU's flush-to-zero mode would.
"""

from __future__ import annotations

import math

import numpy as np

FLUSH_EVERY = 64


def _flush(buf: np.ndarray, tiny: float, tmp: np.ndarray) -> None:
    """Zero the entries of ``buf`` whose magnitude is below ``tiny`` (denormals)."""
    np.abs(buf, out=tmp)
    np.copyto(buf, 0, where=tmp < tiny)


class Optimizer:
    """Base: holds the knobs read from a TrainConfig and a scratch vector; ``step`` updates in place."""

    def __init__(self, size: int, dtype):
        self.tmp = np.empty(size, dtype=dtype)
        self.tiny = float(np.finfo(dtype).tiny)
        self.steps = 0
        self.buffers: list[np.ndarray] = []

    def configure(self, train) -> None:
        """Read the settings that may change mid-run (state is kept)."""

    def step(self, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        self.steps += 1
        self._update(p, g, lr)
        if self.steps % FLUSH_EVERY == 0:
            for buf in self.buffers:
                _flush(buf, self.tiny, self.tmp)

    def _update(self, p, g, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """p ← p − lr·g."""

    def _update(self, p, g, lr):
        np.multiply(g, lr, out=self.tmp)
        p -= self.tmp


class Momentum(Optimizer):
    """Heavy ball as torch.optim.SGD(momentum=μ, dampening=0): buf ← μ·buf + g (buf = g at first),
    p ← p − lr·buf; with ``nesterov`` the step uses g + μ·buf instead."""

    nesterov = False

    def configure(self, train):
        self.mu = train.momentum

    def _update(self, p, g, lr):
        tmp = self.tmp
        if not self.buffers:
            self.buffers.append(g.copy())
        else:
            buf = self.buffers[0]
            buf *= self.mu
            buf += g
        buf = self.buffers[0]
        if self.nesterov:
            np.multiply(buf, self.mu, out=tmp)
            tmp += g
            tmp *= lr
        else:
            np.multiply(buf, lr, out=tmp)
        p -= tmp


class Nesterov(Momentum):
    nesterov = True


class RMSprop(Optimizer):
    """torch.optim.RMSprop(alpha=0.99, eps=1e-8): v ← α·v + (1−α)·g², p ← p − lr·g / (√v + eps)."""

    alpha, eps = 0.99, 1e-8

    def __init__(self, size, dtype):
        super().__init__(size, dtype)
        self.buffers = [np.zeros(size, dtype=dtype)]

    def _update(self, p, g, lr):
        v, tmp = self.buffers[0], self.tmp
        v *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.alpha
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp


class Adam(Optimizer):
    """torch.optim.Adam(eps=1e-8): m ← m + (1−β1)(g − m), v ← β2·v + (1−β2)·g²,
    p ← p − lr/(1−β1^t) · m / (√v / √(1−β2^t) + eps). AdamW first decays p ← p·(1 − lr·wd)."""

    eps = 1e-8
    decoupled = False

    def __init__(self, size, dtype):
        super().__init__(size, dtype)
        self.buffers = [np.zeros(size, dtype=dtype), np.zeros(size, dtype=dtype)]

    def configure(self, train):
        self.beta1, self.beta2 = train.beta1, train.beta2
        self.weight_decay = train.weight_decay

    def _update(self, p, g, lr):
        m, v = self.buffers
        tmp = self.tmp
        t = self.steps
        if self.decoupled:
            p *= 1 - lr * self.weight_decay
        np.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta1
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - self.beta2 ** t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1 - self.beta1 ** t)
        p -= tmp


class AdamW(Adam):
    decoupled = True


# Keyed like nncore.registry.OPTIMIZERS.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
}


# --- schedules: (lr after epoch e-1, base lr, e, TrainConfig) -> lr after epoch e ----------------------------
# Written in torch.optim.lr_scheduler's recursive form, so the rates agree with torch to the last bit.
def _constant(lr, base, e, t):
    return lr


def _step(lr, base, e, t):
    return lr * t.gamma if e % t.step_size == 0 else lr


def _exponential(lr, base, e, t):
    return lr * t.gamma


def _cosine(lr, base, e, t):
    """CosineAnnealingLR(T_max=epochs, eta_min=0): base·(1 + cos(π·e/T))/2, periodic past T."""
    T = t.epochs
    if (e - 1 - T) % (2 * T) == 0:
        return lr + base * (1 - math.cos(math.pi / T)) / 2
    return (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * lr


SCHEDULES = {"constant": _constant, "step": _step, "cosine": _cosine, "exponential": _exponential}


def scheduled_lr(train, epoch: int) -> float:
    """The learning rate after ``epoch`` finished epochs, starting from ``train.learning_rate``."""
    lr = train.learning_rate
    next_lr = SCHEDULES[train.schedule]
    for e in range(1, epoch + 1):
        lr = next_lr(lr, train.learning_rate, e, train)
    return lr
