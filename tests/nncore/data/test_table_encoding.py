"""Own-data columns are never dropped in silence: categorical columns are one-hot encoded (and the encoding
travels with checkpoints and exports), ID-like and unusable columns are left out with their reason."""

import json

import numpy as np
import pandas as pd
import pytest

from nncore.io.checkpoint import load_checkpoint, save_checkpoint, trainer_from_checkpoint
from nncore.cli.main import main
from nncore.config import DataConfig
from nncore.data.columns import MAX_CATEGORIES, encode, plan_features
from nncore.data.tabular import describe_table, read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.limits import Limits
from nncore.train.trainer import Trainer
from tests.helpers import make_cfg

LIMITS = Limits()


def shop_table(n=240, seed=0) -> bytes:
    """Whether a customer buys: decided by the shop (a text column) and the price (quoted, with thousands
    separators); each row has a unique customer name (an ID)."""
    rng = np.random.default_rng(seed)
    lines = ["customer,shop,price,noise,buys"]
    for i in range(n):
        shop = ("north", "south", "east")[i % 3]
        price = int(rng.integers(500, 3000))
        buys = "yes" if (shop == "north") != (price > 1750) else "no"
        lines.append(f'cust{i:04d},{shop},"{price:,}",{rng.normal():.3f},{buys}')
    return ("\n".join(lines) + "\n").encode()


def trained_shop(epochs=60):
    df = read_csv_table(shop_table(), LIMITS)
    cfg = make_cfg(dataset="csv", hidden=(8,), epochs=epochs)
    trainer = Trainer(cfg, table_to_dataset(df, "buys", None, cfg.data, limits=LIMITS, name="shop.csv"))
    while trainer.running:
        trainer.run(steps=5000)
    return df, trainer


def test_a_text_column_is_one_hot_encoded_and_an_id_column_left_out_with_its_reason():
    df = read_csv_table(shop_table(), LIMITS)
    assert df["price"].dtype == np.float64  # "1,037" is a number
    ds = table_to_dataset(df, "buys", None, DataConfig(), limits=LIMITS)
    assert ds.feature_names == ("shop=east", "shop=north", "shop=south", "price", "noise")
    assert ds.features_left_out == {"customer": "a different value in every row (an ID)"}
    assert ds.encoding == {"columns": ["shop", "price", "noise"], "categories": {"shop": ["east", "north", "south"]}}
    X = np.concatenate([ds.unscale(s) for s in (ds.X_train, ds.X_val, ds.X_test)])
    assert set(np.round(X[:, :3], 9).ravel()) == {0.0, 1.0} and np.all(np.round(X[:, :3].sum(axis=1), 9) == 1)
    d = describe_table(df)
    assert d["suggested_features"] == ["shop", "price", "noise"]
    assert d["left_out"] == {"customer": "a different value in every row (an ID)"}


def test_the_network_learns_from_the_categorical_column():
    """The label depends on the shop: without it no network beats ~2/3 accuracy on these rows."""
    _, trainer = trained_shop()
    assert trainer.snapshot().last("test_acc") >= 0.9


