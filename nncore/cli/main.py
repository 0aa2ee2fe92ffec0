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

from dataclasses import replace

from nncore import registry, settings
from nncore.config import ENGINES, RunConfig, defaults_for
from nncore.data import DATASETS
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


def _default_text(name: str) -> str:
    """ "default 0.01, images 0.001, tables 0.003": the setting's start per preset, where they differ."""
    values = settings.preset_defaults(name)
    if name == "dataset":  # each preset names its own dataset; the flag's default is the toy one
        values = {"toy": values["toy"]}
    shown = [_value_text(values["toy"])] + [f"{k} {_value_text(v)}" for k, v in values.items()
                                            if k != "toy" and v != values["toy"]]
    return "default " + ", ".join(shown)


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "''"
    return f"{value:g}" if isinstance(value, float) else str(value)


def flag_help(s: settings.Setting) -> str:
    """A flag's help: the table's help, the accepted values and the default(s)."""
    if s.name == "inputs":
        keys = ", ".join(f"{k} ({f.label})" if f.label != k else k for k, f in FEATURES.items())
        return f"{s.help}: {keys} ({_default_text(s.name)}: the data's features as they are, for any data)"
    if s.kind == "layers":
        layers = f"up to {settings.MAX_LAYERS} layers of " if s.name == "hidden" else "two convolutions of "
        return f"{s.help} ({layers}{s.lo}-{s.hi} units; {_default_text(s.name)})"
    rule = s.rule_text().replace("value", s.dest or s.name)
    if s.choices is not None:
        rule = ", ".join(s.choices)
    says_default = s.kind in ("text", "columns") or "(default" in s.help
    parts = "; ".join(p for p in (rule, "" if says_default else _default_text(s.name)) if p)
    return f"{s.help} ({parts})" if parts else s.help


def _flag_default(s: settings.Setting):
    """None where the presets start differently (the run's preset decides), else the config default."""
    values = settings.preset_defaults(s.name)
    if s.name == "dataset" or len(values) == 1:
        value = values["toy"]
        return ",".join(map(str, value)) if isinstance(value, tuple) else value
    return None


_ARGPARSE_CHOICES = {"dtype", "task", "missing"}  # checked by argparse (the rest by the config, naming the field)
_TYPES = {"int": int, "float": float}


def add_setting_flag(g, s: settings.Setting) -> None:
    """One setting's flag, from the settings table."""
    kwargs = {"help": flag_help(s)}
    if s.kind == "bool":
        default = _flag_default(s)
        if default is False:
            kwargs["action"] = "store_true"
        else:
            kwargs.update(action=argparse.BooleanOptionalAction, default=default)
    else:
        kwargs["default"] = None if s.kind in ("text", "columns") else _flag_default(s)
        if s.kind in _TYPES:
            kwargs["type"] = _TYPES[s.kind]
        if s.name in _ARGPARSE_CHOICES:
            kwargs["choices"] = list(s.choices)
    if s.metavar:
        kwargs["metavar"] = s.metavar
    if s.name == "missing":  # no flag means refuse: the table says so
        kwargs["default"] = None
    g.add_argument(s.flag, **kwargs)


def augment_help() -> str:
    shift, rotate = settings.get("augment_shift"), settings.get("augment_rotate")
    return (f"image sets: augment training images with random flips / shifts (up to {shift.hi} pixels) / "
            f"rotations (up to {rotate.hi:g} degrees)")


CLI_GROUPS = {"data": "data", "model": "network", "train": "training"}


def add_network_args(p: argparse.ArgumentParser) -> None:
    """Flags for data, network and training, one per setting of ``nncore.settings`` (the uploaded table's
    come with ``add_csv_args``); defaults are the config defaults (the app's), or the dataset's preset where
    presets differ."""
    groups = {section: p.add_argument_group(title) for section, title in CLI_GROUPS.items()}
    for s in settings.TABLE:
        if s.flag is None or s.name in settings.CSV_FIELDS or s.flag == "--augment":
            continue
        add_setting_flag(groups[s.section], s)
        if s.name == "limit":
            groups["data"].add_argument(
                "--data-dir", help="image sets: folder holding (or receiving) the FashionMNIST files "
                "(default: $NNCORE_DATA_DIR or ~/.cache/nncore)")
            groups["data"].add_argument("--augment", default="", metavar="flip,shift=2,rotate=10",
                                        help=augment_help())


def config_from_args(a: argparse.Namespace) -> RunConfig:
    """Build a validated RunConfig from parsed flags (raises ConfigError): each setting's flag, or the
    dataset's preset value where the flag was not given."""
    source = "csv" if getattr(a, "csv", None) else a.dataset  # a --csv table trains with the table defaults
    base = defaults_for(source) if source in DATASETS else RunConfig()  # an unknown name fails below
    values = {section: {} for section in settings.SECTIONS}
    for s in settings.TABLE:
        if s.flag is None or s.name in settings.CSV_FIELDS or s.flag == "--augment":
            continue
        value = getattr(a, s.dest)
        values[s.section][s.name] = getattr(getattr(base, s.section), s.name) if value is None else value
    values["train"].update(parse_augment(a.augment))
    return RunConfig(replace(base.data, **values["data"]), replace(base.model, **values["model"]),
                     replace(base.train, **values["train"]))


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
    """Flags of an uploaded table's settings (``settings.CSV_FIELDS``)."""
    g = p.add_argument_group("your own data (instead of --dataset)")
    for name in settings.CSV_FIELDS:
        add_setting_flag(g, settings.get(name))


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
