"""Benchmarks of the compute backends: ``python -m crossview bench`` and ``make bench``.

Each target (``fusion``, ``psm``, ``rpsm``, ``triangulate``, ...) is a module in this
package with

* ``DESCRIPTION``: one line for ``--help``;
* ``run(config: BenchConfig) -> list[dict]``: one row per backend/setting, built with
  :func:`row`, timing with :func:`measure`;
* optionally ``COLUMNS`` (the table's columns, for a target that does not time backends)
  and ``IN_ALL = False`` (left out of ``bench all``).

How a number is taken: one untimed warm-up call first (it pays Numba's compilation
or cache load, torch's first-call set-up and CUDA's start-up; its time is reported
as ``warmup_s``), then ``repeat`` timed calls, each ended by a device
synchronisation, so queued GPU work is inside the timing. A row gives the median
time per frame, half the range of the timed runs as the spread, the best run (the
least disturbed by other programs on a shared machine), frames per second, the
threads the backend computed with and its device.

Speed is never reported without accuracy: every row carries the error reached on the
same (synthetic) input.

Absolute times move from machine to machine, so a time is never reported alone either:
:func:`machine_line` says what it ran on (CPU model, cores, the threads Numba and torch
used, the load average before the run), and :func:`add_speedups` gives every row the
ratio of a reference's time to its own (``speedup``), with the reference (the NumPy
backend) timed in the same run on the same input and settings. A reader on another
machine compares speed-ups, not milliseconds.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..kernels import BACKENDS


@dataclass
class BenchConfig:
    """Settings shared by all benchmark targets."""

    backends: tuple[str, ...] = BACKENDS
    device: str = "cpu"               #: torch device: "cpu" or "cuda"
    batch: int = 1                    #: frames per call
    n_bins: int = 16                  #: PSM grid size N
    repeat: int = 7                   #: timed repetitions (after the warm-up)
    frames: int = 8                   #: distinct synthetic frames to draw inputs from
    seed: int = 0
    depth: int = 10                   #: RPSM refinement stages
    records: int | None = None        #: h36m: records in the file (None: a full validation file)


@dataclass
class Timing:
    """Wall-clock times of repeated calls (seconds)."""

    times: list[float]
    warmup_s: float
    output: object = None             #: what the last call returned

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def spread(self) -> float:
        """Half the range between the fastest and slowest timed run."""
        return (max(self.times) - min(self.times)) / 2


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that timings include it."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def measure(fn: Callable[[], object], repeat: int = 7, warmup: int = 1,
            device: str = "cpu") -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls (JIT compilation, CUDA start-up), then
    ``repeat`` timed ones; the last call's result is kept in ``Timing.output``."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn()
    synchronize(device)
    warm = time.perf_counter() - t0
    times = []
    out = None
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        out = fn()
        synchronize(device)
        times.append(time.perf_counter() - t)
    return Timing(times, warm, out)


def threads(backend: str, batch: int = 2) -> int:
    """Threads the backend computes with on ``batch`` frames.

    Numba runs one frame per thread, so a single frame uses one thread; torch splits
    each operation over its intra-op threads; NumPy and the naive loops use one.
    """
    if backend == "numba":
        import numba

        return 1 if batch == 1 else min(batch, numba.get_num_threads())
    if backend == "torch":
        import torch

        return torch.get_num_threads()
    return 1


def set_threads(n: int | None) -> None:
    """Let Numba and torch compute with ``n`` threads (``None``: leave their defaults)."""
    if n is None:
        return
    import numba
    import torch

    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(n)


def row(target: str, backend: str, timing: Timing, frames_per_call: int, config: BenchConfig,
        **extra) -> dict:
    """One result row: time per frame (median, best, spread), frames per second, warm-up,
    threads, device."""
    per_frame = timing.median / frames_per_call
    return {"target": target, "backend": backend,
            "device": config.device if backend == "torch" else "cpu",
            "threads": threads(backend, frames_per_call), "batch": frames_per_call,
            "median_ms": 1e3 * timing.median, "ms_per_frame": 1e3 * per_frame,
            "best_ms_per_frame": 1e3 * timing.best / frames_per_call,
            "spread_ms": 1e3 * timing.spread / frames_per_call,
            "frames_per_s": 1.0 / per_frame if per_frame else None,
            "warmup_s": timing.warmup_s, "repeats": len(timing.times), **extra}


def targets() -> dict[str, object]:
    """Benchmark target modules, by name."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return dict(sorted(out.items()))


def cuda_startup(device: str) -> float | None:
    """Seconds to bring up CUDA (context and first allocation), or ``None`` on the CPU.

    Timed on its own, so that no benchmark row pays it.
    """
    if not str(device).startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: no CUDA device is available here")
    t = time.perf_counter()
    torch.zeros(1, device=device)
    torch.cuda.synchronize()
    return time.perf_counter() - t


#: The backend every row's ``speedup`` is relative to.
REFERENCE = "numpy"
#: Row fields that describe a setting: rows that agree on these (and the batch) are
#: timed on the same work, and one of them is the reference of the others.
SETTING = ("target", "batch", "affines", "method", "n_bins", "depth", "stage")


def add_speedups(rows: list[dict], reference: str = REFERENCE) -> list[dict]:
    """Give every timed row ``speedup``: the reference backend's ``ms_per_frame`` in the
    same setting (:data:`SETTING`) divided by the row's (1 for the reference itself), and
    ``reference`` naming it; ``None`` where no row of the reference has that setting.
    Rows without ``ms_per_frame`` (a target that reports its own ratios) are left alone."""
    def key(r):
        return tuple(r.get(k) for k in SETTING)

    timed = [r for r in rows if r.get("ms_per_frame")]    # targets with their own ratios: none
    ref = {key(r): r["ms_per_frame"] for r in timed if r.get("backend") == reference}
    for r in timed:
        base = ref.get(key(r))
        r["speedup"] = base / r["ms_per_frame"] if base else None
        r["reference"] = reference if base else None
    return rows


def with_reference(backends: tuple[str, ...], reference: str = REFERENCE) -> tuple[str, ...]:
    """``backends`` with the reference added in front when it is missing (its rows give
    the others their ``speedup``)."""
    return backends if reference in backends else (reference, *backends)


def machine() -> dict:
    """What the numbers were measured on (``load`` is the 1, 5 and 15 minute load
    average when this is called: call it before the timed runs)."""
    import platform

    import numba
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "load": load,
            "load_1min": load[0] if load else None,
            "python": platform.python_version(), "numpy": __import__("numpy").__version__,
            "numba": numba.__version__, "numba_threads": numba.get_num_threads(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date": time.strftime("%Y-%m-%d")}


def machine_line(info: dict | None = None) -> str:
    """One line for a reader: CPU model, cores, the threads Numba and torch compute
    with, the load average (1, 5, 15 minutes), versions, GPU and date."""
    info = machine() if info is None else info
    load = info.get("load")
    busy = ("load average " + " ".join(f"{x:.2f}" for x in load)) if load else "load unknown"
    return (f"{info['cpu']}, {info['cpu_count']} CPUs, {info['numba_threads']} Numba / "
            f"{info['torch_threads']} torch threads, {busy}; numba {info['numba']}, "
            f"torch {info['torch']}, CUDA: {info['cuda_device'] or 'none'}; {info['date']}")
