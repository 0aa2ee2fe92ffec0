"""Which columns of a table a network learns from, and how text columns become numbers.

Numeric and true/false columns enter as they are. A text column with a few repeated values is categorical:
scikit-learn's ``OneHotEncoder`` turns it into one 0/1 input per category, named ``column=value``. Other
columns are left out, each with its reason, so nothing is dropped in silence: an ID (a different value in
every row), too many categories, a single value, numbers with stray text, no values at all.

The ``encoding`` (a JSON-ready dict) is what a saved or exported model needs to read raw rows again:
``{"columns": [raw columns, in input order], "categories": {categorical column: [its categories]}}``.
The network's inputs are the columns in that order, each categorical one expanded in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nncore.errors import ConfigError

if TYPE_CHECKING:  # pandas is imported where a table is read: pages without one never load it
    import pandas as pd

MAX_CATEGORIES = 50  # a text column with more distinct values is left out (too many inputs for its rows)


def kind(series: pd.Series) -> str:
    """"numeric", "boolean" or "text"."""
    import pandas as pd
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    return "numeric" if pd.api.types.is_numeric_dtype(series) else "text"


def first_bad(series: pd.Series) -> tuple[int, str] | None:
    """Data row (1-based) and value of the first non-missing entry that is not a number."""
    import pandas as pd
    bad = np.flatnonzero((series.notna() & pd.to_numeric(series, errors="coerce").isna()).to_numpy())
    return (int(bad[0]) + 1, str(series.iloc[bad[0]])) if len(bad) else None


def category_values(series: pd.Series) -> pd.Series:
    """A text column's values as the encoder sees them: text without surrounding spaces (missing stays)."""
    return series.astype("string").str.strip().astype(object).where(series.notna(), None)


def why_not(series: pd.Series) -> str | None:
    """Why a column cannot be a feature, or None when it can (numeric, true/false or categorical)."""
    import pandas as pd
    values = series.dropna()
    if len(values) == 0:
        return "no values at all"
    if kind(series) != "text":
        return None
    numbers = pd.to_numeric(values, errors="coerce").notna()
    if numbers.mean() >= 0.5:
        row, value = first_bad(series)
        return f"numbers with text in between ({value!r} in data row {row})"
    distinct = category_values(values).nunique()
    if distinct == len(values) and len(values) > 1:
        return "a different value in every row (an ID)"
    if distinct > MAX_CATEGORIES:
        return f"{distinct} different text values (more than {MAX_CATEGORIES} categories)"
    if distinct == 1:
        return "the same value in every row"
    return None


@dataclass(frozen=True)
class FeaturePlan:
    """The raw columns used (in order), the categories of the categorical ones, and the columns left out
    (column -> reason)."""

    columns: tuple[str, ...]
    categories: dict
    left_out: dict

    @property
    def encoding(self) -> dict:
        return {"columns": list(self.columns), "categories": {c: list(v) for c, v in self.categories.items()}}

    @property
    def features(self) -> tuple[str, ...]:
        """The network's input names: numeric columns as they are, ``column=value`` per category."""
        return encoded_names(self.encoding)


def plan_features(df: pd.DataFrame, label: str, features=None) -> FeaturePlan:
    """The plan for learning ``label`` from ``features`` (None: every column that can be used; the rest is
    left out with its reason). Chosen columns must be known and usable (ConfigError otherwise)."""
    columns = [str(c) for c in df.columns]
    reasons = {c: why_not(df[c]) for c in columns if c != label}
    if features is None:
        chosen = [c for c, why in reasons.items() if why is None]
        left_out = {c: why for c, why in reasons.items() if why is not None}
    else:
        chosen = list(features)
        bad = {c: reasons[c] for c in chosen if reasons.get(c) and reasons[c] != "no values at all"}
        if bad:
            listed = "; ".join(f"{c!r}: {why}" for c, why in list(bad.items())[:5])
            raise ConfigError(f"feature columns that cannot be used: {listed}: exclude them", "features")
        left_out = {c: "not chosen" for c in columns if c != label and c not in chosen}
    categories = {c: tuple(sorted(category_values(df[c]).dropna().unique(), key=str))
                  for c in chosen if kind(df[c]) == "text"}
    return FeaturePlan(tuple(chosen), categories, left_out)


def encoded_names(encoding: dict) -> tuple[str, ...]:
    cats = encoding["categories"]
    return tuple(name for c in encoding["columns"] for name in ([f"{c}={v}" for v in cats[c]] if c in cats else [c]))


def encode(df: pd.DataFrame, encoding: dict) -> np.ndarray:
    """Raw table rows (columns by name) -> (n, d) float64 network inputs. A category not seen in training
    gives all zeros; a missing numeric value stays NaN."""
    import pandas as pd
    from sklearn.preprocessing import OneHotEncoder
    cats = encoding["categories"]
    parts = []
    for c in encoding["columns"]:
        if c in cats:
            onehot = OneHotEncoder(categories=[list(cats[c])], handle_unknown="ignore", sparse_output=False,
                                   dtype=np.float64)
            values = category_values(df[c]).to_numpy(dtype=object).reshape(-1, 1)
            values = np.where(pd.isna(values), "", values)  # missing: no category (all zeros)
            parts.append(onehot.fit(np.array([[cats[c][0]]], dtype=object)).transform(values))
        else:
            parts.append(df[c].to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1))
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(df), 0))


def check_encoding(raw, feature_names) -> dict | None:
    """A checkpoint's stored encoding, validated against its feature names (ConfigError if damaged)."""
    if raw is None:
        return None
    ok = (isinstance(raw, dict) and isinstance(raw.get("columns"), list) and isinstance(raw.get("categories"), dict)
          and all(isinstance(c, str) for c in raw["columns"])
          and all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) and c in raw["columns"]
                  for c, v in raw["categories"].items()))
    if not ok or encoded_names(raw) != tuple(feature_names):
        raise ConfigError("checkpoint column encoding is damaged or does not match its features", "checkpoint")
    return {"columns": list(raw["columns"]), "categories": {c: list(v) for c, v in raw["categories"].items()}}
