"""``python -m nncore export FILE [--format onnx|python] [--out PATH]``: a checkpoint's network exported."""

from __future__ import annotations

from nncore.errors import ConfigError
from nncore.io.checkpoint import read_checkpoint_file
from nncore.io.export import EXPORT_FORMATS, FILES, export_bytes, network_text, write_file


def add_command(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a checkpoint's network as ONNX or a PyTorch script")
    p.add_argument("file", help="a checkpoint saved by the app or nncore.io.checkpoint")
    p.add_argument("--format", default="onnx", choices=list(EXPORT_FORMATS))
    p.add_argument("--out", default=None, help="output path (default: model.onnx / model.py)")
    p.set_defaults(func=cmd_export)


def cmd_export(a) -> int:
    ckpt = read_checkpoint_file(a.file)  # ConfigError (exit 2, one line) for a missing, foreign or damaged file
    data = export_bytes(ckpt.config, ckpt.params, ckpt.signature, a.format)
    out = a.out or FILES[a.format][0]
    try:
        write_file(out, data)
    except OSError as e:
        raise ConfigError(f"out cannot be written: {out} ({e.strerror or e})", "out") from None
    print(f"wrote {out}: {network_text(ckpt.config, ckpt.signature)} as {a.format} ({len(data):,} bytes)")
    return 0
