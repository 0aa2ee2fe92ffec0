"""The NumPy engine's parameter layout: every trainable array is a view into one flat vector.

Order: every layer's ``W`` (fan_out, fan_in), then every ``b``, then batch norm's ``gamma``, then ``beta``
(one per hidden layer). The weights come first so the L1/L2 penalties, which cover weights only, act on one
contiguous block; the optimizer and gradient clipping act on the whole vector at once.
"""

from __future__ import annotations

import numpy as np


class FlatLayout:
    """Views into one flat vector: ``W[i]`` (fan_out, fan_in), ``b[i]`` (fan_out,), ``gamma[j]``/``beta[j]``
    (width,) for hidden layer j when batch norm is on; ``weights`` is the leading block of all ``W``."""

    def __init__(self, flat: np.ndarray, sizes: list[int], batch_norm: bool):
        pairs = list(zip(sizes[:-1], sizes[1:]))
        self.W, self.b, self.gamma, self.beta = [], [], [], []
        at = 0
        for fan_in, fan_out in pairs:
            self.W.append(flat[at:at + fan_in * fan_out].reshape(fan_out, fan_in))
            at += fan_in * fan_out
        self.weights = flat[:at]
        for _, fan_out in pairs:
            self.b.append(flat[at:at + fan_out])
            at += fan_out
        for name in ("gamma", "beta"):
            for width in sizes[1:-1] if batch_norm else []:
                getattr(self, name).append(flat[at:at + width])
                at += width

    @staticmethod
    def size(sizes: list[int], batch_norm: bool) -> int:
        n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        return n + (2 * sum(sizes[1:-1]) if batch_norm else 0)


def layer_dicts(layout: FlatLayout, with_bn: bool = True, copy: bool = True) -> list[dict[str, np.ndarray]]:
    """One dict per layer: ``W``, ``b`` [, ``gamma``, ``beta`` when ``with_bn`` and present], as float64
    copies or (``copy=False``) as the live views."""
    out = []
    for i in range(len(layout.W)):
        layer = {"W": layout.W[i], "b": layout.b[i]}
        if with_bn and i < len(layout.gamma):
            layer.update(gamma=layout.gamma[i], beta=layout.beta[i])
        out.append({k: v.astype(np.float64) for k, v in layer.items()} if copy else layer)
    return out
