"""Command line: ``python -m nncore train|bench ...``.

Defaults come from the config dataclasses, so the CLI trains exactly what the app trains on first click.
A bad argument exits with code 2 and one line naming the parameter; no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

from nncore import registry
from nncore.config import DEVICES, ENGINES, DataConfig, ModelConfig, RunConfig, TrainConfig, defaults_for
from nncore.data import DATASETS, noise_help
from nncore.errors import ConfigError
from nncore.features import FEATURES


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as a single line (and exit code 2)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


def _registries_text() -> str:
    lines = ["registries:"]
    for name, reg in (("dataset", DATASETS), ("activation", registry.ACTIVATIONS),
                      ("init", registry.INITIALIZERS), ("optimizer", registry.OPTIMIZERS),
                      ("schedule", registry.SCHEDULES), ("loss", registry.LOSSES), ("engine", ENGINES)):
        lines.append(f"  {name + ':':12s}{', '.join(reg)}")
    return "\n".join(lines)


def add_network_args(p: argparse.ArgumentParser) -> None:
    """Flags for data, network and training; defaults are the config defaults (the app's)."""
    d, m, t = DataConfig(), ModelConfig(), TrainConfig()
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=d.dataset, help=f"one of: {', '.join(DATASETS)}")
    g.add_argument("--classes", type=int, default=d.classes, help="classes / spiral arms (spirals, blobs)")
    g.add_argument("--n", type=int, default=d.n_points, help="points to generate")
    g.add_argument("--noise", type=float, default=d.noise, help=noise_help())
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--val-fraction", type=float, default=d.val_fraction, help="share held out for validation")
    g.add_argument("--test-fraction", type=float, default=d.test_fraction, help="share held out for the test")
    g.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="scale inputs to zero mean, unit variance (default: on for toy sets, off for images)")
    g.add_argument("--limit", type=int, default=d.limit, help="image sets: cap on training images (0 = all)")
    g.add_argument("--data-dir", help="image sets: folder holding (or receiving) the FashionMNIST files "
                   "(default: $NNCORE_DATA_DIR or ~/.cache/nncore)")
    g.add_argument("--augment", default="", metavar="flip,shift=2,rotate=10",
                   help="image sets: augment training images with random flips / shifts (pixels) / rotations "
                        "(degrees)")
    g = p.add_argument_group("network")
    g.add_argument("--model", default=m.kind, help="mlp, or cnn for image sets (conv-pool-conv-pool-dense)")
    g.add_argument("--channels", default=",".join(map(str, m.channels)), help="cnn: the two convolutions' widths")
    g.add_argument("--hidden", help=f"layer widths, e.g. 16,16 ('' = none; default {','.join(map(str, m.hidden))}, "
                   "images 512,512)")
    g.add_argument("--activation", default=m.activation, help=", ".join(registry.ACTIVATIONS))
    g.add_argument("--init", default=m.init, help=", ".join(registry.INITIALIZERS))
    g.add_argument("--dropout", type=float, help=f"default {m.dropout:g}, tables 0.2")
    g.add_argument("--batch-norm", action="store_true")
    g.add_argument("--dtype", default=m.dtype, choices=["float32", "float64"])
    g.add_argument("--inputs", default=",".join(m.inputs), metavar="x1,x2",
                   help="input features the network reads, computed from the standardized x1, x2 of 2-D data: "
                        + ", ".join(f"{k} ({f.label})" if f.label != k else k for k, f in FEATURES.items())
                        + f" (default {','.join(m.inputs)}: the data's features as they are, for any data)")
    g = p.add_argument_group("training")
    g.add_argument("--engine", default=t.engine, help=", ".join(ENGINES))
    g.add_argument("--device", default=t.device, help="torch engine: " + ", ".join(DEVICES))
    g.add_argument("--optimizer", default=t.optimizer, help=", ".join(registry.OPTIMIZERS))
    g.add_argument("--lr", type=float, help=f"learning rate (default {t.learning_rate:g}, images 1e-3)")
    g.add_argument("--momentum", type=float, default=t.momentum)
    g.add_argument("--batch-size", type=int, help=f"default {t.batch_size}, images 256")
    g.add_argument("--schedule", default=t.schedule, help=", ".join(registry.SCHEDULES))
    g.add_argument("--epochs", type=int, help=f"default {t.epochs}, images 30")
    g.add_argument("--l1", type=float, default=t.l1)
    g.add_argument("--l2", type=float, help=f"default {t.l2:g}, tables 0.01")
    g.add_argument("--clip-norm", type=float, default=t.clip_norm, help="max gradient norm (0 = off)")
    g.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="epochs without a better validation loss before stopping (0 = off; default "
                        f"{t.early_stopping}, tables 50)")
    g.add_argument("--min-delta", type=float, default=t.min_delta,
                   help="early stopping: a validation-loss drop smaller than this is no improvement")
    g.add_argument("--restore-best", action=argparse.BooleanOptionalAction, default=t.restore_best,
                   help="early stopping: go back to the best validation-loss weights")
    g.add_argument("--step-size", type=int, default=t.step_size, help="schedule step: epochs between decays")
    g.add_argument("--gamma", type=float, default=t.gamma,
                   help="schedule step/exponential: decay factor per step (per epoch for exponential)")
    g.add_argument("--beta1", type=float, default=t.beta1, help="adam/adamw first-moment decay")
    g.add_argument("--beta2", type=float, default=t.beta2, help="adam/adamw second-moment decay")
    g.add_argument("--weight-decay", type=float, default=t.weight_decay, help="adamw's decoupled weight decay")


