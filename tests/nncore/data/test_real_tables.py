"""The bundled real tables and the table defaults: real names, the linear baseline reached, uploaded CSVs
trained alike, end-of-run advice that fits what happened, the Playground and the CLI."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nncore.inspect import advice
from nncore.cli.main import build_parser, config_from_args, main
from nncore.config import TABLE_DEFAULTS, DataConfig, RunConfig, defaults_for
from nncore.data import REAL_TABLES, make_dataset
from nncore.data.tabular import read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.inspect.grid import boundary_grid
from nncore.limits import Limits, check_run
from nncore.train.trainer import Trainer

from tests.helpers import train

REPO = Path(__file__).resolve().parents[3]
SHAPES = {"iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2), "diabetes": (442, 10, 0),
          "digits_table": (1797, 64, 10)}
MARGIN = {"classification": 0.02, "regression": 0.1}  # accuracy points / R² below the linear baseline allowed


def run_to_end(cfg, ds=None):
    trainer = Trainer(cfg, ds)
    while trainer.running:
        trainer.run(steps=100_000)
    return trainer, trainer.snapshot()


def linear_score(ds) -> float:
    from sklearn.linear_model import LogisticRegression, Ridge
    model = Ridge() if ds.task == "regression" else LogisticRegression(max_iter=5000)
    return float(model.fit(ds.X_train, ds.y_train).score(ds.X_test, ds.y_test))


@pytest.mark.parametrize("name", list(SHAPES))
def test_bundled_tables_have_their_rows_real_feature_names_and_class_names(name):
    rows, features, classes = SHAPES[name]
    ds = make_dataset(DataConfig(dataset=name))
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == rows == REAL_TABLES[name].rows
    assert ds.n_features == features and len(ds.feature_names) == features
    assert ds.n_classes == classes == REAL_TABLES[name].classes
    assert not any(f.startswith("x") and f[1:].isdigit() for f in ds.feature_names)
    assert len(set(ds.class_names)) == classes
    if name == "iris":
        assert ds.class_names == ("setosa", "versicolor", "virginica")
        assert ds.feature_names[0] == "sepal length (cm)"
    if name == "diabetes":  # a standardized target, reported in its own units
        assert ds.task == "regression" and abs(ds.y_train.mean()) < 1e-12 and ds.y_std > 10


@pytest.mark.slow
def test_loading_the_registry_imports_no_sklearn_datasets():
    code = "import sys, nncore.data, nncore.config; print('sklearn.datasets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
@pytest.mark.parametrize("name, seeds", [("diabetes", (0, 1, 2)), ("iris", (0, 1, 2)), ("wine", (0, 1, 2)),
                                         ("breast_cancer", (0, 1))])
def test_table_defaults_reach_the_linear_baseline(name, seeds):
    """Mean test score over seeds >= the linear model's on the same splits minus the margin; diabetes (which
    the toy defaults overfit to R² -0.8) on every seed."""
    ours, linear = [], []
    for seed in seeds:
        cfg = defaults_for(name)
        cfg = cfg.replace(data=replace(cfg.data, seed=seed))
        ds = make_dataset(cfg.data)
        _, snap = run_to_end(cfg, ds)
        ours.append(snap.final(f"test_{snap.score}"))  # accuracy, or R² for diabetes
        linear.append(linear_score(ds))
    margin = MARGIN[REAL_TABLES[name].task]
    assert np.mean(ours) >= np.mean(linear) - margin, (ours, linear)
    if name == "diabetes":
        assert min(o - lin for o, lin in zip(ours, linear)) >= -margin, (ours, linear)


@pytest.mark.slow
def test_uploaded_csv_gets_the_table_defaults_and_the_same_result(tmp_path):
    """diabetes written as a CSV and uploaded trains with the same defaults, on the same split, to the same R²."""
    from sklearn.datasets import load_diabetes
    bunch = load_diabetes(as_frame=True)
    path = tmp_path / "diabetes.csv"
    bunch.frame.to_csv(path, index=False)
    csv_cfg = defaults_for("csv")
    assert csv_cfg.model == defaults_for("diabetes").model and csv_cfg.train == defaults_for("diabetes").train
    assert csv_cfg.train.early_stopping > 0 and csv_cfg.train != RunConfig().train
    ds = table_to_dataset(read_csv_table(path.read_bytes()), "target", None, csv_cfg.data, name="diabetes.csv")
    builtin = make_dataset(defaults_for("diabetes").data)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(ds.X_train, builtin.X_train, rtol=0, atol=64 * eps)
    np.testing.assert_allclose(ds.y_test, builtin.y_test, rtol=0, atol=64 * eps)
    _, snap = run_to_end(csv_cfg, ds)
    assert snap.final("test_r2") >= linear_score(ds) - MARGIN["regression"]
    args = build_parser().parse_args(["train", "--csv", str(path)])  # the CLI's --csv takes them too
    assert config_from_args(args).train == csv_cfg.train and config_from_args(args).model == csv_cfg.model


@pytest.mark.slow
def test_advice_overfitting_suggests_regularization_not_more_epochs():
    _, snap = train(dataset="diabetes", epochs=120)  # the toy defaults on a small table: memorizes it
    assert snap.status == "done"
    assert "Overfitting" in snap.message and "early stopping" in snap.message and "L2" in snap.message
    assert "raise Epochs" not in snap.message


def test_advice_still_improving_says_raise_epochs():
    _, snap = train(dataset="spirals", epochs=5)
    assert snap.status == "done" and "still falling" in snap.message and "raise Epochs" in snap.message


def test_advice_levelled_off_says_more_epochs_will_not_help():
    history = {"train_loss": np.linspace(1.0, 0.5, 50), "val_loss": np.r_[np.linspace(1.0, 0.6, 25), [0.6] * 25]}
    message = advice.end_of_run(history, 50, 1e-4)
    assert "levelled off" in message and "raise Epochs" not in message and "Overfitting" not in message
    falling = {"train_loss": np.linspace(1.0, 0.5, 50), "val_loss": np.linspace(1.0, 0.6, 50)}
    assert "raise Epochs" in advice.end_of_run(falling, 50, 1e-4)
    assert "raise Epochs" not in advice.end_of_run(falling, 50, 0.1)  # falls by less than min_delta per tenth


@pytest.mark.slow
def test_table_defaults_stop_early_and_say_the_weights_were_restored():
    _, snap = run_to_end(defaults_for("diabetes"))
    assert snap.status == "early_stopped" and "restored" in snap.message
    assert snap.best_epoch is not None and snap.best_epoch < snap.epoch


@pytest.mark.parametrize("name", ["wine", "digits_table"])
def test_tables_are_drawn_in_their_pca_plane(name):
    trainer = Trainer(defaults_for(name))
    trainer.run(steps=1)
    grid = boundary_grid(trainer.engine, trainer.dataset)
    assert grid is not None and grid.is_projection and grid.axes == ("PC1", "PC2")


def test_split_fractions_too_small_for_a_table_are_refused_by_name():
    with pytest.raises(ConfigError, match=r"val_fraction and test_fraction must be >= 0.04 each for iris"):
        DataConfig(dataset="iris", val_fraction=0.03)
    DataConfig(dataset="iris", val_fraction=0.05)


def test_point_limit_does_not_apply_to_a_fixed_table():
    cfg = RunConfig(DataConfig(dataset="wine", n_points=9000))
    check_run(cfg, Limits(max_points=5000))
    with pytest.raises(ConfigError, match="n_points"):
        check_run(RunConfig(DataConfig(dataset="moons", n_points=9000)), Limits(max_points=5000))


def test_cli_trains_wine_with_the_table_defaults(capsys):
    assert main(["train", "--dataset", "wine", "--epochs", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "wine"
    assert result["config"]["train"]["early_stopping"] == TABLE_DEFAULTS.train.early_stopping
    assert result["config"]["model"]["dropout"] == TABLE_DEFAULTS.model.dropout
    assert set(result["test_accuracy_per_class"]) == {"cultivar 1", "cultivar 2", "cultivar 3"}


@pytest.mark.slow
def test_playground_offers_the_tables_with_their_defaults():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    options = at.sidebar.selectbox(key="pg.dataset").options
    assert {"iris", "wine", "breast_cancer", "diabetes", "digits_table"} <= set(options)
    at.sidebar.selectbox(key="pg.dataset").set_value("wine").run()
    assert not at.exception
    keys = {w.key for w in [*at.sidebar.slider, *at.sidebar.number_input]}
    assert not keys & {"pg.noise", "pg.n_points", "pg.classes"}  # none of them applies to a fixed table
    assert at.sidebar.number_input(key="pg.early_stopping").value == TABLE_DEFAULTS.train.early_stopping
    assert at.sidebar.slider(key="pg.dropout").value == TABLE_DEFAULTS.model.dropout
    assert at.sidebar.select_slider(key="pg.learning_rate").value == TABLE_DEFAULTS.train.learning_rate
    next(b for b in at.button if b.label == "Step").click().run()
    assert not at.exception and not at.error
    at.sidebar.selectbox(key="pg.dataset").set_value("moons").run()  # back to a toy set: its defaults again
    assert at.sidebar.number_input(key="pg.early_stopping").value == RunConfig().train.early_stopping
    assert at.sidebar.slider(key="pg.noise").value == RunConfig().data.noise
