"""``python -m nncore bench toy|defaults|mlp|auto``: the speed benchmarks of nncore.train.bench, printed."""

from __future__ import annotations

import json


def add_command(subparsers) -> None:
    p = subparsers.add_parser("bench", help="speed benchmarks (ratios against references run in the same process)")
    p.add_argument("suite", choices=["toy", "defaults", "mlp", "auto"],
                   help="toy: small-network steps/s and grid evaluation time; "
                        "auto: numpy/torch step times beside the engine auto picks, for a few MLP shapes; "
                        "defaults: seconds for the default settings to reach 95%% test accuracy; "
                        "mlp: 784-512-512-10 epoch time against the GEMM roofline")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.set_defaults(func=cmd_bench)


def cmd_bench(a) -> int:
    from nncore.train import bench
    if a.suite == "auto":
        result = bench.auto_benchmark(a.seconds)
        for r in result:
            print(f"{r['network']:>18} batch {r['batch_size']:4d}: numpy {r['numpy_step_ms']:.3f} ms, torch "
                  f"{r['torch_step_ms']:.3f} ms per step; torch/numpy measured {r['measured_torch_over_numpy']:.2f}, "
                  f"estimated {r['estimated_torch_over_numpy']:.2f}; auto picks {r['auto']} "
                  f"(measured faster: {r['faster']})")
    if a.suite == "mlp":
        result = bench.mlp_benchmark()
        print(f"GEMM roofline {result['gemm_gflops']} GFLOP/s; epoch = {result['epoch_gflop']} GFLOP "
              f"→ {result['roofline_epoch_s']} s at the roofline")
        for name, r in result["engines"].items():
            print(f"{name:>6} engine: {r['epoch_s']} s/epoch (x{r['ratio_vs_roofline']:.2f} of the roofline time)")
    if a.suite == "defaults":
        result = bench.defaults_benchmark()
        for name, r in result.items():
            print(f"{name:>8}: {r['seconds_to_target']} s to 95% test accuracy ({r['steps']} steps, "
                  f"{r['epochs']} epochs, test acc {r['test_acc']:.3f})")
    if a.suite == "toy":
        result = bench.toy_benchmark(a.seconds)
        print(f"bare NumPy reference loop: {result['reference_numpy_steps_per_s']:.0f} steps/s")
        for name, r in result["engines"].items():
            print(f"{name:>6} engine: {r['steps_per_s']:.0f} steps/s (x{r['ratio_vs_reference']:.2f} of reference); "
                  f"Trainer with per-epoch evaluation {r['trainer_steps_per_s']:.0f} steps/s "
                  f"(x{r['trainer_ratio_vs_reference']:.2f}); grid 100x100 {r['grid_100x100_ms']} ms, "
                  f"200x200 {r['grid_200x200_ms']} ms")
    print(json.dumps(result))
    return 0