def config_from_args(a: argparse.Namespace) -> RunConfig:
    """Build a validated RunConfig from parsed flags (raises ConfigError)."""
    source = "csv" if getattr(a, "csv", None) else a.dataset  # a --csv table trains with the table defaults
    base = defaults_for(source) if source in DATASETS else RunConfig()  # an unknown name fails below
    pick = lambda value, default: default if value is None else value  # noqa: E731
    data = DataConfig(dataset=a.dataset, n_points=a.n, noise=a.noise, classes=a.classes, seed=a.seed,
                      val_fraction=a.val_fraction, test_fraction=a.test_fraction,
                      standardize=pick(a.standardize, base.data.standardize), limit=a.limit)
    model = ModelConfig(hidden=pick(a.hidden, base.model.hidden), activation=a.activation, init=a.init,
                        dropout=pick(a.dropout, base.model.dropout), batch_norm=a.batch_norm, dtype=a.dtype,
                        kind=a.model, channels=a.channels, inputs=a.inputs)
    train = TrainConfig(engine=a.engine, device=a.device, optimizer=a.optimizer,
                        learning_rate=pick(a.lr, base.train.learning_rate),
                        momentum=a.momentum, batch_size=pick(a.batch_size, base.train.batch_size),
                        schedule=a.schedule, epochs=pick(a.epochs, base.train.epochs), l1=a.l1,
                        l2=pick(a.l2, base.train.l2), clip_norm=a.clip_norm,
                        early_stopping=pick(a.early_stopping, base.train.early_stopping), min_delta=a.min_delta,
                        restore_best=a.restore_best, step_size=a.step_size, gamma=a.gamma, beta1=a.beta1,
                        beta2=a.beta2, weight_decay=a.weight_decay, **parse_augment(a.augment))
    return RunConfig(data, model, train)


def parse_augment(text: str) -> dict:
    """``"flip,shift=2,rotate=10"`` → TrainConfig augmentation settings (raises ConfigError)."""
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        try:
            if name == "flip" and not value:
                out["augment_flip"] = True
            elif name == "shift":
                out["augment_shift"] = int(value)
            elif name == "rotate":
                out["augment_rotate"] = float(value)
            else:
                raise ValueError
        except ValueError:
            raise ConfigError(f"augment must list flip, shift=PIXELS, rotate=DEGREES, got {part!r}",
                              "augment") from None
    return out


def _text_progress(name: str, done: int, total: int | None) -> None:
    """A download progress bar on stderr (stdout stays for results)."""
    share = f"{done / total:6.1%}" if total else f"{done / 1e6:.1f} MB"
    sys.stderr.write(f"\rdownloading {name}: {share}")
    if total and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def dataset_from_args(a: argparse.Namespace, cfg: RunConfig):
    """The Dataset the flags describe: a CSV, an image set (downloaded on first use), or None for toy sets."""
    if a.csv:
        return dataset_from_csv(a, cfg)
    from nncore.data import IMAGE_SHAPES, make_dataset
    if cfg.data.dataset in IMAGE_SHAPES:
        return make_dataset(cfg.data, data_dir=a.data_dir, progress=_text_progress)
    return None


