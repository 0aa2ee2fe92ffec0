"""CSV tables: reading strangers' files, one clear error per problem, and the Dataset they become."""

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest

from nncore.cli.main import main
from nncore.config import DataConfig
from nncore.data.tabular import describe_table, read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.inspect.grid import boundary_grid
from nncore.limits import Limits
from nncore.train.trainer import Trainer
from tests.helpers import make_cfg

LIMITS = Limits()
DATA = DataConfig()


def csv_bytes(header, rows, sep=",", encoding="utf-8") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def blobs_table(n=120, seed=0, labels=("setosa", "versicolor", "virginica")):
    """Three well separated clusters in (a, b) plus a noise column c; label text per cluster."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = i % len(labels)
        a, b = rng.normal(loc=(4 * k, -3 * k), scale=0.5)
        rows.append((f"{a:.4f}", f"{b:.4f}", f"{rng.normal():.4f}", labels[k]))
    return ["a", "b", "c", "kind"], rows


def read(data: bytes, limits=LIMITS) -> pd.DataFrame:
    return read_csv_table(data, limits)


def refused(fn, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as e:
        fn(*args, **kwargs)
    message = str(e.value)
    assert "\n" not in message
    return message


# --- reading -----------------------------------------------------------------------------------------------

def test_a_plain_table_becomes_a_stratified_classification_dataset():
    df = read(csv_bytes(*blobs_table()))
    ds = table_to_dataset(df, "kind", None, DATA, limits=LIMITS, name="iris.csv")
    assert ds.name == "iris.csv" and ds.task == "multiclass" and ds.n_classes == 3
    assert ds.class_names == ("setosa", "versicolor", "virginica")
    assert ds.feature_names == ("a", "b", "c")
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 120
    assert len(ds.y_test) == 24 and len(ds.y_val) == 24
    for y in (ds.y_train, ds.y_val, ds.y_test):  # stratified: every class in every split, evenly
        counts = np.bincount(y, minlength=3)
        assert counts.max() - counts.min() <= 1
    raw = df[["a", "b", "c"]].to_numpy(float)
    restored = np.concatenate([ds.unscale(ds.X_train), ds.unscale(ds.X_val), ds.unscale(ds.X_test)])
    assert np.allclose(np.sort(restored, axis=0), np.sort(raw, axis=0))
    assert np.allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)  # scaled with train statistics


def test_row_order_matches_labels_after_the_split():
    header, rows = blobs_table()
    ds = table_to_dataset(read(csv_bytes(header, rows)), "kind", ["a", "b"], DATA, limits=LIMITS)
    lookup = {(round(float(r[0]), 4), round(float(r[1]), 4)): r[3] for r in rows}
    for X, y in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        for x, k in zip(ds.unscale(X), y):
            assert lookup[(round(x[0], 4), round(x[1], 4))] == ds.class_names[k]


def test_training_on_a_table_learns_it():
    ds = table_to_dataset(read(csv_bytes(*blobs_table(n=150))), "kind", None, DATA, limits=LIMITS)
    trainer = Trainer(make_cfg(hidden=(8,), epochs=40), ds)
    while trainer.running:
        snap = trainer.run(steps=1000)
    assert snap.last("test_acc") >= 0.95


def test_integer_label_with_few_values_is_classification_sorted_numerically():
    rng = np.random.default_rng(1)
    rows = [(f"{rng.normal():.3f}", [2, 10, 1][i % 3]) for i in range(60)]
    ds = table_to_dataset(read(csv_bytes(["x", "grade"], rows)), "grade", None, DATA, limits=LIMITS)
    assert ds.task == "multiclass" and ds.class_names == ("1", "2", "10")
    values = np.array([r[1] for r in rows])
    assert sorted(np.bincount(np.concatenate([ds.y_train, ds.y_val, ds.y_test]))) == \
        sorted(np.unique(values, return_counts=True)[1])


def test_binary_float_label_and_bool_label_are_classification():
    rng = np.random.default_rng(2)
    rows = [(f"{rng.normal():.3f}", float(i % 2), "True" if i % 2 else "False") for i in range(40)]
    df = read(csv_bytes(["x", "y", "flag"], rows))
    ds = table_to_dataset(df, "y", ["x"], DATA, limits=LIMITS)
    assert ds.task == "binary" and ds.class_names == ("0", "1")
    ds = table_to_dataset(df, "flag", ["x"], DATA, limits=LIMITS)
    assert ds.task == "binary" and ds.class_names == ("False", "True")


def test_many_numeric_values_are_regression_and_task_can_be_overridden():
    rng = np.random.default_rng(3)
    rows = [(f"{x:.3f}", f"{3 * x + 1:.3f}", i % 15) for i, x in enumerate(rng.normal(size=150))]
    df = read(csv_bytes(["x", "y", "level"], rows))
    ds = table_to_dataset(df, "y", ["x"], DATA, limits=LIMITS)
    assert ds.task == "regression" and ds.n_classes == 0 and ds.y_train.dtype == np.float64
    assert table_to_dataset(df, "level", ["x"], DATA, limits=LIMITS).task == "regression"  # 15 integers
    forced = table_to_dataset(df, "level", ["x"], DATA, task="classification", limits=LIMITS)
    assert forced.task == "multiclass" and forced.n_classes == 15
    assert forced.class_names == tuple(str(k) for k in range(15))


def test_semicolon_tab_bom_latin1_and_utf16_files_read_the_same():
    header, rows = blobs_table(n=30)
    expected = read(csv_bytes(header, rows))
    variants = [csv_bytes(header, rows, sep=";"), csv_bytes(header, rows, sep="\t"),
                b"\xef\xbb\xbf" + csv_bytes(header, rows), csv_bytes(header, rows, encoding="utf-16")]
    for data in variants:
        df = read(data)
        assert list(df.columns) == ["a", "b", "c", "kind"]
        pd.testing.assert_frame_equal(df, expected, check_dtype=False)


def test_legacy_encoded_text_is_read():
    rows = [(f"{i}.5", "café" if i % 2 else "thé") for i in range(30)]
    df = read(csv_bytes(["prix", "boisson"], rows, encoding="cp1252"))
    assert set(df["boisson"]) == {"café", "thé"} and df.attrs["encoding"] == "cp1252"


def test_describe_table_prefills_label_task_and_features():
    rows = [(i, f"{i * 0.5:.1f}", "x" if i % 2 else "y", "NA" if i == 3 else i % 3) for i in range(30)]
    d = describe_table(read(csv_bytes(["id", "size", "colour", "group"], rows)))
    assert d["columns"] == ["id", "size", "colour", "group"]
    assert d["dtypes"] == {"id": "numeric", "size": "numeric", "colour": "text", "group": "numeric"}
    assert d["suggested_label"] == "group" and d["suggested_task"] == "classification"
    assert d["suggested_features"] == ["id", "size", "colour"]  # colour: two categories, one-hot encoded
    assert d["left_out"] == {}
    assert d["missing"]["group"] == 1 and d["distinct"]["colour"] == 2 and d["n_rows"] == 30
    assert d["delimiter"] == "," and d["encoding"] == "utf-8"
    json.dumps(d)  # the UI may keep it in session state or a URL


# --- one clear error per bad file -------------------------------------------------------------------------

def test_binary_garbage_is_not_a_csv_text_file():
    rng = np.random.default_rng(0)
    msg = refused(read, rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    assert msg.startswith("not a CSV text file")


def test_a_pickle_or_excel_file_is_not_a_csv_text_file():
    assert refused(read, pickle.dumps({"a": [1, 2, 3]})).startswith("not a CSV text file")
    assert "Excel" in refused(read, b"PK\x03\x04" + b"\x14\x00" * 100)


@pytest.mark.parametrize("data", [b"", b"   \n\n  \r\n"])
def test_empty_file(data):
    assert refused(read, data).startswith("the file is empty")


def test_header_only():
    assert "no data rows" in refused(read, b"a,b,label\n")


def test_first_line_of_numbers_is_not_a_header():
    assert "add a header line" in refused(read, b"1,2,0\n3,4,1\n")


def test_duplicate_column_names_are_named():
    msg = refused(read, b"x,y,x,label\n1,2,3,a\n")
    assert msg == "duplicate column names: x; give every column a unique name in the header line"


def test_ragged_rows_name_the_line():
    msg = refused(read, b"a,b,c\n1,2,3\n4,5,6,7\n")
    assert "line 3" in msg and "as many fields as the header" in msg
    assert "more fields than the header" in refused(read, b"a,b\n1,2,3\n4,5,6\n")


def test_too_many_bytes_rows_and_columns():
    header, rows = blobs_table(n=60)
    data = csv_bytes(header, rows)
    assert "NNPLAY_MAX_UPLOAD_MB" in refused(read, data, Limits(max_upload_mb=len(data) / 2**20 / 2))
    msg = refused(read, data, Limits(max_rows=59))
    assert "more than 59 data rows" in msg and "NNPLAY_MAX_ROWS" in msg
    read(data, Limits(max_rows=60))
    msg = refused(read, data, Limits(max_columns=3))
    assert "4 columns" in msg and "NNPLAY_MAX_COLUMNS" in msg


def test_unknown_label_lists_the_available_columns():
    df = read(csv_bytes(*blobs_table()))
    msg = refused(table_to_dataset, df, "species", None, DATA, limits=LIMITS)
    assert msg == "label column 'species' is not in the table; available columns: a, b, c, kind"


def test_unknown_feature_lists_the_available_columns():
    df = read(csv_bytes(*blobs_table()))
    msg = refused(table_to_dataset, df, "kind", ["a", "z", "w"], DATA, limits=LIMITS)
    assert msg == "unknown feature columns: z, w; available columns: a, b, c, kind"


def test_label_listed_as_a_feature():
    df = read(csv_bytes(*blobs_table()))
    msg = refused(table_to_dataset, df, "kind", ["a", "kind"], DATA, limits=LIMITS)
    assert "'kind' is also listed as a feature" in msg


def test_non_numeric_features_are_named_with_an_example():
    header, rows = blobs_table()
    rows = [(a, b if i != 7 else "n/a!", c, k) for i, (a, b, c, k) in enumerate(rows)]
    df = read(csv_bytes(header, rows))
    msg = refused(table_to_dataset, df, "kind", ["a", "b"], DATA, limits=LIMITS)
    assert msg == ("feature columns that cannot be used: 'b': numbers with text in between ('n/a!' in data row "
                   "8): exclude them")
    ds = table_to_dataset(df, "kind", None, DATA, limits=LIMITS)  # default: b is left out, with its reason
    assert ds.feature_names == ("a", "c")
    assert ds.features_left_out == {"b": "numbers with text in between ('n/a!' in data row 8)"}


def test_missing_values_are_named_and_counted_until_a_choice_is_made():
    header, rows = blobs_table(n=90)
    rows = [list(r) for r in rows]
    for i in (3, 10, 50):
        rows[i][0] = ""
    rows[20][2] = "?"
    df = read(csv_bytes(header, rows))
    msg = refused(table_to_dataset, df, "kind", None, DATA, limits=LIMITS)
    assert msg == "missing values in a (3), c (1): choose drop rows or impute with column means"
    dropped = table_to_dataset(df, "kind", None, DATA, missing="drop", limits=LIMITS)
    assert len(dropped.y_train) + len(dropped.y_val) + len(dropped.y_test) == 86
    imputed = table_to_dataset(df, "kind", None, DATA, missing="impute", limits=LIMITS)
    X = np.concatenate([imputed.unscale(s) for s in (imputed.X_train, imputed.X_val, imputed.X_test)])
    assert len(X) == 90 and np.isfinite(X).all()
    mean_a = np.mean([float(r[0]) for r in rows if r[0] != ""])
    assert np.isclose(X[:, 0], mean_a).sum() == 3  # the three gaps hold the column mean


def test_rows_without_a_label_are_dropped_even_when_imputing():
    header, rows = blobs_table(n=90)
    rows = [list(r) for r in rows]
    rows[5][3] = ""
    df = read(csv_bytes(header, rows))
    assert "kind (1)" in refused(table_to_dataset, df, "kind", None, DATA, limits=LIMITS)
    ds = table_to_dataset(df, "kind", None, DATA, missing="impute", limits=LIMITS)
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 89


def test_a_single_class():
    rows = [(i, i * 2, "yes") for i in range(40)]
    msg = refused(table_to_dataset, read(csv_bytes(["a", "b", "ok"], rows)), "ok", None, DATA, limits=LIMITS)
    assert msg.startswith("label 'ok' has a single class ('yes')")


def test_more_classes_than_the_limit_suggests_regression():
    rows = [(i, f"{i * 0.37:.2f}") for i in range(100)]
    df = read(csv_bytes(["a", "price"], rows))
    msg = refused(table_to_dataset, df, "price", None, DATA, task="classification", limits=LIMITS)
    assert "100 different values" in msg and "NNPLAY_MAX_CLASSES" in msg and "choose regression" in msg
    rows = [(i, f"c{i % 25}") for i in range(500)]
    msg = refused(table_to_dataset, read(csv_bytes(["a", "code"], rows)), "code", None, DATA, limits=LIMITS)
    assert "25 different values, more than the 20 classes" in msg


def test_text_label_cannot_be_regression():
    df = read(csv_bytes(*blobs_table()))
    assert "cannot be a regression target" in refused(table_to_dataset, df, "kind", None, DATA,
                                                       task="regression", limits=LIMITS)


def test_too_few_rows():
    rows = [(i, i % 2) for i in range(9)]
    msg = refused(table_to_dataset, read(csv_bytes(["a", "y"], rows)), "y", None, DATA, limits=LIMITS)
    assert msg.startswith("only 9 usable rows") and "at least 10" in msg


def test_too_few_rows_per_class_for_a_stratified_split():
    rows = [(i, "rare" if i < 4 else ("a" if i % 2 else "b")) for i in range(60)]
    msg = refused(table_to_dataset, read(csv_bytes(["x", "y"], rows)), "y", None, DATA, limits=LIMITS)
    assert msg.startswith("too few rows per class for a stratified train/validation/test split: 'rare' (4)")
    assert "at least 10 rows" in msg


def test_the_per_class_minimum_follows_the_split_fractions():
    rows = [(i, "rare" if i < 12 else "common") for i in range(100)]
    df = read(csv_bytes(["x", "y"], rows))
    table_to_dataset(df, "y", None, DATA, limits=LIMITS)  # 12 >= ceil(2 / 0.2)
    msg = refused(table_to_dataset, df, "y", None, DataConfig(val_fraction=0.1), limits=LIMITS)
    assert "at least 20 rows" in msg


def test_infinite_feature_values_are_named():
    header, rows = blobs_table()
    rows = [list(r) for r in rows]
    rows[4][1] = "inf"
    msg = refused(table_to_dataset, read(csv_bytes(header, rows)), "kind", None, DATA, limits=LIMITS)
    assert msg == "feature column 'b' has an infinite value in data row 5: fix or remove it"


def test_bad_task_and_missing_choices():
    df = read(csv_bytes(*blobs_table()))
    assert "task must be one of" in refused(table_to_dataset, df, "kind", None, DATA, task="cluster",
                                            limits=LIMITS)
    assert "missing must be one of" in refused(table_to_dataset, df, "kind", None, DATA, missing="zero",
                                               limits=LIMITS)


def test_a_column_with_no_values_is_named():
    rows = [(i, "", i % 2) for i in range(40)]
    df = read(csv_bytes(["a", "empty", "y"], rows))
    msg = refused(table_to_dataset, df, "y", ["a", "empty"], DATA, missing="impute", limits=LIMITS)
    assert msg == "feature columns with no values at all: empty: exclude them"
    ds = table_to_dataset(df, "y", None, DATA, missing="impute", limits=LIMITS)
    assert ds.feature_names == ("a",) and ds.features_left_out == {"empty": "no values at all"}


# --- command line -------------------------------------------------------------------------------------------

def test_cli_trains_on_a_csv(tmp_path, capsys):
    path = tmp_path / "flowers.csv"
    path.write_bytes(csv_bytes(*blobs_table(n=150)))
    assert main(["train", "--csv", str(path), "--label", "kind", "--features", "a,b", "--hidden", "8",
                 "--epochs", "30", "--lr", "0.03", "--json"]) == 0  # the table default 0.003 needs more epochs
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "flowers.csv" and result["test_acc"] >= 0.95
    assert result["steps"] == 30 * math.ceil(90 / 32)  # 60% of 150 rows train, batch 32


def test_cli_csv_problem_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(*blobs_table()))
    assert main(["train", "--csv", str(path), "--label", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: label column 'nope' is not in the table") and "\n" not in err
    assert main(["train", "--csv", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def _price_table(n=300, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "price": 200_000 + 50_000 * x[:, 0] - 30_000 * x[:, 1] ** 2})


def test_regression_targets_are_standardized_with_training_statistics_and_kept_in_their_units():
    df = _price_table()
    ds = table_to_dataset(df, "price", ["a", "b"], DATA, limits=LIMITS)
    assert ds.task == "regression"
    assert abs(ds.y_train.mean()) < 1e-9 and abs(ds.y_train.std() - 1) < 1e-9  # what the network learns
    assert 150_000 < ds.y_mean < 250_000 and ds.y_std > 10_000
    both = np.sort(np.concatenate([ds.targets(s) for s in ("train", "val", "test")]))
    np.testing.assert_allclose(both, np.sort(df["price"].to_numpy()), rtol=1e-12)  # the prices, in dollars
    raw = table_to_dataset(df, "price", ["a", "b"], DataConfig(standardize=False), limits=LIMITS)
    assert (raw.y_mean, raw.y_std) == (0.0, 1.0) and raw.targets("train").max() > 100_000  # standardize off: as is


def test_a_table_with_targets_in_the_hundred_thousands_trains_to_a_good_fit():
    """With the prices as they are, the same network ends at R² -4 after these epochs (squared-error
    gradients of that scale); on standardized targets it fits the smooth surface."""
    cfg = make_cfg(dataset="csv", epochs=40)
    trainer = Trainer(cfg, table_to_dataset(_price_table(), "price", ["a", "b"], cfg.data, limits=LIMITS))
    while trainer.running:
        snap = trainer.run(steps=5000)
    assert snap.last("test_r2") > 0.95  # the same in dollars or standardized
    surface = boundary_grid(trainer.engine, trainer.dataset).values
    assert np.abs(surface).max() > 100_000  # the surface is drawn in dollars (standardized: ~10)


# --- bounded before expensive: rows and fields are counted before any parser builds fields ------------------

_BOMB_PROBE = r"""
import resource, sys, time
from nncore.data.tabular import read_csv_table
from nncore.errors import ConfigError
bomb, legal = (open(p, "rb").read() for p in sys.argv[1:3])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(2):  # the faster of two tries: a busy machine may pause one
    start = time.perf_counter()
    try:
        read_csv_table(bomb)
        message = "loaded"
    except ConfigError as e:
        message = str(e)
    times.append(time.perf_counter() - start)
