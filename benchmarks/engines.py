"""Engine speed, measured in one process so the ratios hold on a shared, noisy machine.

1. 2-8-8-2 ReLU network, 1,000 points, batch 32, SGD: steps/s of the torch engine, the NumPy engine and a
   bare NumPy loop of the same network (``nncore.train.bench.reference_numpy_step``), measured in interleaved
   rounds (best round of each).
2. 784-512-512-10 MLP, 60k synthetic float32 samples, batch 256, Adam: epoch time of both engines,
   extrapolated from interleaved chunks of batches; both use the machine's threads and flush denormals
   (as the Trainer does).
3. The NumPy Adam update on the MLP's 670k parameters with moment buffers in the normal and in the
   denormal range (the engine zeroes denormal moments every FLUSH_EVERY steps).

Run: ``python benchmarks/engines.py`` (about a minute or two; ``--quick`` for a shorter run).
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

from nncore.train.bench import reference_numpy_step  # noqa: E402
from nncore.config import ModelConfig, TrainConfig  # noqa: E402
from nncore.engines import engine_class  # noqa: E402
from nncore.engines.numpy_optim import Adam  # noqa: E402
from nncore.engines.init import init_params  # noqa: E402

ENGINES = ("torch", "numpy")


def _engines(sizes, model, train):
    params = init_params(model, sizes, seed=0)
    return {name: engine_class(name)(model, train, sizes, "multiclass", params, 0) for name in ENGINES}, params


def toy(rounds: int) -> dict:
    """Steps/s on the 2-8-8-2 network: best of ``rounds`` interleaved passes of 10 epochs each."""
    sizes = [2, 8, 8, 2]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    batches = [(X[i:i + 32], y[i:i + 32]) for i in range(0, 1000 - 31, 32)]
    model = ModelConfig(hidden=(8, 8), activation="relu", dtype="float32")
    engines, params = _engines(sizes, model, TrainConfig(optimizer="sgd", learning_rate=0.05, batch_size=32))
    torch.set_num_threads(1)  # a small network: one torch thread, as the app and the CLI give it
    ref_params = [a for layer in params for a in (layer["W"].T.astype(np.float32).copy(),
                                                   layer["b"].astype(np.float32))]
    steps = {name: e.train_step for name, e in engines.items()}
    steps["bare numpy loop"] = lambda Xb, yb: reference_numpy_step(ref_params, Xb, yb, 0.05)
    best = dict.fromkeys(steps, math.inf)
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(10):
                for Xb, yb in batches:
                    step(Xb, yb)
            best[name] = min(best[name], (time.perf_counter() - start) / (10 * len(batches)))
    return {name: 1.0 / t for name, t in best.items()}


def mlp(n_batches: int, chunk: int, threads: int) -> dict:
    """Seconds per 60k-sample epoch (235 batches of 256) of each engine, from ``n_batches`` measured
    batches in interleaved chunks; mean and best chunk."""
    torch.set_num_threads(threads)  # the toy run set one thread
    torch.set_flush_denormal(True)
    sizes = [784, 512, 512, 10]
    rng = np.random.default_rng(0)
    n = 60_000
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=n)
    starts = list(range(0, n, 256))
    model = ModelConfig(hidden=(512, 512), activation="relu", dtype="float32")
    engines, _ = _engines(sizes, model, TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=256))
    times = {name: [] for name in engines}
    for name, e in engines.items():  # warm-up
        for s in starts[:3]:
            e.train_step(X[s:s + 256], y[s:s + 256])
    for c in range(0, n_batches, chunk):
        for name, e in engines.items():
            t0 = time.perf_counter()
            for s in starts[3 + c:3 + c + chunk]:
                e.train_step(X[s:s + 256], y[s:s + 256])
            times[name].append((time.perf_counter() - t0) / chunk)
    return {name: {"mean": float(np.mean(t)) * len(starts), "best": min(t) * len(starts)}
            for name, t in times.items()}


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

    rates = toy(rounds=4 if a.quick else 12)
    print("\n2-8-8-2, 1,000 points, batch 32, sgd (steps/s, best round):")
    for name, r in rates.items():
        print(f"  {name:>16}: {r:8.0f}")
    print(f"  numpy / torch       = {rates['numpy'] / rates['torch']:.2f}  (target >= 3)")
    print(f"  numpy / bare loop   = {rates['numpy'] / rates['bare numpy loop']:.2f}  (target >= 0.8)")

    epochs = mlp(n_batches=16 if a.quick else 48, chunk=8, threads=threads)
    print("\n784-512-512-10, 60k float32 samples, batch 256, adam (s/epoch, extrapolated from measured batches):")
    for name, e in epochs.items():
        print(f"  {name:>16}: mean {e['mean']:6.2f}  best chunk {e['best']:6.2f}")
    print(f"  numpy / torch       = {epochs['numpy']['mean'] / epochs['torch']['mean']:.2f} (means), "
          f"{epochs['numpy']['best'] / epochs['torch']['best']:.2f} (best chunks)  (target <= 1.3)")

    adam = adam_denormals(repeats=3 if a.quick else 8)
    print("\nNumPy Adam update, 670k float32 parameters (ms, flush-to-zero off):")
    for label, ms in adam.items():
        print(f"  {label:>16}: {ms:6.2f}")


if __name__ == "__main__":
    main()
