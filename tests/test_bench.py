"""The benchmark command: ``python -m crossview bench``, on tiny settings."""

import json

import numpy as np
import pytest
import torch

from crossview.bench import BenchConfig, Timing, measure, rpsm, threads
from crossview.bench import fusion as bench_fusion
from crossview.cli import main

TINY = ["--repeat", "1", "--n-bins", "5", "--depth", "2", "--batch", "2"]


@pytest.fixture
def small_fusion(monkeypatch):
    monkeypatch.setattr(bench_fusion, "HEATMAP_SIZE", (16, 16))


def _json(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_measure_warms_up_then_times_each_call():
    calls = []
    timing = measure(lambda: calls.append(len(calls)) or len(calls), repeat=3, warmup=2)
    assert len(calls) == 5 and len(timing.times) == 3 and timing.output == 5
    t = Timing([0.3, 0.1, 0.2], warmup_s=1.0)
    assert (t.median, t.best, t.spread) == (0.2, 0.1, pytest.approx(0.1))


def test_rpsm_rows_carry_speed_accuracy_threads_and_device(capsys):
    out = _json(capsys, ["bench", "rpsm", "--backend", "numpy", "numba", "torch"] + TINY)
    rows = out["results"]
    assert [r["backend"] for r in rows] == ["numpy", "numba", "torch"]
    for r in rows:
        assert r["target"] == "rpsm" and r["batch"] == 2 and r["n_bins"] == 5 and r["depth"] == 2
        assert r["device"] == "cpu" and r["threads"] >= 1 and r["warmup_s"] >= 0
        assert 0 < r["best_ms_per_frame"] <= r["ms_per_frame"]
        assert r["frames_per_s"] == pytest.approx(1e3 / r["ms_per_frame"])
        assert np.isfinite(r["mpjpe_mm"]) and r["max_diff_mm"] < 0.5
    # the fast backends reach the reference's poses, hence its error
    assert rows[1]["mpjpe_mm"] == pytest.approx(rows[0]["mpjpe_mm"], abs=1e-9)
    m = out["machine"]
    assert m["cpu_count"] >= 1 and m["torch"] and m["date"] and "cuda_device" in m
    assert out["config"]["depth"] == 2 and out["profile"] == []


def test_threads_option_is_applied_and_reported(capsys):
    import numba

    before = torch.get_num_threads(), numba.get_num_threads()
    try:
        rows = _json(capsys, ["bench", "psm", "--backend", "numba", "torch", "--threads", "1"]
                     + TINY)["results"]
        assert [(r["backend"], r["threads"]) for r in rows] == [
            ("numpy", 1), ("numba", 1), ("torch", 1)]          # NumPy: the reference
    finally:
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])
    assert threads("numba", batch=1) == 1          # one frame runs on one thread


def test_profile_splits_a_call_into_its_stages(capsys):
    stages = _json(capsys, ["bench", "rpsm", "--backend", "numba", "--profile"] + TINY)["profile"]
    assert [r["stage"] for r in stages] == list(rpsm.STAGES)
    assert sum(r["share"] for r in stages) == pytest.approx(1.0)
    assert all(r["ms_per_frame"] >= 0 and r["call_ms_per_frame"] > 0 for r in stages)
    with pytest.raises(ValueError, match="profile needs"):
        rpsm.profile(BenchConfig(n_bins=5, depth=1, repeat=1), "naive")


def test_fusion_rows_report_the_error_of_fused_and_unfused_peaks(capsys, small_fusion):
    rows = _json(capsys, ["bench", "fusion", "--backend", "naive", "numba"] + TINY)["results"]
    assert {(r["backend"], r["affines"]) for r in rows} == {
        ("numpy", "shared"), ("numpy", "per-frame"), ("naive", "shared"), ("numba", "shared"),
        ("numba", "per-frame")}
    for r in rows:
        assert np.isfinite(r["mpjpe_mm"]) and np.isfinite(r["mpjpe_unfused_mm"])
        assert r["max_abs_diff"] < 1e-5
    per_frame = next(r for r in rows if r["affines"] == "per-frame")
    assert per_frame["geometry_ms"] > 0
    # the values the reads take: two per read and joint, about 4.5 million at 64 x 64
    assert all(r["reads_m"] > 0 for r in rows)


def test_every_row_has_its_speedup_over_numpy_timed_in_the_same_run(capsys, small_fusion):
    out = _json(capsys, ["bench", "fusion", "--backend", "numba", "torch"] + TINY)
    rows = out["results"]
    ref = {r["affines"]: r["ms_per_frame"] for r in rows if r["backend"] == "numpy"}
    assert set(ref) == {"shared", "per-frame"}
    for r in rows:
        assert r["reference"] == "numpy"
        assert r["speedup"] == pytest.approx(ref[r["affines"]] / r["ms_per_frame"])
    assert {r["speedup"] for r in rows if r["backend"] == "numpy"} == {1.0}
    m = out["machine"]
    assert len(m["load"]) == 3 and m["numba_threads"] >= 1 and m["torch_threads"] >= 1


def test_the_table_says_which_machine_and_shows_the_speedup(capsys):
    from crossview.bench import machine, machine_line

    assert main(["bench", "triangulate", "--backend", "torch"] + TINY) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.startswith("machine: ") and " CPUs, " in first and "threads" in first
    assert "load average" in first
    assert "speedup" in text.splitlines()[1]
    table = text.split("\ntriangulate: ")[1].splitlines()
    assert table[1].split()[:6] == ["backend", "device", "threads", "batch", "ms_per_frame",
                                    "speedup"]
    assert [line.split()[0] for line in table[3:]] == ["numpy", "numpy", "torch", "torch"]
    info = machine()
    line = machine_line(info)
    assert info["cpu"] in line and f"{info['cpu_count']} CPUs" in line


def test_all_prints_a_table_per_target(capsys, small_fusion):
    assert main(["bench", "all", "--backend", "numpy", "numba"] + TINY) == 0
    text = capsys.readouterr().out
    assert text.startswith("machine: ")
    for target in ("fusion", "psm", "rpsm", "triangulate"):
        assert f"\n{target}: " in text
    assert "ms_per_frame" in text and "mpjpe_mm" in text and "warmup_s" in text


def test_bad_settings_are_refused(capsys):
    assert main(["bench", "rpsm", "--batch", "0"]) == 2
    assert "--batch must be >= 1" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["bench", "rpsm", "--device", "cuda"] + TINY) == 2
        assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.cuda
def test_cuda_rows_run_on_the_gpu(capsys):
    out = _json(capsys, ["bench", "rpsm", "--backend", "numpy", "torch", "--device", "cuda"]
                + TINY)
    torch_row = out["results"][1]
    assert torch_row["device"] == "cuda" and torch_row["max_diff_mm"] < 0.5
    assert out["machine"]["cuda_device"] and out["machine"]["cuda_startup_s"] > 0
