"""Compare names each run's score for what it is: accuracy for a classification, R² for a regression (drawn
points with real-valued labels, an uploaded regression table), in the table, the chart and its title."""

import numpy as np
import pandas as pd

from nncore.config import DataConfig
from nncore.data.tabular import table_to_dataset
from nncore.train.trainer import Trainer
from ui.panels import compare
from ui.session.state import RunRecord

from tests.helpers import make_cfg


def _record(name: str, trainer: Trainer) -> RunRecord:
    while trainer.running:
        trainer.run(steps=10_000)
    return RunRecord(name, "playground", trainer.snapshot())


def _uploaded_regression() -> Trainer:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "price": 200_000 + 50_000 * x[:, 0] - 20_000 * x[:, 1]})
    cfg = make_cfg(dataset="csv", epochs=3, engine="numpy")
    return Trainer(cfg, table_to_dataset(table, "price", ["a", "b"], cfg.data))


def _drawn_regression() -> Trainer:
    rng = np.random.default_rng(1)
    points = tuple((float(a), float(b), float(a + 0.5 * b)) for a, b in rng.uniform(-1, 1, size=(60, 2)))
    cfg = make_cfg(epochs=3, engine="numpy").replace(data=DataConfig(dataset="drawn", points=points,
                                                                     task="regression"))
    return Trainer(cfg)


def test_regression_runs_are_labelled_r2_and_classifications_accuracy():
    upload, drawn = _record("upload", _uploaded_regression()), _record("drawn", _drawn_regression())
    moons = _record("moons", Trainer(make_cfg(dataset="moons", n_points=100, epochs=3, engine="numpy")))
    assert upload.snapshot.config.data.dataset == "csv" and drawn.snapshot.config.data.dataset == "drawn"
    for regression in ([upload], [drawn], [upload, drawn]):
        rows = compare.table_rows(regression)
        assert all(not k.endswith(" acc") for row in rows for k in row)
        for row, record in zip(rows, regression):
            assert row["val R²"] == round(record.snapshot.final("val_r2"), 4)
        assert compare.score_title([r.snapshot for r in regression]) == "Validation R²"
        chart = compare.overlay_chart({r.name: r.snapshot for r in regression}, "score", "t")
        values = [p["value"] for p in chart["datasets"]["curves"]]
        expected = np.concatenate([r.snapshot.history["val_r2"] for r in regression])
        np.testing.assert_allclose(values, expected)  # the R² curves, every epoch
    rows = compare.table_rows([moons, upload])
    assert rows[0]["val acc"] == round(moons.snapshot.final("val_acc"), 4) and rows[0]["val R²"] is None
    assert rows[1]["val R²"] == round(upload.snapshot.final("val_r2"), 4) and rows[1]["val acc"] is None
    assert compare.score_title([moons.snapshot, upload.snapshot]) == "Validation accuracy (R² for regression)"
    assert compare.score_title([moons.snapshot]) == "Validation accuracy"
    assert "val R²" not in compare.table_rows([moons])[0]
