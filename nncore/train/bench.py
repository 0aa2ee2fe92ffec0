"""Speed benchmarks: every figure is a ratio against a reference measured in the same process, because
these machines are shared and absolute timings drift.

``python -m nncore bench defaults``: seconds for the app's defaults to reach 95% test accuracy per toy set.
``python -m nncore bench mlp``: 784-512-512-10 epoch time on 60k synthetic samples vs the GEMM roofline.
``python -m nncore bench auto``: both engines' step time for a few MLP shapes beside the engine "auto" picks.
``python -m nncore bench toy``: steps/s of each engine on the 2-8-8-2 network (1,000 points, batch 32,
SGD) against a bare NumPy loop of the same network, the Trainer's end-to-end steps/s (with its per-epoch
evaluation), and the time of one decision-boundary grid pass.
"""

from __future__ import annotations

import time

import numpy as np

from nncore.config import ENGINES, DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.data import make_dataset
from nncore.engines import dense_weights, layer_weights, make_engine, set_threads_for

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
        set_threads_for(engine)  # as the app and the CLI run it
        rate = _rate(lambda: engine.train_step(*next_batch()), seconds)
        from nncore.inspect.grid import boundary_grid
        from nncore.train.trainer import Trainer
        trainer = Trainer(run_cfg, dataset)
        trainer.run(steps=200)
        start, step0 = time.perf_counter(), trainer.step
        trainer.run(seconds=seconds)
        trainer_rate = (trainer.step - step0) / (time.perf_counter() - start)
        grid = {}
        for res in (100, 200):
            one_grid = lambda res=res: boundary_grid(trainer.engine, dataset, res)  # noqa: E731
            grid[f"grid_{res}x{res}_ms"] = round(1000 / _rate(one_grid, seconds / 4), 2)
        result["engines"][name] = {
            "steps_per_s": round(rate, 1), "ratio_vs_reference": round(rate / ref, 3),
            "trainer_steps_per_s": round(trainer_rate, 1),
            "trainer_ratio_vs_reference": round(trainer_rate / ref, 3), **grid}
    return result


def defaults_benchmark(target: float = 0.95, limit_seconds: float = 20.0, slice_seconds: float = 0.12) -> dict:
    """Wall time for the app's default settings to reach ``target`` test accuracy on each classification
    toy set, training in the app's frame-sized slices. The reference is the same run's own speed."""
    from nncore.data import SPECS
    from nncore.train.trainer import Trainer
    out = {}
    Trainer(RunConfig()).run(seconds=0.05)  # warm-up (lazy imports, first-call costs), as in a running app
    for name, spec in SPECS.items():
        if spec.task != "classification":
            continue
        trainer = Trainer(RunConfig(DataConfig(dataset=name)))
        start = time.perf_counter()
        reached = None
        while trainer.running and time.perf_counter() - start < limit_seconds:
            snap = trainer.run(seconds=slice_seconds)
            if (snap.last("test_acc") or 0.0) >= target:
                reached = time.perf_counter() - start
                break
        snap = trainer.snapshot()
        out[name] = {"seconds_to_target": None if reached is None else round(reached, 2), "steps": snap.step,
                     "epochs": snap.epoch, "test_acc": snap.last("test_acc")}
    return out


MLP_SIZES = [784, 512, 512, 10]


def mlp_epoch_flops(sizes: list[int], n: int) -> float:
    """Multiply-add FLOPs of one training epoch: forward 2·n·W, weight gradients 2·n·W, and input gradients
    2·n·W for every layer but the first (nothing needs the gradient of the pixels)."""
    weights = layer_weights(sizes)
    return 2.0 * n * (2 * sum(weights) + sum(weights[1:]))


def gemm_gflops(seconds: float = 1.0, size: int = 2048) -> float:
    """Measured float32 matrix-multiply throughput of this machine (GFLOP/s), torch with all threads."""
    import torch
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:  # each product takes tens of ms: count them one by one
        a @ b
        count += 1
    return count / (time.perf_counter() - start) * 2.0 * size ** 3 / 1e9


