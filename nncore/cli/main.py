"""Command line: ``python -m nncore train|bench|inspect|search|export|lessons|gradcheck ...``.

This module holds the parser, the flags shared by several commands and ``main``; each command's own flags
and handler are in ``nncore/cli/<command>.py``. Defaults come from the config dataclasses, so the CLI trains
exactly what the app trains on first click. A bad argument exits with code 2 and one line naming the
parameter; no traceback.
"""

from __future__ import annotations

import argparse
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


def build_parser() -> OneLineParser:
    # Each command's flags and handler live in nncore/cli/<command>.py; imported here rather than at the
    # top because they import this module's argument builders.
    from nncore.cli import bench, export, gradcheck, inspect, lessons, search, train
    parser = OneLineParser(prog="python -m nncore", description="Train and inspect small neural networks.",
                           epilog=_registries_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for command in (train, bench, inspect, search, export, lessons, gradcheck):
        command.add_command(sub)
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