def add_csv_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("your own data (instead of --dataset)")
    g.add_argument("--csv", metavar="FILE", help="train on this CSV table (header line, one row per sample)")
    g.add_argument("--label", metavar="COLUMN", help="the column to predict (default: the last column)")
    g.add_argument("--features", metavar="A,B,...", help="feature columns (default: all other numeric ones)")
    g.add_argument("--task", default="auto", choices=["auto", "classification", "regression"])
    g.add_argument("--missing", choices=["drop", "impute"], help="drop rows with missing values, or impute "
                   "column means (default: refuse missing values)")


def dataset_from_csv(a: argparse.Namespace, cfg: RunConfig):
    """The Dataset of ``--csv`` with ``--label``/``--features``/``--task``/``--missing`` (raises ConfigError)."""
    import os

    from nncore.data.tabular import describe_table, read_csv_table, table_to_dataset
    try:
        with open(a.csv, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read {a.csv}: {e.strerror or e}", "csv") from None
    df = read_csv_table(data)
    label = a.label if a.label is not None else describe_table(df)["suggested_label"]
    features = [f.strip() for f in a.features.split(",") if f.strip()] if a.features is not None else None
    return table_to_dataset(df, label, features, cfg.data, task=a.task, missing=a.missing,
                            name=os.path.basename(a.csv))


def csv_config(a: argparse.Namespace, cfg: RunConfig) -> RunConfig:
    """The run config of a ``--csv`` run names the table and its columns, not a generated dataset."""
    from dataclasses import replace
    if not a.csv:
        return cfg
    features = tuple(f.strip() for f in a.features.split(",") if f.strip()) if a.features else ()
    return cfg.replace(data=replace(cfg.data, dataset="csv", table=os.path.basename(a.csv), label=a.label or "",
                                    features=features, task=a.task, missing=a.missing or "refuse"))


def _clean(v):
    """JSON-safe: NaN/inf become null."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


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
        result[f"{split}_loss"] = _clean(snap.final(f"{split}_loss"))
        score = _clean(snap.final(f"{split}_acc"))
        result[f"{split}_acc"] = None if regression else score
        if regression:
            result[f"{split}_r2"] = score
    if not regression:
        result["test_accuracy_per_class"] = per_class_accuracy(trainer, "test")
    result["diagnostics"] = diagnostics_of(trainer, snap)
    return result


def _print_progress(trainer) -> None:
    snap = trainer.snapshot()
    print(f"epoch {snap.epoch:5d}  step {snap.step:7d}  train loss {snap.last('train_loss'):.4f}  "
          f"val loss {snap.last('val_loss'):.4f}", flush=True)


def cmd_train(a: argparse.Namespace) -> int:
    started = getattr(a, "started", None) or time.perf_counter()  # main() sets it
    from nncore.train.trainer import Trainer
    cfg = config_from_args(a)
    if a.save:
        check_writable(a.save)
    trainer = Trainer(csv_config(a, cfg), dataset_from_args(a, cfg))
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


def cmd_bench(a: argparse.Namespace) -> int:
    from nncore.train import bench
    return bench.main(a)


# Modules that add their own subcommands: each defines ``add_command(subparsers)`` and sets ``func``.
COMMAND_MODULES: list[str] = ["nncore.io.checkpoint"]
COMMAND_MODULES.append("nncore.search.study")
COMMAND_MODULES.append("nncore.io.export")
COMMAND_MODULES.append("nncore.lessons.catalog")
COMMAND_MODULES.append("nncore.inspect.gradcheck")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m nncore", description="Train and inspect small neural networks.",
                           epilog=_registries_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    p = sub.add_parser("train", help="train one network and print its metrics",
                       epilog=_registries_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_network_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--save", metavar="FILE", help="write a checkpoint (safetensors) after training")
    add_csv_args(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("bench", help="speed benchmarks (ratios against references run in the same process)")
    p.add_argument("suite", choices=["toy", "defaults", "mlp", "auto"],
                   help="toy: small-network steps/s and grid evaluation time; "
                        "auto: numpy/torch step times beside the engine auto picks, for a few MLP shapes; "
                        "defaults: seconds for the default settings to reach 95%% test accuracy; "
                        "mlp: 784-512-512-10 epoch time against the GEMM roofline")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.set_defaults(func=cmd_bench)
    import importlib
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_command(sub)
    return parser


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """Run one command; ``started`` (perf_counter) is when the command began, for ``wall_seconds``."""
    started = time.perf_counter() if started is None else started
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
