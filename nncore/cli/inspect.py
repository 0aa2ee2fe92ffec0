"""``python -m nncore inspect FILE [--json]``: the config and metrics a checkpoint holds."""

from __future__ import annotations

import json

from nncore.io.checkpoint import describe, read_checkpoint_file


def add_command(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="show the config and metrics stored in a checkpoint file")
    p.add_argument("file", help="a checkpoint saved by the playground or by train --save")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_inspect)


def cmd_inspect(a) -> int:
    ckpt = read_checkpoint_file(a.file)
    if a.json:
        print(json.dumps({"format_version": ckpt.format_version, "network": ckpt.network_text,
                          "step": ckpt.step, "epoch": ckpt.epoch, "dataset": ckpt.signature.to_json(),
                          "metrics": ckpt.metrics,
                          "config": ckpt.config.to_dict()}))
    else:
        print(describe(ckpt))
    return 0
