"""``python -m crossview bench``: time the compute backends on synthetic input."""

from __future__ import annotations

import argparse

from ..cli import add_json_flag, emit_json, format_table


def register(sub) -> None:
    from ..bench import targets

    names = list(targets())
    p = sub.add_parser(
        "bench", help="benchmark the compute backends",
        description="Time each backend on the same synthetic input (warm-up excluded and "
                    "reported separately), with the accuracy it reaches. Targets: "
                    + "; ".join(f"{n}: {m.DESCRIPTION}" for n, m in targets().items()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("target", choices=[*names, "all"], help="what to benchmark")
    p.add_argument("--backend", nargs="+", default=["naive", "numpy", "numba", "torch"],
                   choices=["naive", "numpy", "numba", "torch"], help="backends to run")
    p.add_argument("--device", default="cpu", help="torch device (cpu or cuda)")
    p.add_argument("--batch", type=int, default=1, help="frames per call")
    p.add_argument("--n-bins", type=int, default=16, help="PSM grid size N")
    p.add_argument("--repeat", type=int, default=7, help="timed repetitions")
    p.add_argument("--seed", type=int, default=0)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..bench import BenchConfig, machine, targets

    config = BenchConfig(backends=tuple(args.backend), device=args.device, batch=args.batch,
                         n_bins=args.n_bins, repeat=args.repeat, seed=args.seed)
    chosen = targets() if args.target == "all" else {args.target: targets()[args.target]}
    rows = []
    for module in chosen.values():
        rows += module.run(config)
    if args.json:
        emit_json({"machine": machine(), "config": vars(config), "results": rows})
        return 0
    info = machine()
    print(f"machine: {info['cpu_count']} CPUs, torch {info['torch']}, "
          f"CUDA: {info['cuda_device'] or 'none'}  ({info['date']}; synthetic input)")
    keys = ["target", "backend", "device", "threads", "batch", "ms_per_frame", "spread_ms",
            "frames_per_s", "warmup_s"]
    extra = sorted({k for r in rows for k in r} - set(keys) - {"median_ms", "repeats"})
    table = [[r.get(k, "") if r.get(k) is not None else "-" for k in keys + extra] for r in rows]
    print(format_table(table, keys + extra))
    return 0
