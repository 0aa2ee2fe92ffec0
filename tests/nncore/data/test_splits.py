"""The NumPy train/test split picks exactly scikit-learn's rows, and refuses what scikit-learn refuses."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split as sk_split

from nncore.data.splits import train_test_split


def assert_same_split(X, y, test_size, seed, stratify):
    """Both give the same four arrays, or both refuse."""
    try:
        theirs = sk_split(X, y, test_size=test_size, random_state=seed, stratify=stratify)
    except ValueError:
        with pytest.raises(ValueError):
            train_test_split(X, y, test_size, seed, stratify=stratify)
        return None
    mine = train_test_split(X, y, test_size, seed, stratify=stratify)
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    return mine


@pytest.mark.parametrize("n, classes, test_size, seed", [(600, 2, 0.4, 0), (601, 3, 0.4, 1), (50, 5, 0.5, 7),
                                                        (97, 4, 0.3, 123), (20, 2, 0.2, 2), (1797, 10, 0.25, 5)])
@pytest.mark.parametrize("stratified", [True, False])
def test_the_same_rows_as_scikit_learn(n, classes, test_size, seed, stratified):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.concatenate([np.arange(classes), rng.integers(0, classes, n - classes)])  # uneven classes, ties
    mine = assert_same_split(X, y, test_size, seed, y if stratified else None)
    assert mine is not None and len(mine[1]) == int(np.ceil(test_size * n))
    # the app's second split (validation vs test, on the held-out rows) agrees too, or both refuse it
    X_ho, y_ho = mine[1], mine[3]
    assert_same_split(X_ho, y_ho, 0.5, seed, y_ho if stratified else None)


def test_string_labels_split_like_scikit_learn():
    y = np.array(["b", "a", "c"] * 10)
    X = np.arange(30.0).reshape(-1, 1)
    for a, b in zip(train_test_split(X, y, 0.3, 4, stratify=y), sk_split(X, y, test_size=0.3, random_state=4,
                                                                          stratify=y)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("y, test_size", [([0, 0, 0, 1], 0.5), ([0, 1, 2, 0, 1, 2], 0.2), ([0, 1] * 3, 0.9)])
def test_refuses_what_scikit_learn_refuses(y, test_size):
    X = np.zeros((len(y), 1))
    with pytest.raises(ValueError):
        sk_split(X, y, test_size=test_size, random_state=0, stratify=y)
    with pytest.raises(ValueError):
        train_test_split(X, y, test_size, 0, stratify=np.array(y))
