"""The table defaults against scikit-learn on the five bundled real tables, same splits, three seeds.

    python benchmarks/tables.py [--seeds 0,1,2] [--tables iris,wine]

For each table and seed: ours (``defaults_for(table)``, trained to its end; the score of the weights it
keeps), scikit-learn's MLP with the same hidden layers (its defaults otherwise, up to 1000 iterations) and the
linear baseline (LogisticRegression / Ridge), all fitted on the same training split and scored on the same
test split (accuracy, or R² for diabetes). Prints a table of mean and min per model, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nncore.config import defaults_for  # noqa: E402
from nncore.data import REAL_TABLES, make_dataset  # noqa: E402
from nncore.train.trainer import Trainer  # noqa: E402


def ours(cfg, ds) -> tuple[float, int, str]:
    """Test score of the weights the run keeps, the epochs it ran and how it ended."""
    trainer = Trainer(cfg, ds)
    while trainer.running:
        trainer.run(steps=100_000)
    snap = trainer.snapshot()
    return snap.final(f"test_{snap.score}"), snap.epoch, snap.status


def sklearn_models(ds, hidden, seed):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    if ds.task == "regression":
        return MLPRegressor(hidden_layer_sizes=hidden, max_iter=1000, random_state=seed), Ridge()
    return MLPClassifier(hidden_layer_sizes=hidden, max_iter=1000, random_state=seed), LogisticRegression(max_iter=5000)


def compare(name: str, seed: int) -> dict:
    cfg = defaults_for(name)
    cfg = cfg.replace(data=replace(cfg.data, seed=seed))
    ds = make_dataset(cfg.data)
    start = time.perf_counter()
    score, epochs, status = ours(cfg, ds)
    row = {"table": name, "seed": seed, "ours": score, "epochs": epochs, "status": status,
           "ours_seconds": round(time.perf_counter() - start, 2)}
    mlp, linear = sklearn_models(ds, cfg.model.hidden, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence warnings: the iteration cap is part of the setup
        row["sklearn_mlp"] = float(mlp.fit(ds.X_train, ds.y_train).score(ds.X_test, ds.y_test))
    row["linear"] = float(linear.fit(ds.X_train, ds.y_train).score(ds.X_test, ds.y_test))
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--tables", default=",".join(REAL_TABLES))
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = [compare(name, seed) for name in a.tables.split(",") for seed in seeds]
    models = ("ours", "sklearn_mlp", "linear")
    print(f"{'table':14s}{'score':6s}" + "".join(f"{m + ' mean/min':>22s}" for m in models) + f"{'ours-linear':>13s}")
    summary = {}
    for name in a.tables.split(","):
        mine = [r for r in rows if r["table"] == name]
        stats = {m: (sum(r[m] for r in mine) / len(mine), min(r[m] for r in mine)) for m in models}
        gap = stats["ours"][0] - stats["linear"][0]
        summary[name] = {m: {"mean": round(v[0], 4), "min": round(v[1], 4)} for m, v in stats.items()}
        summary[name]["ours_minus_linear_mean"] = round(gap, 4)
        summary[name]["epochs"] = [r["epochs"] for r in mine]
        score = "R²" if REAL_TABLES[name].task == "regression" else "acc"
        print(f"{name:14s}{score:6s}" + "".join(f"{v[0]:>14.3f} / {v[1]:.3f}" for v in stats.values())
              + f"{gap:>+13.3f}")
    print(json.dumps({"seeds": seeds, "tables": summary, "runs": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
