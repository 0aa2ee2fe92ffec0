"""What a live frame costs the server as a run gets long: the snapshot and the frame built from it, at a few
epochs of the Playground's default run, against the same costs at the first of them (the reference, measured in
this process).

    python benchmarks/frame_cost.py [--epochs 100,1000,3000,6000] [--repeats 20]

One BLAS thread, as in the app's server. For each epoch count the default RunConfig (Epochs raised so the run
does not end) trains up to it, then ``Trainer.snapshot()`` and the live view's ``FrameBuilder.build`` are timed
``--repeats`` times each (median, ms). A frame's cost should not grow with the run: the ratios against the first
epoch count say whether it does. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nncore.config import RunConfig  # noqa: E402
from nncore.train.trainer import Trainer  # noqa: E402
from ui.liveview.payload import FrameBuilder  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description="A live frame's server cost along a long run.")
    parser.add_argument("--epochs", default="100,1000,3000,6000", help="epoch counts, comma-separated, rising")
    parser.add_argument("--repeats", type=int, default=20, help="timings per cost and epoch count (median)")
    a = parser.parse_args()
    try:
        marks = [int(e) for e in a.epochs.split(",") if e.strip()]
    except ValueError:
        parser.error(f"--epochs takes whole numbers separated by commas, e.g. 100,1000; got {a.epochs!r}")
    if not marks or min(marks) < 1 or marks != sorted(marks) or a.repeats < 1:
        parser.error("--epochs must be rising counts of at least 1, and --repeats at least 1")
    cfg = RunConfig()
    cfg = replace(cfg, train=replace(cfg.train, epochs=max(marks) + 1))
    trainer = Trainer(cfg)
    builder = FrameBuilder(trainer.dataset, editable=True)
    rows = []
    for mark in marks:
        while trainer.running and trainer.epoch < mark:
            trainer.advance(seconds=0.5)
        if trainer.epoch < mark:
            print(f"the run stopped at epoch {trainer.epoch} ({trainer.status}) before {mark}", file=sys.stderr)
            return 1
        snap = trainer.snapshot()
        ids = iter(range(1, 10**9))
        snapshot_ms = _median_ms(trainer.snapshot, a.repeats)
        build_ms = _median_ms(lambda snap=snap, ids=ids: builder.build(snap, trainer.engine, next(ids), playing=True,
                                                                      source="bench", feed="", status=""), a.repeats)
        rows.append({"epoch": trainer.epoch, "snapshot_ms": round(snapshot_ms, 3), "build_ms": round(build_ms, 2)})
    ref = rows[0]
    for row in rows:
        row["snapshot_ratio"] = round(row["snapshot_ms"] / ref["snapshot_ms"], 2)
        row["build_ratio"] = round(row["build_ms"] / ref["build_ms"], 2)
        print(f"epoch {row['epoch']:>6}: snapshot {row['snapshot_ms']:7.3f} ms ({row['snapshot_ratio']:.2f}x), "
              f"frame built {row['build_ms']:6.2f} ms ({row['build_ratio']:.2f}x)")
    print(json.dumps({"engine": trainer.engine_label, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