bomb_s = min(times)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
start = time.perf_counter()
read_csv_table(legal)
print(repr((message, bomb_s, grown, time.perf_counter() - start)))
"""


@pytest.mark.slow
def test_a_multi_megabyte_ragged_line_is_refused_quickly_and_with_bounded_memory(tmp_path):
    """One data line of 2 million fields: pandas used to build a 2-million-column frame (2 MB: 0.5 GB and
    10 s). Refusing it must cost less memory than 20 bytes per file byte and less time than reading a legal
    table of the same size."""
    import subprocess
    import sys
    size = 4 * 2**20
    bomb = b"a,b,c\n" + b"1," * (size // 2) + b"1\n"
    row = ",".join(["12.5"] * 20) + "\n"
    legal = (",".join(f"c{i}" for i in range(20)) + "\n" + row * (size // len(row))).encode()
    (tmp_path / "bomb.csv").write_bytes(bomb)
    (tmp_path / "legal.csv").write_bytes(legal)
    proc = subprocess.run([sys.executable, "-c", _BOMB_PROBE, str(tmp_path / "bomb.csv"), str(tmp_path / "legal.csv")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    message, bomb_s, grown, legal_s = eval(proc.stdout.strip().splitlines()[-1])
    assert message.startswith(f"line 2 has {size // 2 + 1:,} fields; this server accepts up to 200 columns "
                              "(NNPLAY_MAX_COLUMNS)"), message
    assert grown < 20 * len(bomb) + 32 * 2**20, f"peak memory grew by {grown / 2**20:.0f} MB"
    assert bomb_s < legal_s, f"refusing took {bomb_s:.2f} s, reading a legal table of that size {legal_s:.2f} s"


def test_fields_and_rows_are_counted_outside_quotes_and_blank_lines():
    names = [f"c{i}" for i in range(LIMITS.max_columns)]
    rows = [[f'"{i}, {j}; |"' if j == 0 else str(i * j) for j in range(len(names))] for i in range(12)]
    rows[3][0] = '"two\nlines, with commas"'
    df = read(csv_bytes(names, rows))  # as wide as the limit, quoted delimiters and line breaks inside fields
    assert df.shape == (12, LIMITS.max_columns) and df.iloc[3, 0] == "two\nlines, with commas"
    msg = refused(read, csv_bytes([*names, "one_more"], rows))
    assert msg.startswith(f"the table has {LIMITS.max_columns + 1} columns") and "NNPLAY_MAX_COLUMNS" in msg
    header, rows = blobs_table(n=60)
    spaced = csv_bytes(header, rows).replace(b"\n", b"\n\n  \n")
    assert len(read(spaced, Limits(max_rows=60))) == 60  # blank lines are not rows
    assert "more than 59 data rows" in refused(read, spaced, Limits(max_rows=59))


def test_a_row_with_more_fields_than_the_header_is_named_before_parsing():
    msg = refused(read, b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10,11\n")
    assert msg.startswith("line 4 has 5 fields, more fields than the header has columns (3)")


# --- encodings and number formats ---------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(encoding):
    header, rows = blobs_table(n=30)
    df = read(csv_bytes(header, rows, encoding=encoding))
    pd.testing.assert_frame_equal(df, read(csv_bytes(header, rows)), check_dtype=False)
    assert df.attrs["encoding"] == encoding


def test_utf16_without_a_byte_order_mark_that_does_not_decode_is_named():
    broken = csv_bytes(*blobs_table(n=30), encoding="utf-16-le") + "\ud800".encode("utf-16-le", "surrogatepass")
    msg = refused(read, broken + "1,2\n".encode("utf-16-le"))
    assert msg == ("the file looks like UTF-16 text without a byte-order mark but does not decode as such: save "
                   "it as UTF-8 CSV")


def test_quoted_numbers_with_thousands_separators_are_numbers():
    rows = [(f'"{1000 + 37 * i:,}"', f"{i * 0.5}", "big" if i % 2 else "small") for i in range(40)]
    df = read(csv_bytes(["price", "x", "size"], rows))
    assert df["price"].dtype == np.float64 and df["price"].iloc[1] == 1037.0
    assert describe_table(df)["dtypes"]["price"] == "numeric"
    semicolons = read(csv_bytes(["price", "x", "size"], [(r[0].strip('"'), *r[1:]) for r in rows], sep=";"))
    assert semicolons["price"].iloc[1] == 1037.0
    mixed = read(b'code,y\n"1,037",a\n"12,5",b\n')
    assert describe_table(mixed)["dtypes"]["code"] == "text"  # "12,5" is not a grouped number
