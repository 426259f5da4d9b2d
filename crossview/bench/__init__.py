"""Benchmarks of the compute backends: ``python -m crossview bench`` and ``make bench``.

Each target (``fusion``, ``psm``, ``rpsm``, ``triangulate``, ...) is a module in this
package with

* ``DESCRIPTION``: one line for ``--help``;
* ``run(config: BenchConfig) -> list[dict]``: one row per backend/setting, built with
  :func:`row`, timing with :func:`measure`.

Speed is never reported without accuracy: every row carries the error reached on the
same (synthetic) input.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BenchConfig:
    """Settings shared by all benchmark targets."""

    backends: tuple[str, ...] = ("naive", "numpy", "numba", "torch")
    device: str = "cpu"               #: torch device: "cpu" or "cuda"
    batch: int = 1                    #: frames per call
    n_bins: int = 16                  #: PSM grid size N
    repeat: int = 7                   #: timed repetitions (after the warm-up)
    frames: int = 8                   #: distinct synthetic frames to draw inputs from
    seed: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class Timing:
    """Wall-clock times of repeated calls (seconds)."""

    times: list[float]
    warmup_s: float

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        """Half the range between the fastest and slowest timed run."""
        return (max(self.times) - min(self.times)) / 2


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that timings include it."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def measure(fn: Callable[[], object], repeat: int = 7, warmup: int = 1,
            device: str = "cpu") -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls (JIT compilation, CUDA start-up), then
    ``repeat`` timed ones."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn()
    synchronize(device)
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t)
    return Timing(times, warm)


def threads(backend: str) -> int:
    """Threads the backend computes with."""
    if backend == "numba":
        import numba

        return numba.get_num_threads()
    if backend == "torch":
        import torch

        return torch.get_num_threads()
    return 1


def row(target: str, backend: str, timing: Timing, frames_per_call: int, config: BenchConfig,
        **extra) -> dict:
    """One result row: per-frame time, frames per second, warm-up, threads, device."""
    per_frame = timing.median / frames_per_call
    return {"target": target, "backend": backend,
            "device": config.device if backend == "torch" else "cpu",
            "threads": threads(backend), "batch": frames_per_call,
            "median_ms": 1e3 * timing.median, "spread_ms": 1e3 * timing.spread,
            "ms_per_frame": 1e3 * per_frame, "frames_per_s": 1.0 / per_frame if per_frame else None,
            "warmup_s": timing.warmup_s, "repeats": len(timing.times), **extra}


def targets() -> dict[str, object]:
    """Benchmark target modules, by name."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return dict(sorted(out.items()))


def machine() -> dict:
    """What the numbers were measured on."""
    import platform

    import torch

    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date": time.strftime("%Y-%m-%d")}