def mlp_benchmark(n: int = 60_000, batches: int | None = None, engines: list[str] | None = None,
                  optimizer: str = "adam") -> dict:
    """Epoch time of the 784-512-512-10 MLP (batch 256, float32) on ``n`` synthetic samples, against the
    GEMM roofline measured in the same run. ``batches`` limits the measured batches (time is scaled up)."""
    import os

    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    torch.set_flush_denormal(True)
    rng = np.random.default_rng(0)
    X = rng.random((n, MLP_SIZES[0]), dtype=np.float32)
    y = rng.integers(0, 10, size=n)
    batch = 256
    starts = list(range(0, n, batch))
    measured = starts[:batches] if batches else starts
    roofline = gemm_gflops()
    flops = mlp_epoch_flops(MLP_SIZES, n)
    ideal = flops / (roofline * 1e9)
    from nncore.data import split_dataset
    ds = split_dataset("synthetic", X[:64].astype(np.float64), y[:64] % 2, "classification",
                       DataConfig(dataset="xor", seed=0), feature_names=tuple(f"px{i}" for i in range(784)))
    ds = type(ds)(**{**ds.__dict__, "task": "multiclass", "n_classes": 10})
    result = {"network": "784-512-512-10", "samples": n, "batch_size": batch, "optimizer": optimizer,
              "epoch_gflop": round(flops / 1e9, 1), "gemm_gflops": round(roofline, 1),
              "roofline_epoch_s": round(ideal, 3), "engines": {}}
    for name in engines or [e for e in ENGINES if e != "auto"]:
        cfg = RunConfig(DataConfig(), ModelConfig(hidden=(512, 512)),
                        TrainConfig(engine=name, optimizer=optimizer, learning_rate=1e-3, batch_size=batch))
        engine = make_engine(cfg, ds)
        for s0 in starts[:3]:
            engine.train_step(X[s0:s0 + batch], y[s0:s0 + batch])
        start = time.perf_counter()
        for s0 in measured:
            engine.train_step(X[s0:s0 + batch], y[s0:s0 + batch])
        epoch = (time.perf_counter() - start) * len(starts) / len(measured)
        result["engines"][name] = {"epoch_s": round(epoch, 3), "ratio_vs_roofline": round(epoch / ideal, 3)}
    return result


AUTO_SHAPES = [([2, 8, 8, 2], 32), ([2, 256, 256, 2], 32), ([64, 512, 512, 10], 256), ([784, 512, 512, 10], 256),
               ([784, 2048, 2048, 10], 256)]


def _synthetic_dataset(n_features: int, n_classes: int):
    """A tiny multiclass Dataset with ``n_features`` inputs: engines are built for its shapes only."""
    from nncore.data import split_dataset
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20 * n_classes, n_features)), np.arange(20 * n_classes) % n_classes
    ds = split_dataset("synthetic", X, y, "classification", DataConfig(dataset="xor", seed=0),
                       feature_names=tuple(f"x{i}" for i in range(n_features)))
    return type(ds)(**{**ds.__dict__, "task": "multiclass", "n_classes": n_classes})


def auto_benchmark(seconds: float = 1.0, shapes=None) -> list[dict]:
    """For each (layer sizes, batch): both engines' measured Adam step time (float32, interleaved rounds,
    best round), their ratio, the cost model's estimated ratio and the engine "auto" picks."""
    from nncore.engines import resolve_engine, step_seconds
    out = []
    for sizes, batch in shapes or AUTO_SHAPES:
        ds = _synthetic_dataset(sizes[0], sizes[-1])
        rng = np.random.default_rng(1)
        X = rng.normal(size=(4 * batch, sizes[0])).astype(np.float32)
        y = rng.integers(0, sizes[-1], size=4 * batch)
        model = ModelConfig(hidden=tuple(sizes[1:-1]))
        engines = {name: make_engine(RunConfig(DataConfig(), model, TrainConfig(engine=name, batch_size=batch)), ds)
                   for name in ("numpy", "torch")}
        set_threads_for(engines["torch"])  # as the app and the CLI run it (one thread stays for the larger shapes)
        best = {name: float("inf") for name in engines}
        for _ in range(3):  # interleaved rounds: a busy machine slows both alike; the best round counts
            for name, engine in engines.items():
                batches = [(X[i:i + batch], y[i:i + batch]) for i in range(0, 4 * batch, batch)]
                cursor = [0]

                def step(engine=engine, batches=batches, cursor=cursor):
                    cursor[0] = (cursor[0] + 1) % len(batches)
                    engine.train_step(*batches[cursor[0]])
                best[name] = min(best[name], 1.0 / _rate(step, seconds / 6))
        estimate = {name: step_seconds(name, sizes, batch) for name in engines}
        out.append({"network": "-".join(map(str, sizes)), "batch_size": batch,
                    "weights": dense_weights(sizes),
                    "numpy_step_ms": round(best["numpy"] * 1e3, 3), "torch_step_ms": round(best["torch"] * 1e3, 3),
                    "measured_torch_over_numpy": round(best["torch"] / best["numpy"], 2),
                    "estimated_torch_over_numpy": round(estimate["torch"] / estimate["numpy"], 2),
                    "faster": "numpy" if best["numpy"] <= best["torch"] else "torch",
                    "auto": resolve_engine("auto", model, sizes, batch_size=batch)})
    return out