def test_reasons_for_leaving_columns_out_and_refusing_chosen_ones():
    n = 60
    df = pd.DataFrame({"many": [f"v{i % (MAX_CATEGORIES + 1)}" for i in range(n)],
                       "same": ["x"] * n, "ok": ["a", "b"] * (n // 2), "y": [0, 1] * (n // 2)})
    plan = plan_features(df, "y")
    assert plan.columns == ("ok",)
    assert plan.left_out == {"many": f"{MAX_CATEGORIES + 1} different text values (more than {MAX_CATEGORIES} "
                                     "categories)", "same": "the same value in every row"}
    with pytest.raises(ConfigError, match="^feature columns that cannot be used: 'same': the same value"):
        table_to_dataset(df, "y", ["ok", "same"], DataConfig(), limits=LIMITS)
    chosen = plan_features(df, "y", ["ok"])
    assert chosen.left_out == {"many": "not chosen", "same": "not chosen"}


def test_missing_categories_are_refused_dropped_or_imputed_with_the_most_frequent():
    rows = [f"{i},{'' if i in (3, 7) else ('a' if i % 3 else 'b')},{i % 2}" for i in range(60)]
    df = read_csv_table(("x,cat,y\n" + "\n".join(rows) + "\n").encode(), LIMITS)
    with pytest.raises(ConfigError, match=r"missing values in cat \(2\)"):
        table_to_dataset(df, "y", None, DataConfig(), limits=LIMITS)
    dropped = table_to_dataset(df, "y", None, DataConfig(), missing="drop", limits=LIMITS)
    assert len(dropped.y_train) + len(dropped.y_val) + len(dropped.y_test) == 58
    ds = table_to_dataset(df, "y", None, DataConfig(standardize=False), missing="impute", limits=LIMITS)
    X = np.concatenate([ds.X_train, ds.X_val, ds.X_test])
    assert ds.feature_names == ("x", "cat=a", "cat=b")
    row = {int(x): (a, b) for x, a, b in X}
    assert row[3] == row[7] == (1.0, 0.0)  # "a" is the most frequent category


def test_encode_gives_all_zeros_for_an_unseen_category():
    enc = {"columns": ["c", "x"], "categories": {"c": ["p", "q"]}}
    X = encode(pd.DataFrame({"c": ["q", "zz", " p "], "x": [1.5, 2.0, 3.0]}), enc)
    np.testing.assert_array_equal(X, [[0, 1, 1.5], [0, 0, 2.0], [1, 0, 3.0]])


def test_checkpoint_round_trip_predicts_identically_on_a_table_with_a_categorical_column(tmp_path):
    df, trainer = trained_shop(epochs=5)
    ckpt = load_checkpoint(save_checkpoint(trainer), LIMITS)
    assert ckpt.signature.encoding == trainer.dataset.encoding
    again = table_to_dataset(df, "buys", None, trainer.cfg.data, limits=LIMITS, name="shop.csv")
    restored = trainer_from_checkpoint(ckpt, again)
    for split in ("train", "test"):
        np.testing.assert_array_equal(restored.engine.forward(restored.dataset.split(split)[0]),
                                      trainer.engine.forward(trainer.dataset.split(split)[0]))
    # raw rows through the stored encoding and scaling give the same outputs as the app
    raw = df.drop(columns=["customer", "buys"]).iloc[:25]
    X = (encode(raw, ckpt.signature.encoding) - ckpt.signature.mean) / ckpt.signature.std
    want = (encode(raw, trainer.dataset.encoding) - trainer.dataset.mean) / trainer.dataset.std
    np.testing.assert_array_equal(restored.engine.forward(X), trainer.engine.forward(want))


def test_a_damaged_encoding_in_a_checkpoint_is_refused():
    from safetensors.numpy import load, save
    _, trainer = trained_shop(epochs=1)
    data = save_checkpoint(trainer)
    from nncore.io.checkpoint import _header_metadata
    meta = _header_metadata(data)
    info = json.loads(meta["dataset"])
    info["encoding"]["categories"]["shop"] = ["east", "west"]
    meta["dataset"] = json.dumps(info)
    with pytest.raises(ConfigError, match="column encoding is damaged or does not match its features"):
        load_checkpoint(save(load(data), metadata=meta), LIMITS)


def test_cli_json_lists_the_features_used_and_the_columns_left_out(tmp_path, capsys):
    path = tmp_path / "shop.csv"
    path.write_bytes(shop_table(n=120))
    assert main(["train", "--csv", str(path), "--label", "buys", "--hidden", "4", "--epochs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["features"] == ["shop=east", "shop=north", "shop=south", "price", "noise"]
    assert result["features_left_out"] == {"customer": "a different value in every row (an ID)"}



@pytest.mark.slow
def test_the_app_shows_the_inputs_and_the_columns_left_out_as_plain_text():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from tests.app.test_pages import _file_uploader, button
    at = AppTest.from_file(str(Path(__file__).resolve().parents[3] / "app.py"), default_timeout=60)
    at.run()
    at.sidebar.selectbox(key="pg.dataset").set_value("csv").run()
    table = shop_table(n=120).replace(b"customer,", b"[who](https://evil.example),", 1)
    _file_uploader(at, "pg.csv_file").upload("shop.csv", table).run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.sidebar.text]
    assert "Inputs: shop=east, shop=north, shop=south, price, noise" in texts
    assert "Left out: [who](https://evil.example) (a different value in every row (an ID))" in texts
    at.sidebar.multiselect(key=next(m.key for m in at.sidebar.multiselect)).set_value(["shop", "price"]).run()
    texts = [t.value for t in at.sidebar.text]
    assert "Inputs: shop=east, shop=north, shop=south, price" in texts
    assert "Left out: noise (not chosen); [who](https://evil.example) (a different value in every row (an ID))" in texts
    button(at, "Step").click().run()
    assert not at.exception, at.exception
    trainer = at.session_state["nnplay"]["run.playground"].trainer
    assert trainer.dataset.feature_names == ("shop=east", "shop=north", "shop=south", "price")
