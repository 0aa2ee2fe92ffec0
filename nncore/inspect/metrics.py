"""Engine-independent metrics: losses, accuracy, R², and histograms on fixed bins.

Engines return raw network outputs (logits or values); everything a user reads as a number is computed
here once, in float64, so both engines are judged by the same code.
"""

from __future__ import annotations

import math

import numpy as np


def finite_or_none(value):
    """``value``, or None where it is a NaN or infinite float (JSON has no such numbers)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for large logits. z: (n, K)."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings for large |z|."""
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def probabilities(outputs: np.ndarray, task: str) -> np.ndarray:
    """Class probabilities (n, K) from network outputs; for regression the values (n,)."""
    z = np.asarray(outputs, dtype=np.float64)
    if task == "multiclass":
        return np.exp(log_softmax(z))
    if task == "binary":
        p = sigmoid(z.reshape(-1))
        return np.stack([1.0 - p, p], axis=1)
    return z.reshape(-1)


def data_loss(outputs: np.ndarray, y: np.ndarray, task: str) -> float:
    """Mean loss of the task (softmax CE, sigmoid BCE or MSE); no regularization term."""
    z = np.asarray(outputs, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # a diverged network yields NaN, reported as such
        return _data_loss(z, y, task)


def _data_loss(z: np.ndarray, y: np.ndarray, task: str) -> float:
    if task == "multiclass":
        return float(-log_softmax(z)[np.arange(len(y)), y].mean())
    if task == "binary":
        z = z.reshape(-1)
        # BCE with logits: max(z,0) - z*y + log(1 + e^-|z|)
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    return float(np.mean((z.reshape(-1) - y) ** 2))


def accuracy(outputs: np.ndarray, y: np.ndarray, task: str) -> float | None:
    """Share of correct predictions; None for regression (see ``r2``)."""
    if task == "regression":
        return None
    z = np.asarray(outputs)
    pred = z.argmax(axis=1) if task == "multiclass" else (z.reshape(-1) > 0).astype(np.int64)
    return float(np.mean(pred == y))


def r2(outputs: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination of regression outputs."""
    resid = np.sum((np.asarray(outputs).reshape(-1) - y) ** 2)
    total = np.sum((y - y.mean()) ** 2)
    return float(1.0 - resid / total) if total > 0 else 0.0


# Fixed histogram bins, identical for every layer and every moment of a run, so frames and layers compare:
# symmetric, log-spaced magnitudes from 1e-7 to 1e2 (three bins a decade), and one bin around zero.
# Gradients span many orders of magnitude (that is what "vanishing" means), so a log axis shows them honestly.
_MAGNITUDES = 10.0 ** np.linspace(-7, 2, 28)
HIST_EDGES = np.concatenate([-_MAGNITUDES[::-1], _MAGNITUDES])
HIST_EDGES.setflags(write=False)


def histogram(values: np.ndarray) -> np.ndarray:
    """Counts of ``values`` in ``HIST_EDGES`` bins; values beyond ±100 land in the outer bins."""
    v = np.clip(np.asarray(values, dtype=np.float64).ravel(), HIST_EDGES[0], HIST_EDGES[-1])
    counts, _ = np.histogram(v, bins=HIST_EDGES)
    return counts
