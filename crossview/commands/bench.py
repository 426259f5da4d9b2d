"""``python -m crossview bench``: time the compute backends on synthetic input."""

from __future__ import annotations

import argparse

from ..kernels import BACKENDS
from ..tables import add_json_flag, emit_json, format_table

#: Columns every table starts with; each target adds its own after them.
COLUMNS = ["backend", "device", "threads", "batch", "ms_per_frame", "speedup", "spread_ms",
           "best_ms_per_frame", "frames_per_s", "warmup_s"]
#: Target-specific columns, in the order they are shown (others follow, sorted).
EXTRA = ["dtype", "n_bins", "depth", "method", "affines", "geometry_ms", "mpjpe_mm",
         "mpjpe_unfused_mm", "max_diff_mm", "max_abs_diff"]
HIDDEN = {"target", "median_ms", "repeats", "views", "joints", "heatmap", "reference"}


def register(sub) -> None:
    from ..bench import targets

    found = targets()
    p = sub.add_parser(
        "bench", help="benchmark the compute backends",
        description="Time each backend on the same synthetic input, with the accuracy it "
                    "reaches. A warm-up call (Numba compilation, CUDA start-up) comes first "
                    "and is reported apart (warmup_s); then --repeat timed calls give the "
                    "median time per frame, the spread (half the range) and the best run. "
                    "The NumPy backend is always timed too: speedup is its time per frame "
                    "divided by the row's, in the same setting and run, the figure that "
                    "carries over to other machines; the first line says which machine "
                    "this one is (CPU, cores, threads, load). "
                    "Targets: " + "; ".join(f"{n}: {m.DESCRIPTION}" for n, m in found.items()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("target", choices=[*found, "all"], help="what to benchmark")
    p.add_argument("--backend", nargs="+", default=list(BACKENDS), choices=BACKENDS,
                   help="backends to run")
    p.add_argument("--device", default="cpu", help="torch device (cpu or cuda)")
    p.add_argument("--batch", type=int, default=1, help="frames per call")
    p.add_argument("--n-bins", type=int, default=16, help="PSM grid size N")
    p.add_argument("--depth", type=int, default=10, help="RPSM refinement stages")
    p.add_argument("--repeat", type=int, default=7, help="timed repetitions")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for Numba and torch (None: their own, one per core); on a "
                        "machine busy with other work one thread can beat two (chapter 9)")
    p.add_argument("--profile", action="store_true",
                   help="psm, rpsm: also time each stage of a call (where the time goes)")
    p.add_argument("--records", type=int, default=None,
                   help="h36m: records in the synthetic annotation file (default: a full "
                        "validation file, about 550,000); not part of 'all'")
    p.add_argument("--seed", type=int, default=0)
    add_json_flag(p)
    p.set_defaults(func=run)


def _value(r: dict, key: str):
    v = r.get(key)
    return "-" if v is None else v


def run(args) -> int:
    from ..bench import (
        BenchConfig,
        add_speedups,
        cuda_startup,
        machine,
        machine_line,
        set_threads,
        targets,
        with_reference,
    )

    for name, value, low in (("batch", args.batch, 1), ("n-bins", args.n_bins, 2),
                             ("depth", args.depth, 0), ("repeat", args.repeat, 1)):
        if value < low:
            raise ValueError(f"--{name} must be >= {low}, got {value}")
    set_threads(args.threads)
    startup = cuda_startup(args.device)
    info = machine()                 # before the runs: the load of other work, not ours
    config = BenchConfig(backends=with_reference(tuple(args.backend)), device=args.device,
                         batch=args.batch, n_bins=args.n_bins, repeat=args.repeat,
                         seed=args.seed, depth=args.depth, records=args.records)
    found = targets()
    chosen = ({n: m for n, m in found.items() if getattr(m, "IN_ALL", True)}
              if args.target == "all" else {args.target: found[args.target]})
    results = {name: add_speedups(module.run(config)) for name, module in chosen.items()}
    stages = []
    if args.profile and args.target in ("psm", "rpsm", "all"):
        from dataclasses import replace

        from ..bench.rpsm import profile

        # the PSM is RPSM's first stage alone: no refinement
        timed = replace(config, depth=0) if args.target == "psm" else config
        stages = [r for b in args.backend if b != "naive" for r in profile(timed, b)]
    info["cuda_startup_s"] = startup
    if args.json:
        rows = [r for rows in results.values() for r in rows]
        emit_json({"machine": info, "config": vars(config), "results": rows,
                   "profile": stages})
        return 0
    print(f"machine: {machine_line(info)}"
          + (f" (CUDA start-up {startup:.2f} s, not counted)" if startup is not None else "")
          + "; synthetic input")
    print("speedup: the NumPy backend's time per frame divided by the row's, same setting, "
          "this run")
    for name, rows in results.items():
        keys = set().union(*rows) if rows else set()
        extra = [k for k in EXTRA if k in keys]
        extra += sorted(keys - set(COLUMNS) - set(EXTRA) - HIDDEN)
        header = getattr(chosen[name], "COLUMNS", COLUMNS + extra)
        print(f"\n{name}: {chosen[name].DESCRIPTION}")
        print(format_table([[_value(r, k) for k in header] for r in rows], header))
    if stages:
        header = ["backend", "batch", "stage", "ms_per_frame", "share", "call_ms_per_frame"]
        name = "psm" if args.target == "psm" else "rpsm"
        print(f"\n{name}, where the time goes (each stage timed on its own):")
        print(format_table([[_value(r, k) for k in header] for r in stages], header))
    return 0
