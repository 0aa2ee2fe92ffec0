"""Speed benchmarks: every figure is a ratio against a reference measured in the same process, because
these machines are shared and absolute timings drift.

``python -m nncore bench toy``: steps/s of each engine on the 2-8-8-2 network (1,000 points, batch 32,
SGD) against a bare NumPy loop of the same network, the Trainer's end-to-end steps/s (with its per-epoch
evaluation), and the time of one decision-boundary grid pass.
"""

from __future__ import annotations

import json
import time

import numpy as np

from .config import ENGINES, DataConfig, ModelConfig, RunConfig, TrainConfig
from .datasets import make_dataset
from .engines import make_engine

TOY_SIZES = [2, 8, 8, 2]


def _rate(fn, seconds: float) -> float:
    """Calls per second of ``fn()`` over about ``seconds`` (after a short warm-up)."""
    for _ in range(20):
        fn()
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        n += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def reference_numpy_step(params: list[np.ndarray], X: np.ndarray, y: np.ndarray, lr: float) -> float:
    """The bare reference: one SGD step of a ReLU MLP with softmax cross-entropy, written as tightly as
    NumPy allows. params = [W1, b1, W2, b2, ...] with W (fan_in, fan_out), updated in place."""
    acts = [X]
    h = X
    n_layers = len(params) // 2
    for i in range(n_layers):
        z = h @ params[2 * i] + params[2 * i + 1]
        h = np.maximum(z, 0.0) if i < n_layers - 1 else z
        acts.append(h)
    z = h - h.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y]).mean()
    delta = p
    delta[np.arange(n), y] -= 1.0
    delta /= n
    for i in reversed(range(n_layers)):
        W = params[2 * i]
        gW = acts[i].T @ delta
        gb = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ W.T) * (acts[i] > 0)
        W -= lr * gW
        params[2 * i + 1] -= lr * gb
    return float(loss)


def toy_benchmark(seconds: float = 2.0, engines: list[str] | None = None) -> dict:
    """Measure the toy suite; returns a dict of figures (also printed by ``main``)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    batches = [(X[i:i + 32], y[i:i + 32]) for i in range(0, 1000 - 31, 32)]
    cursor = [0]

    def next_batch():
        cursor[0] = (cursor[0] + 1) % len(batches)
        return batches[cursor[0]]

    ref_params = [a.astype(np.float32) for W in
                  [rng.normal(0, 0.5, (a, b)) for a, b in zip(TOY_SIZES[:-1], TOY_SIZES[1:])]
                  for a in (W, np.zeros(W.shape[1]))]
    ref = _rate(lambda: reference_numpy_step(ref_params, *next_batch(), 0.05), seconds)
    result = {"network": "2-8-8-2", "points": 1000, "batch_size": 32, "optimizer": "sgd",
              "reference_numpy_steps_per_s": round(ref, 1), "engines": {}}

    cfg = RunConfig(DataConfig(dataset="xor", n_points=1000), ModelConfig(hidden=(8, 8)),
                    TrainConfig(optimizer="sgd", learning_rate=0.05, batch_size=32))
    dataset = make_dataset(cfg.data)
    for name in engines or [e for e in ENGINES if e != "auto"]:
        run_cfg = cfg.replace(train=TrainConfig(**{**cfg.train.__dict__, "engine": name}))
        engine = make_engine(run_cfg, dataset)
        rate = _rate(lambda: engine.train_step(*next_batch()), seconds)
        from .training import Trainer
        trainer = Trainer(run_cfg, dataset)
        trainer.run(steps=200)
        start, step0 = time.perf_counter(), trainer.step
        trainer.run(seconds=seconds)
        trainer_rate = (trainer.step - step0) / (time.perf_counter() - start)
        grid = {}
        for res in (100, 200):
            trainer.grid_resolution = res
            grid[f"grid_{res}x{res}_ms"] = round(1000 / _rate(trainer.grid, seconds / 4), 2)
        result["engines"][name] = {
            "steps_per_s": round(rate, 1), "ratio_vs_reference": round(rate / ref, 3),
            "trainer_steps_per_s": round(trainer_rate, 1),
            "trainer_ratio_vs_reference": round(trainer_rate / ref, 3), **grid}
    return result


def main(args) -> int:
    if args.suite == "toy":
        result = toy_benchmark(args.seconds)
        print(f"bare NumPy reference loop: {result['reference_numpy_steps_per_s']:.0f} steps/s")
        for name, r in result["engines"].items():
            print(f"{name:>6} engine: {r['steps_per_s']:.0f} steps/s (x{r['ratio_vs_reference']:.2f} of reference); "
                  f"Trainer with per-epoch evaluation {r['trainer_steps_per_s']:.0f} steps/s "
                  f"(x{r['trainer_ratio_vs_reference']:.2f}); grid 100x100 {r['grid_100x100_ms']} ms, "
                  f"200x200 {r['grid_200x200_ms']} ms")
        print(json.dumps(result))
    return 0
