"""Evaluation of a classifier on one split: confusion matrix, per-class precision/recall/F1, one-vs-rest ROC
curves with AUC, the most confident mistakes, and a 2-D PCA of the last hidden layer.

Computed with scikit-learn from one forward pass, so every number agrees with the Trainer's accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import auc, confusion_matrix, precision_recall_fscore_support, roc_curve

from nncore.inspect import metrics

MAX_ROC_POINTS = 200     # per class, enough for a smooth curve in the browser
MAX_PCA_POINTS = 1000    # points projected and drawn


@dataclass(frozen=True)
class Evaluation:
    """Shapes: n samples of the split, K classes."""

    split: str
    epoch: int
    probabilities: np.ndarray     # (n, K)
    predicted: np.ndarray         # (n,)
    truth: np.ndarray             # (n,)
    confusion: np.ndarray         # (K, K) rows = true class, columns = predicted
    precision: np.ndarray         # (K,)
    recall: np.ndarray            # (K,) = per-class accuracy
    f1: np.ndarray                # (K,)
    support: np.ndarray           # (K,) samples per true class
    roc: dict                     # class index -> (fpr, tpr) arrays, each at most MAX_ROC_POINTS long
    auc: np.ndarray               # (K,) one-vs-rest area under the ROC curve (NaN if a class is absent)
    mistakes: np.ndarray          # indices of misclassified samples, most confident first
    pca: np.ndarray | None        # (m, 2) last hidden layer projected, m <= MAX_PCA_POINTS; None without hidden
    pca_index: np.ndarray         # (m,) which samples the PCA rows are
    pca_variance: tuple[float, float]  # share of variance explained by the two components

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.truth))


def _thin(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= n:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, n).round().astype(int))
    return x[idx], y[idx]


def evaluate(trainer, split: str = "test", seed: int = 0) -> Evaluation:
    """Evaluate ``trainer``'s current network on ``split`` of its dataset (classification only)."""
    ds = trainer.dataset
    if ds.task == "regression":
        raise ValueError("evaluate() is for classifiers; regression has loss and R² in the history")
    X, y = ds.split(split)
    k = ds.n_classes
    probs = metrics.probabilities(trainer.engine.forward(X), ds.task)
    predicted = probs.argmax(axis=1)
    labels = np.arange(k)
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=labels, zero_division=0)
    roc, areas = {}, np.full(k, np.nan)
    for c in labels:
        positives = y == c
        if positives.any() and not positives.all():
            fpr, tpr, _ = roc_curve(positives, probs[:, c])
            areas[c] = auc(fpr, tpr)
            roc[int(c)] = _thin(fpr, tpr, MAX_ROC_POINTS)
    wrong = np.flatnonzero(predicted != y)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")]
    pca, pca_index, variance = _hidden_pca(trainer, X, seed)
    return Evaluation(split, trainer.epoch, probs, predicted, y, confusion_matrix(y, predicted, labels=labels),
                      precision, recall, f1, support, roc, areas, wrong, pca, pca_index, variance)


def _hidden_pca(trainer, X: np.ndarray, seed: int):
    """PCA of the last hidden layer's activations on up to MAX_PCA_POINTS samples (a fixed, seeded subset, so
    the cloud moves only because the network changes)."""
    index = np.arange(len(X))
    if len(X) > MAX_PCA_POINTS:
        index = np.sort(np.random.default_rng(seed).choice(len(X), MAX_PCA_POINTS, replace=False))
    layers = trainer.engine.trace(X[index])
    if len(layers) < 2:
        return None, index, (0.0, 0.0)
    hidden = layers[-2]["post"].reshape(len(index), -1)
    if hidden.shape[1] < 2 or np.allclose(hidden, hidden[0]):
        return np.zeros((len(index), 2)), index, (0.0, 0.0)
    pca = PCA(n_components=2, random_state=seed)
    projected = pca.fit_transform(hidden)
    return projected, index, tuple(float(v) for v in pca.explained_variance_ratio_)
