"""Your own data: a CSV table becomes a ``Dataset`` (one label column; numeric, true/false or categorical
feature columns, see ``columns``).

Files come from strangers, so every problem with a file ends in one ``ConfigError`` whose message names the
problem and the fix. Reading (``read_csv_table``) accepts UTF-8 (with or without a byte-order mark), UTF-16
(with a byte-order mark, or ASCII text without one), and falls back to Windows-1252 then Latin-1 for legacy
exports; the delimiter (comma, semicolon, tab or bar) is detected from the first lines; ``?`` counts as a missing value like an
empty cell or ``NA``; the rows and the fields of every line are counted before pandas parses, so a file
beyond the limits costs little to refuse. ``table_to_dataset`` picks the label and features (text columns
one-hot encoded, unusable ones left out with their reason), handles missing values, decides
classification or regression and splits like the toy sets (stratified for classification).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
import warnings
from typing import TYPE_CHECKING

import numpy as np

from nncore.errors import ConfigError
from nncore.registry import LABEL_TASKS
from nncore.data import Dataset
from nncore.data.columns import category_values, encode, plan_features
from nncore.data.columns import kind as _kind
from nncore.data.scaling import fit_scaling

if TYPE_CHECKING:  # pandas is imported where a table is read: pages without one never load it
    import pandas as pd

MIN_ROWS = 10                 # usable rows below which a train/validation/test split means nothing
MAX_AUTO_CLASSES = 10         # an integer label with at most this many values is read as classes
TASKS = LABEL_TASKS
MISSING = ("drop", "impute")
DELIMITERS = ",;\t|"
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def _fail(message: str, param: str = "file") -> ConfigError:
    return ConfigError(message, param)


def _listing(names) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:30]) + (f" … ({len(names)} in all)" if len(names) > 30 else "")


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when NUL bytes sit at every other position (ASCII text in UTF-16 without a
    byte-order mark), else None."""
    sample = data[:8192]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name of a CSV file's bytes; ConfigError for anything that is not text."""
    if data[:4] == b"PK\x03\x04":
        raise _fail("not a CSV text file: this is a zip archive or an Excel workbook; save it as "
                    "CSV (comma-separated values) and upload that")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _fail("not a CSV text file: it starts like UTF-16 text but does not decode as UTF-16; "
                        "save it as UTF-8 CSV") from None
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            text = None
        if text is None or "\x00" in text:
            raise _fail("the file looks like UTF-16 text without a byte-order mark but does not decode as "
                        "such: save it as UTF-8 CSV")
        encoding = utf16
    elif b"\x00" in data:
        raise _fail("not a CSV text file: it contains binary data; upload a table saved as CSV text")
    else:
        for encoding in _ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    sample = text[:65536]
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n") or 127 <= ord(ch) < 160)
    if controls > 0.01 * len(sample):
        raise _fail("not a CSV text file: it contains binary data; upload a table saved as CSV text")
    return text, encoding.replace("-sig", "")


