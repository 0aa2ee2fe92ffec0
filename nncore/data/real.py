"""Real tables that ship inside scikit-learn, so a workshop has real data without a file or a network.

Each loader returns ``(X (n, d) float64, y (n,), feature_names, class_names)``: class ids for classification
(``class_names`` in id order), float targets for regression (``class_names`` empty). scikit-learn is imported
inside the loaders: the app's start-up does not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np


@dataclass(frozen=True)
class TableSpec:
    """One bundled table."""

    load: Callable              # () -> (X, y, feature_names, class_names)
    task: str                   # "classification" or "regression"
    description: str
    rows: int                   # samples in the table (fixed: n_points does not apply)
    classes: int = 0            # distinct labels (0 for regression)


def _bunch(name: str):
    from sklearn import datasets
    return getattr(datasets, f"load_{name}")()


def _classes(name: str, class_names=None):
    def load():
        b = _bunch(name)
        names = class_names or tuple(str(c) for c in b.target_names)
        return (np.asarray(b.data, dtype=np.float64), np.asarray(b.target, dtype=np.int64),
                tuple(str(f) for f in b.feature_names), tuple(names))
    return load


def _diabetes():
    b = _bunch("diabetes")
    return np.asarray(b.data, dtype=np.float64), np.asarray(b.target, dtype=np.float64), \
        tuple(str(f) for f in b.feature_names), ()


TABLES: dict[str, TableSpec] = {
    "iris": TableSpec(_classes("iris"), "classification",
                      "iris (real table): 150 flowers, 4 measurements, 3 species", 150, 3),
    "wine": TableSpec(_classes("wine", ("cultivar 1", "cultivar 2", "cultivar 3")), "classification",
                      "wine (real table): 178 wines, 13 chemical measurements, 3 cultivars", 178, 3),
    "breast_cancer": TableSpec(_classes("breast_cancer"), "classification",
                               "breast cancer (real table): 569 tumours, 30 cell measurements, malignant or "
                               "benign", 569, 2),
    "diabetes": TableSpec(_diabetes, "regression",
                          "diabetes (real table, regression): 442 patients, 10 measurements, disease "
                          "progression after one year", 442),
    "digits_table": TableSpec(_classes("digits"), "classification",
                              "digits as a table: 1,797 8×8 handwritten digits, 64 pixel columns, 10 classes",
                              1797, 10),
}
