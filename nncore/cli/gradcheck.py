"""``python -m nncore gradcheck [network flags] [--json]``: the NumPy engine's gradients against finite
differences (nncore.engines.numpy_gradcheck); exit code 0 when the check passes, 1 when it fails."""

from __future__ import annotations

import json

from nncore.cli.main import add_network_args, config_from_args
from nncore.engines.numpy_gradcheck import THRESHOLD, gradcheck


def add_command(subparsers) -> None:
    p = subparsers.add_parser("gradcheck", help="check the NumPy engine's gradients by finite differences")
    add_network_args(p)
    p.add_argument("--samples", type=int, default=8, help="data rows in the checked batch")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--directions", type=int, default=4, help="random directions per parameter tensor")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_gradcheck)


def cmd_gradcheck(a) -> int:
    from nncore.data import make_dataset
    cfg = config_from_args(a)
    result = gradcheck(cfg, make_dataset(cfg.data), n_samples=a.samples, eps=a.eps, n_directions=a.directions)
    if a.json:
        print(json.dumps(result))
    else:
        for row in result["layers"]:
            print(f"{row['layer']:>10} {row['param']:>5}  rel. error {row['max_rel_error']:.2e}  "
                  f"|a − n| {row['max_abs_error']:.2e} (noise bound {row['noise']:.2e})  ({row['reference']})")
        for note in result["notes"]:
            print(f"note: {note}")
        print(f"{'passed' if result['passed'] else 'FAILED'}: max relative error "
              f"{result['max_rel_error']:.2e} (threshold {THRESHOLD:g})")
    return 0 if result["passed"] else 1
