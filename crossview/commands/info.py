"""``python -m crossview info``: version, rigs, backends and the machine."""

from __future__ import annotations

import os
import platform

from ..paths import DATA_DIR
from ..tables import add_json_flag, emit_json, format_table


def register(sub) -> None:
    p = sub.add_parser("info", help="version, camera rigs, compute backends",
                       description="Print the library version, the named camera rigs, and "
                                   "which compute backends work on this machine.")
    add_json_flag(p)
    p.set_defaults(func=run)


def backends() -> dict[str, str]:
    """Each backend and whether it is usable here (with versions)."""
    import numpy as np

    out = {"naive": "pure Python (reference)", "numpy": f"numpy {np.__version__}"}
    try:
        import numba

        out["numba"] = f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads"
    except ImportError as exc:  # pragma: no cover - numba is pinned
        out["numba"] = f"unavailable ({exc})"
    try:
        import torch

        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
        out["torch"] = f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cuda}"
    except ImportError as exc:  # pragma: no cover - torch is pinned
        out["torch"] = f"unavailable ({exc})"
    return out


def run(args) -> int:
    import crossview as cv

    rigs = {}
    for name in cv.list_rigs():
        cams = cv.load_rig(name)
        rigs[name] = {"views": len(cams), "cameras": [c.name for c in cams]}
    result = {"version": cv.__version__, "python": platform.python_version(),
              "cpus": os.cpu_count(), "data_dir": str(DATA_DIR),
              "rigs": rigs, "backends": backends()}
    if args.json:
        emit_json(result)
        return 0
    print(f"crossview {result['version']} (Python {result['python']}, {result['cpus']} CPUs)")
    print()
    print(format_table([(k, v["views"], ", ".join(map(str, v["cameras"])))
                        for k, v in rigs.items()], ["rig", "views", "cameras"]))
    print()
    print(format_table(list(result["backends"].items()), ["backend", "status"]))
    return 0
