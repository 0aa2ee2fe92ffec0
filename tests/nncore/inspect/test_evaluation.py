"""Evaluation of classifiers: every number agrees with the network's predictions."""

import numpy as np
import pytest

from nncore.inspect import metrics
from nncore.inspect.evaluation import MAX_PCA_POINTS, evaluate
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg


@pytest.fixture(scope="module")
def digits_trainer():
    trainer = Trainer(make_cfg(dataset="digits", hidden=(64,), learning_rate=3e-3, batch_size=64, epochs=8))
    while trainer.running:
        trainer.run(steps=1000)
    return trainer


@pytest.mark.slow
def test_confusion_matrix_and_scores_agree_with_predictions(digits_trainer):
    ev = evaluate(digits_trainer, "test")
    ds = digits_trainer.dataset
    assert ev.confusion.shape == (10, 10) and ev.confusion.sum() == len(ds.y_test)
    np.testing.assert_array_equal(ev.confusion.sum(axis=1), np.bincount(ds.y_test, minlength=10))
    assert ev.accuracy == pytest.approx(np.trace(ev.confusion) / ev.confusion.sum())
    assert ev.accuracy == pytest.approx(digits_trainer.snapshot().last("test_acc"))
    assert ev.accuracy >= 0.9
    np.testing.assert_allclose(ev.recall, np.diag(ev.confusion) / ev.confusion.sum(axis=1))
    np.testing.assert_allclose(ev.precision, np.diag(ev.confusion) / ev.confusion.sum(axis=0))
    f1 = 2 * ev.precision * ev.recall / (ev.precision + ev.recall)
    np.testing.assert_allclose(ev.f1, f1)


@pytest.mark.slow
def test_roc_curves_and_auc(digits_trainer):
    ev = evaluate(digits_trainer, "test")
    assert set(ev.roc) == set(range(10))
    for c, (fpr, tpr) in ev.roc.items():
        assert fpr[0] == 0 and tpr[-1] == 1 and np.all(np.diff(fpr) >= 0)
    assert np.all(ev.auc > 0.95)


@pytest.mark.slow
def test_mistakes_are_wrong_and_sorted_by_confidence(digits_trainer):
    ev = evaluate(digits_trainer, "test")
    assert len(ev.mistakes) == int(np.sum(ev.predicted != ev.truth))
    assert np.all(ev.predicted[ev.mistakes] != ev.truth[ev.mistakes])
    conf = ev.probabilities[ev.mistakes, ev.predicted[ev.mistakes]]
    assert np.all(np.diff(conf) <= 0)


@pytest.mark.slow
def test_pca_of_the_last_hidden_layer(digits_trainer):
    ev = evaluate(digits_trainer, "test")
    assert ev.pca.shape == (len(ev.pca_index), 2) and len(ev.pca_index) <= MAX_PCA_POINTS
    assert 0 < ev.pca_variance[1] <= ev.pca_variance[0] < 1
    # Classes separate in the learned representation: class centroids are further apart than the spread.
    labels = ev.truth[ev.pca_index]
    centroids = np.array([ev.pca[labels == c].mean(axis=0) for c in range(10)])
    spread = np.mean([ev.pca[labels == c].std(axis=0).mean() for c in range(10)])
    distances = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)[np.triu_indices(10, 1)]
    assert np.median(distances) > spread


def test_binary_tasks_evaluate_with_two_columns():
    trainer = Trainer(make_cfg(dataset="moons", epochs=5))
    trainer.run(steps=10_000)
    ev = evaluate(trainer, "val")
    assert ev.probabilities.shape == (len(trainer.dataset.y_val), 2)
    expected = metrics.accuracy(trainer.engine.forward(trainer.dataset.X_val), trainer.dataset.y_val, "binary")
    assert ev.accuracy == pytest.approx(expected)
