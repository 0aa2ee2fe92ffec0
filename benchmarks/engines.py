"""Engine speed, measured in one process so the ratios hold on a shared, noisy machine.

1. The toy suite of ``nncore.train.bench`` (2-8-8-2 ReLU network, 1,000 points, batch 32, SGD): steps/s of
   the torch engine, the NumPy engine and the bare NumPy loop of the same network, in interleaved rounds
   (best round of each).
2. The MLP suite of ``nncore.train.bench`` (784-512-512-10, 60k synthetic float32 samples, batch 256, Adam):
   epoch time of both engines, extrapolated from measured batches, in interleaved rounds.
3. The NumPy Adam update on the MLP's 670k parameters with moment buffers in the normal and in the
   denormal range (the engine zeroes denormal moments every FLUSH_EVERY steps).

Run: ``python benchmarks/engines.py`` (a few minutes; ``--quick`` for a shorter run).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from nncore.config import TrainConfig  # noqa: E402
from nncore.engines.numpy_optim import Adam  # noqa: E402
from nncore.train import bench  # noqa: E402

ENGINES = ["torch", "numpy"]


def toy(rounds: int, seconds: float) -> dict:
    """Steps/s on the 2-8-8-2 network: the best of ``rounds`` runs of ``bench.toy_benchmark``."""
    best = {"bare numpy loop": 0.0, **dict.fromkeys(ENGINES, 0.0)}
    for _ in range(rounds):
        result = bench.toy_benchmark(seconds, engines=ENGINES)
        best["bare numpy loop"] = max(best["bare numpy loop"], result["reference_numpy_steps_per_s"])
        for name, r in result["engines"].items():
            best[name] = max(best[name], r["steps_per_s"])
    return best


def mlp(rounds: int, batches: int) -> dict:
    """Seconds per 60k-sample epoch of each engine: mean and best of ``rounds`` runs of
    ``bench.mlp_benchmark`` measuring ``batches`` batches each."""
    times = {name: [] for name in ENGINES}
    for _ in range(rounds):
        result = bench.mlp_benchmark(batches=batches, engines=ENGINES)
        for name, r in result["engines"].items():
            times[name].append(r["epoch_s"])
    return {name: {"mean": float(np.mean(t)), "best": min(t)} for name, t in times.items()}


def adam_denormals(repeats: int) -> dict:
    """Milliseconds per NumPy Adam update of 670k float32 parameters with zero gradients, moments normal
    or denormal (flush-to-zero off, the optimizer's periodic flush not reached)."""
    torch.set_flush_denormal(False)
    size = 784 * 512 + 512 * 512 + 512 * 10 + 1034
    out = {}
    for label, value in (("normal moments", 1e-20), ("denormal moments", 1e-39)):
        opt = Adam(size, np.float32)
        opt.configure(TrainConfig())
        opt.steps = 1
        p, g = np.ones(size, np.float32), np.zeros(size, np.float32)
        best = math.inf
        for _ in range(repeats):
            for buf in opt.buffers:
                buf[:] = value
            start = time.perf_counter()
            for _ in range(5):
                opt._update(p, g, 1e-3)
            best = min(best, (time.perf_counter() - start) / 5)
        out[label] = best * 1e3
    torch.set_flush_denormal(True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and batches")
    a = parser.parse_args()
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, numpy {np.__version__}, torch threads {threads}")

    rates = toy(rounds=2 if a.quick else 6, seconds=0.3)
    print("\n2-8-8-2, 1,000 points, batch 32, sgd (steps/s, best round):")
    for name, r in rates.items():
        print(f"  {name:>16}: {r:8.0f}")
    print(f"  numpy / torch       = {rates['numpy'] / rates['torch']:.2f}  (target >= 3)")
    print(f"  numpy / bare loop   = {rates['numpy'] / rates['bare numpy loop']:.2f}  (target >= 0.8)")

    torch.set_num_threads(threads)  # the toy suite left torch on one thread (its small-network setting)
    epochs = mlp(rounds=2 if a.quick else 4, batches=16 if a.quick else 24)
    print("\n784-512-512-10, 60k float32 samples, batch 256, adam (s/epoch, extrapolated from measured batches):")
    for name, e in epochs.items():
        print(f"  {name:>16}: mean {e['mean']:6.2f}  best round {e['best']:6.2f}")
    print(f"  numpy / torch       = {epochs['numpy']['mean'] / epochs['torch']['mean']:.2f} (means), "
          f"{epochs['numpy']['best'] / epochs['torch']['best']:.2f} (best rounds)  (target <= 1.3)")

    adam = adam_denormals(repeats=3 if a.quick else 8)
    print("\nNumPy Adam update, 670k float32 parameters (ms, flush-to-zero off):")
    for label, ms in adam.items():
        print(f"  {label:>16}: {ms:6.2f}")


if __name__ == "__main__":
    main()
