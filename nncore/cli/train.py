"""``python -m nncore train [flags] [--json] [--save FILE]``: train one network and print its metrics.

Defaults come from the config dataclasses, so the CLI trains exactly what the app trains on first click.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from nncore.cli.main import (_registries_text, add_csv_args, add_network_args, config_from_args, csv_config,
                             dataset_from_args)
from nncore.errors import ConfigError
from nncore.inspect.metrics import finite_or_none


def add_command(subparsers) -> None:
    p = subparsers.add_parser("train", help="train one network and print its metrics",
                              epilog=_registries_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_network_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--save", metavar="FILE", help="write a checkpoint (safetensors) after training")
    add_csv_args(p)
    p.set_defaults(func=cmd_train)


def check_writable(path: str) -> None:
    """Refuse a ``--save`` path that cannot be written, before any training (raises ConfigError)."""
    fix = "choose a writable file path for --save"
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConfigError(f"cannot save to {path}: it is a folder; {fix}", "save")
    if not os.path.isdir(folder):
        raise ConfigError(f"cannot save to {path}: folder {folder} does not exist; {fix}", "save")
    existed = os.path.exists(path)
    try:
        open(path, "ab").close()  # appends nothing: an existing checkpoint stays as it is until replaced
    except OSError as e:
        raise ConfigError(f"cannot save to {path}: {e.strerror or e}; {fix}", "save") from None
    if not existed:
        os.remove(path)


def diagnostics_of(trainer, snap) -> list[dict]:
    """The app's diagnostics (nncore.inspect.diagnostics) of a finished run, one line each."""
    from nncore.inspect.diagnostics import diagnose
    return [{"id": f.id, "severity": f.severity,
             "message": " ".join(f"{f.title}: {f.detail}; try: {f.fix}".split())}
            for f in diagnose(trainer, snapshot=snap)]


def per_class_accuracy(trainer, split: str) -> dict[str, float | None]:
    """Share of each class's ``split`` samples the held weights classify correctly (the rule of
    ``metrics.accuracy``, so the shares weighted by class size give the split's accuracy)."""
    import numpy as np
    ds = trainer.dataset
    X, y = ds.split(split)
    z = np.asarray(trainer.engine.forward(X))
    pred = z.argmax(axis=1) if ds.task == "multiclass" else (z.reshape(-1) > 0).astype(np.int64)
    return {name: float(np.mean(pred[y == c] == c)) if np.any(y == c) else None
            for c, name in enumerate(ds.class_names)}


def run_result(trainer, snap) -> dict:
    """The JSON result of a run: every metric is that of the weights the run holds (the best epoch's when
    early stopping restored it); ``epochs`` counts the epochs trained."""
    regression = trainer.dataset.task == "regression"
    result = {"dataset": trainer.dataset.name, "engine": trainer.engine.name,
              "device": str(trainer.engine.device), "epochs": snap.epoch, "best_epoch": snap.best_epoch,
              "steps": snap.step, "status": snap.status, "diverged": snap.status == "diverged",
              "message": snap.message}
    for split in ("train", "val", "test"):
        result[f"{split}_loss"] = finite_or_none(snap.final(f"{split}_loss"))
        result[f"{split}_acc"] = finite_or_none(snap.final(f"{split}_acc"))  # None for a regression
        if regression:
            result[f"{split}_r2"] = finite_or_none(snap.final(f"{split}_r2"))
    if not regression:
        result["test_accuracy_per_class"] = per_class_accuracy(trainer, "test")
    result["diagnostics"] = diagnostics_of(trainer, snap)
    return result


def _print_progress(trainer) -> None:
    snap = trainer.snapshot()
    print(f"epoch {snap.epoch:5d}  step {snap.step:7d}  train loss {snap.last('train_loss'):.4f}  "
          f"val loss {snap.last('val_loss'):.4f}", flush=True)


def cmd_train(a) -> int:
    started = getattr(a, "started", None) or time.perf_counter()  # main() sets it
    from nncore.train.trainer import Trainer
    cfg = config_from_args(a)
    if a.save:
        check_writable(a.save)
    trainer = Trainer(csv_config(a, cfg), dataset_from_args(a, cfg))
    from nncore.engines import set_threads_for
    set_threads_for(trainer.engine)  # the thread count is the process's: its entry point chooses it
    cfg = trainer.cfg
    report_every = max(1, cfg.train.epochs // 10)
    while trainer.running:
        before = trainer.epoch // report_every
        trainer.advance(steps=200)
        if not a.json and trainer.epoch // report_every > before:
            _print_progress(trainer)
    snap = trainer.snapshot()
    result = run_result(trainer, snap)
    result["config"] = cfg.to_dict()
    result["inputs"] = list(cfg.model.inputs)  # the network's input features, in order
    if a.csv:  # the network's inputs (categories one-hot encoded) and the columns not used, with the reason
        result["features"] = list(trainer.dataset.feature_names)
        result["features_left_out"] = dict(getattr(trainer.dataset, "features_left_out", {}))
    code, save_error = 0, ""
    if a.save:
        from nncore.io.checkpoint import save_checkpoint_file
        try:
            save_checkpoint_file(trainer, a.save)
            result["checkpoint"] = a.save
        except OSError as e:
            code, save_error = 2, f"error: cannot save to {a.save}: {e.strerror or e}; the results above are " \
                                  "not saved (choose a writable file path for --save)"
            result["checkpoint"] = None
    result["seconds"] = round(trainer.train_seconds, 3)            # inside training steps and epochs
    result["wall_seconds"] = round(time.perf_counter() - started, 3)  # the whole command
    if a.json:
        print(json.dumps(result))
    else:
        _print_text(result, snap)
    if save_error:
        print(save_error, file=sys.stderr)
    return code


def _print_text(result: dict, snap) -> None:
    if snap.message:
        print(snap.message)
    acc = "  ".join(f"{s} acc {result[f'{s}_acc']:.3f}" for s in ("train", "val", "test")
                    if result[f"{s}_acc"] is not None)
    kept = f" ({snap.kept_note})" if snap.kept_note else ""
    print(f"{result['engine']}: {snap.epoch} epochs{kept}, {snap.step} steps in {result['seconds']:.2f}s "
          f"training ({result['wall_seconds']:.2f}s in all)  test loss {result['test_loss']}  {acc}")
    for d in result["diagnostics"]:
        print(f"{d['severity']}: {d['message']}")
    if result.get("checkpoint"):
        print(f"checkpoint saved to {result['checkpoint']}")