def _delimiter(text: str) -> str:
    """The delimiter, sniffed from the first non-empty lines of the first 64 KB (a sample, so that one huge
    line costs no more than a short one)."""
    lines = [line for line in text[:65536].splitlines() if line.strip()][:20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _first_line(text: str) -> str:
    start = len(text) - len(text.lstrip())
    start = text.rfind("\n", 0, start) + 1
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


_QUOTED = re.compile(r'"[^"]*"')


def _prescan(text: str, delimiter: str, limits) -> None:
    """Refuse a table beyond the row or column limits from counts of line breaks and delimiters, before a
    parser builds any field: pandas holds every field of a ragged line before it compares field counts
    (gigabytes for a one-line file of megabytes: docs/measurements.md). Quoted fields are cut out first, so
    their delimiters and line breaks are not counted; blank lines are skipped, as pandas does."""
    from nncore.limits import ENV_NAMES
    if '"' in text:
        text = _QUOTED.sub("", text)
    pos, n, line, rows, header = 0, len(text), 0, 0, None
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end
        line += 1
        if end - pos < 256 and not text[pos:end].strip():
            pos = end + 1
            continue
        fields = text.count(delimiter, pos, end) + 1
        if header is None:
            header = fields
            if fields > limits.max_columns:
                raise _fail(f"the table has {fields:,} columns; this server accepts up to {limits.max_columns} "
                            f"({ENV_NAMES['max_columns']}): keep only the columns you need")
        else:
            rows += 1
            if rows > limits.max_rows:
                raise _fail(f"the table has more than {limits.max_rows} data rows, the most this server "
                            f"accepts ({ENV_NAMES['max_rows']}): upload a sample of the rows")
            if fields > limits.max_columns:
                raise _fail(f"line {line} has {fields:,} fields; this server accepts up to {limits.max_columns} "
                            f"columns ({ENV_NAMES['max_columns']}) and the header has {header}: every row needs "
                            "one field per column (a row missing its line breaks?)")
            if fields > header:
                raise _fail(f"line {line} has {fields} fields, more fields than the header has columns "
                            f"({header}): every row needs as many fields as the header has columns (a trailing "
                            "delimiter or a missing column name?)")
        pos = end + 1


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


_GROUPED = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_PLAIN = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def _grouped_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose values are all numbers, some written with thousands separators ("1,037"), as
    numbers."""
    import pandas as pd
    for c in df.columns:
        if pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        values = df[c].dropna().astype(str).str.strip()
        grouped = values.str.fullmatch(_GROUPED)
        if len(values) and grouped.any() and (grouped | values.str.fullmatch(_PLAIN)).all():
            df[c] = pd.to_numeric(df[c].astype("string").str.strip().str.replace(",", "", regex=False))
            df[c] = df[c].astype(np.float64)
    return df


def read_csv_table(data: bytes, limits=None) -> pd.DataFrame:
    """Parse an uploaded CSV file into a DataFrame with one column per header name.

    ``limits`` (a ``nncore.limits.Limits``; default ``load_limits()``) bounds bytes, rows and columns; the
    rows and the fields per line are counted before parsing. Numbers with thousands separators ("1,037")
    are read as numbers. ``df.attrs`` records the ``encoding`` and ``delimiter`` that were used."""
    import pandas as pd

    from nncore.limits import ENV_NAMES, load_limits, upload_bytes
    limits = limits if limits is not None else load_limits()
    data = upload_bytes(data, limits, "file", advice=": upload fewer rows or columns")
    if not data.strip():
        raise _fail("the file is empty: upload a CSV table with a header line and data rows")
    text, encoding = _decode(data)
    del data
    if not text.strip():
        raise _fail("the file is empty: upload a CSV table with a header line and data rows")
    delimiter = _delimiter(text)
    _prescan(text, delimiter, limits)
    names = [n.strip() for n in next(csv.reader([_first_line(text)], delimiter=delimiter,
                                                skipinitialspace=True))]
    if len(names) > limits.max_columns:
        raise _fail(f"the table has {len(names)} columns; this server accepts up to {limits.max_columns} "
                    f"({ENV_NAMES['max_columns']}): keep only the columns you need")
    seen, dupes = set(), []
    for n in names:
        if n in seen and n not in dupes:
            dupes.append(n)
        seen.add(n)
    if dupes:
        raise _fail(f"duplicate column names: {_listing(dupes)}; give every column a unique name in the "
                    "header line")
    if all(_is_number(n) for n in names):
        raise _fail("the first line holds numbers, not column names: add a header line naming each column")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8", sep=delimiter, index_col=False,
                             skipinitialspace=True, na_values=["?"], nrows=limits.max_rows + 1)
    except pd.errors.ParserError as e:
        detail = str(e).split("error: ")[-1].strip()
        raise _fail(f"not a well-formed CSV table ({detail}): every row needs as many fields as the header "
                    "has columns") from None
    except (pd.errors.EmptyDataError, ValueError, csv.Error) as e:
        raise _fail(f"not a readable CSV table ({e}): save it as CSV with a header line") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _fail(f"some rows have more fields than the header has columns ({len(names)}): a trailing "
                    "delimiter or a missing column name? Every row needs one field per column")
    if len(df) > limits.max_rows:
        raise _fail(f"the table has more than {limits.max_rows} data rows, the most this server accepts "
                    f"({ENV_NAMES['max_rows']}): upload a sample of the rows")
    if len(df) == 0:
        raise _fail("the file has a header line but no data rows: add rows below the column names")
    df.columns = [str(c).strip() for c in df.columns]
    df = _grouped_numbers(df)
    df.attrs.update(encoding=encoding, delimiter=delimiter)
    return df


# --- from table to dataset -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class TableDataset(Dataset):
    """A ``Dataset`` from a table, with the ``encoding`` that turns raw rows into its inputs (see
    ``columns``) and the columns left out of the features (column -> reason)."""

    encoding: dict | None = None
    features_left_out: dict = dataclasses.field(default_factory=dict)


def _auto_task(series: pd.Series) -> str:
    values = series.dropna()
    if _kind(values) != "numeric":
        return "classification"
    integer = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    return "classification" if integer and values.nunique() <= MAX_AUTO_CLASSES else "regression"


def _class_name(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def describe_table(df: pd.DataFrame) -> dict:
    """What the UI needs to prefill its choices: columns, their kinds, and a suggested label and task.

    Returns ``columns`` (names in order), ``dtypes`` (name -> "numeric", "boolean" or "text"), ``missing``
    (name -> count of empty cells), ``distinct`` (name -> distinct values), ``n_rows``, ``numeric_columns``,
    ``suggested_label`` (the last column), ``suggested_task`` ("classification" or "regression"),
    ``suggested_features`` (the other columns that can be features: numeric, true/false or categorical),
    ``left_out`` (column -> why it cannot be a feature; the label aside), plus ``encoding`` and ``delimiter``
    when known."""
    columns = [str(c) for c in df.columns]
    dtypes = {c: _kind(df[c]) for c in columns}
    label = columns[-1] if columns else None
    numeric = [c for c in columns if dtypes[c] in ("numeric", "boolean")]
    plan = plan_features(df, label) if label is not None else None
    return {
        "columns": columns,
        "dtypes": dtypes,
        "missing": {c: int(df[c].isna().sum()) for c in columns},
        "distinct": {c: int(df[c].nunique()) for c in columns},
        "n_rows": int(len(df)),
        "numeric_columns": numeric,
        "suggested_label": label,
        "suggested_task": _auto_task(df[label]) if label is not None else None,
        "suggested_features": list(plan.columns) if plan else [],
        "left_out": dict(plan.left_out) if plan else {},
        "encoding": df.attrs.get("encoding"),
        "delimiter": df.attrs.get("delimiter"),
    }


def _plan(df: pd.DataFrame, label, features):
    columns = [str(c) for c in df.columns]
    if not isinstance(label, str) or label not in columns:
        raise _fail(f"label column {label!r} is not in the table; available columns: {_listing(columns)}",
                    "label")
    if features is None:
        plan = plan_features(df, label)
        if not plan.columns:
            why = "; ".join(f"{c}: {r}" for c, r in list(plan.left_out.items())[:5])
            raise _fail(f"no usable feature columns besides the label {label!r} ({why})", "features")
        return plan
    chosen = [str(f) for f in features]
    if not chosen:
        raise _fail("choose at least one feature column", "features")
    unknown = [f for f in chosen if f not in columns]
    if unknown:
        raise _fail(f"unknown feature columns: {_listing(unknown)}; available columns: {_listing(columns)}",
                    "features")
    if label in chosen:
        raise _fail(f"the label column {label!r} is also listed as a feature: remove it from the features",
                    "features")
    twice = sorted({f for f in chosen if chosen.count(f) > 1})
    if twice:
        raise _fail(f"feature columns listed twice: {_listing(twice)}", "features")
    return plan_features(df, label, chosen)


def _handle_missing(df: pd.DataFrame, label: str, features: list[str], missing) -> pd.DataFrame:
    cols = [label, *features]
    counts = {c: int(df[c].isna().sum()) for c in cols}
    empty = [c for c in features if counts[c] == len(df)]
    if empty:
        raise _fail(f"feature columns with no values at all: {_listing(empty)}: exclude them", "features")
    if not any(counts.values()):
        return df
    if missing is None:
        listed = ", ".join(f"{c} ({n})" for c, n in counts.items() if n)
        raise _fail(f"missing values in {listed}: choose drop rows or impute with column means", "missing")
    df = df[df[label].notna()]  # a row without its label cannot be learned from, in either mode
    if missing == "drop":
        return df.dropna(subset=features)
    df = df.copy()
    for c in features:
        if _kind(df[c]) == "text":  # a category gap takes the most frequent category
            values = category_values(df[c])
            df[c] = values.fillna(values.mode().iloc[0])  # mode() is sorted
        else:
            df[c] = df[c].astype(np.float64).fillna(df[c].astype(np.float64).mean())
    return df


def table_to_dataset(df: pd.DataFrame, label: str, features: list[str] | None, cfg, task: str = "auto",
                     missing: str | None = None, limits=None, name: str = "table"):
    """A split ``Dataset`` learning column ``label`` from the numeric columns ``features``.

    ``features`` None takes every other numeric (or true/false) column. ``task`` "auto" reads a text or
    true/false label, or a numeric one with at most 10 integer values, as classes, and any other numeric
    label as a regression target. ``missing``: None refuses missing values (naming them), "drop" drops
    rows with any, "impute" fills feature gaps with the column mean over the whole table (rows missing
    their label are dropped either way). Class names are the label values, sorted, as text. ``cfg`` is the
    ``DataConfig`` whose seed, fractions and ``standardize`` the split uses; ``name`` names the dataset."""
    from nncore.limits import ENV_NAMES, load_limits
    from nncore.data import split_dataset
    limits = limits if limits is not None else load_limits()
    if task not in TASKS:
        raise _fail(f"task must be one of {', '.join(TASKS)}, got {task!r}", "task")
    if missing is not None and missing not in MISSING:
        raise _fail(f"missing must be one of drop, impute or None, got {missing!r}", "missing")
    if len(df) == 0:
        raise _fail("the table has no data rows: add rows below the column names")
    if len(df) > limits.max_rows:
        raise _fail(f"the table has {len(df)} rows; this server accepts up to {limits.max_rows} "
                    f"({ENV_NAMES['max_rows']}): use a sample of the rows")
    plan = _plan(df, label, features)
    features = list(plan.columns)
    for c in (c for c in features if c not in plan.categories):
        values = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            row = int(np.flatnonzero(np.isinf(values))[0]) + 1
            raise _fail(f"feature column {c!r} has an infinite value in data row {row}: fix or remove it",
                        "features")
    df = _handle_missing(df, label, features, missing)
    y_raw = df[label]
    kind = _auto_task(y_raw) if task == "auto" else task
    if kind == "regression" and _kind(y_raw) != "numeric":
        raise _fail(f"label {label!r} is not numeric, so it cannot be a regression target: choose "
                    "classification or a numeric label", "task")
    if len(df) < MIN_ROWS:
        raise _fail(f"only {len(df)} usable rows (after removing rows with missing values); at least "
                    f"{MIN_ROWS} are needed to train, validate and test: add rows", "file")
    X = encode(df, plan.encoding)
    if kind == "regression":
        y = y_raw.to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            raise _fail(f"label column {label!r} has infinite values: fix or remove those rows", "label")
        class_names = None
    else:
        values = np.sort(y_raw.unique()) if _kind(y_raw) != "text" else sorted(y_raw.unique(), key=str)
        class_names = tuple(_class_name(v) for v in values)
        if len(values) < 2:
            raise _fail(f"label {label!r} has a single class ({class_names[0]!r}): classification needs at "
                        "least two different labels", "label")
        if len(values) > limits.max_classes:
            raise _fail(f"label {label!r} has {len(values)} different values, more than the "
                        f"{limits.max_classes} classes this server allows ({ENV_NAMES['max_classes']}): "
                        "for a numeric target choose regression, or pick a label with fewer values", "label")
        index = {v: i for i, v in enumerate(values)}
        y = np.array([index[v] for v in y_raw], dtype=np.int64)
        counts = np.bincount(y, minlength=len(values))
        need = math.ceil(2 / min(cfg.val_fraction, cfg.test_fraction))
        rare = [f"{class_names[k]!r} ({counts[k]})" for k in np.flatnonzero(counts < need)]
        if rare:
            raise _fail(f"too few rows per class for a stratified train/validation/test split: "
                        f"{_listing(rare)}; each class needs at least {need} rows with these split fractions: "
                        "add rows, or merge or remove rare classes", "label")
    try:
        ds = split_dataset(name, X, y, kind, cfg, feature_names=plan.features, class_names=class_names)
    except ValueError as e:  # sklearn's stratified split can still refuse a borderline class balance
        raise _fail(f"cannot split the rows into train/validation/test ({e}): add rows to the small "
                    "classes", "label") from None
    if not all(np.isfinite(a).all() for a in (ds.X_train, ds.X_val, ds.X_test)):
        raise _fail("feature values are too large to scale (overflow): rescale the columns", "features")
    if kind == "regression" and cfg.standardize:
        ds = standardize_targets(ds)
    fields = {f.name: getattr(ds, f.name) for f in dataclasses.fields(Dataset)}
    return TableDataset(**fields, encoding=plan.encoding, features_left_out=dict(plan.left_out))


def standardize_targets(ds):
    """The regression targets at zero mean and unit variance (training-split statistics), kept in ``y_mean`` /
    ``y_std``. Targets in the thousands (prices, counts) otherwise give the squared-error gradients such a
    scale that a network trains poorly at any usual learning rate (docs/measurements.md); losses are then on
    the standardized targets, and R² is the same in either unit."""
    mean, std = map(float, fit_scaling(ds.y_train))
    return dataclasses.replace(ds, y_train=(ds.y_train - mean) / std, y_val=(ds.y_val - mean) / std,
                               y_test=(ds.y_test - mean) / std, y_mean=mean, y_std=std)
