import json

import numpy as np

import crossview as cv
from crossview.cli import emit_json, format_table, main


def test_info_lists_rigs_and_backends(capsys):
    assert main(["info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == cv.__version__
    assert out["rigs"]["h36m"]["views"] == 4
    assert set(out["backends"]) == {"naive", "numpy", "numba", "torch"}
    assert main(["info"]) == 0
    assert "h36m" in capsys.readouterr().out


def test_synth_writes_a_loadable_file(tmp_path, capsys):
    out = tmp_path / "scenes.npz"
    assert main(["synth", "--frames", "3", "--out", str(out), "--seed", "2", "--jitter", "1",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 3 and summary["synthetic"] is True
    s = cv.Scenes.load(out)
    assert s.heatmaps.shape == (3, 4, 17, 64, 64)
    assert np.array_equal(s.joints3d, cv.make_scenes(3, seed=2, heatmaps=False).joints3d)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["synth", "--frames", "0", "--out", str(tmp_path / "x.npz")]) == 2
    assert "n_frames" in capsys.readouterr().err


def test_format_table_aligns_columns():
    text = format_table([("a", 1.5), ("bbb", 22.25)], ["name", "value"])
    lines = text.splitlines()
    assert lines[0].startswith("name") and lines[2].endswith(" 1.50") and lines[3].endswith("22.25")


def test_json_output_is_strict_json(capsys):
    # NaN and infinities (an MPJPE of non-finite estimates, say) have no JSON number
    emit_json({"nan": np.float64("nan"), "inf": float("inf"), "neg": np.float32("-inf"),
               "array": np.array([1.5, np.nan, np.inf]), "int": np.int64(3), "ok": 2.5})

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    out = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert out == {"nan": None, "inf": None, "neg": None, "array": [1.5, None, None], "int": 3,
                   "ok": 2.5}
