import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import crossview as cv
from crossview import synth
from crossview.cli import build_parser, command_list, main
from crossview.tables import emit_json, format_table


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


# ------------------------------------------------------------- a bare `python -m crossview`
def test_no_command_lists_the_commands_one_line_each(capsys):
    assert main([]) == 2                                   # argparse's usage status
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0].startswith("usage: python -m crossview")
    commands = command_list(build_parser())
    assert {name for name, _ in commands} >= {"bench", "evaluate", "info", "synth", "train"}
    for name, text in commands:
        mine = [line for line in lines if line.split()[:1] == [name]]
        assert len(mine) == 1 and mine[0].split(None, 1)[1] == text, (name, mine)


def test_no_command_from_the_shell_exits_with_the_usage_status():
    proc = subprocess.run([sys.executable, "-m", "crossview"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "synth " in proc.stderr and "evaluate " in proc.stderr
    assert "the following arguments are required" not in proc.stderr


# ------------------------------------------------------------------------- synth --out
def _no_scenes(*args, **kwargs):
    raise AssertionError("scenes were computed before --out was checked")


@pytest.mark.parametrize("name", ["scenes.txt", "scenes", "scenes.NPZ"])
def test_synth_refuses_a_name_without_npz_before_computing(tmp_path, capsys, monkeypatch, name):
    monkeypatch.setattr(synth, "make_scenes", _no_scenes)
    assert main(["synth", "--frames", "2", "--out", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert "--out must name a .npz file" in err and name in err
    assert list(tmp_path.iterdir()) == []                  # nothing written, under any name


def test_synth_refuses_a_missing_folder_before_computing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(synth, "make_scenes", _no_scenes)
    assert main(["synth", "--out", str(tmp_path / "no" / "scenes.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_synth_writes_exactly_the_file_named(tmp_path, capsys):
    assert main(["synth", "--frames", "2", "--no-heatmaps", "--out",
                 str(tmp_path / "s.npz")]) == 0
    assert "s.npz" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_synth_leaves_no_file_when_writing_fails(tmp_path, capsys, monkeypatch):
    def fail_halfway(self, path):
        Path(path).write_bytes(b"PK\x03\x04 half an archive")
        raise ValueError("the disk is full")

    monkeypatch.setattr(synth.Scenes, "save", fail_halfway)
    assert main(["synth", "--frames", "2", "--no-heatmaps", "--out",
                 str(tmp_path / "s.npz")]) == 2
    assert "the disk is full" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ train options
def _no_training(*args, **kwargs):
    raise AssertionError("training started with options that should have been refused")


@pytest.mark.parametrize("options, message", [
    (["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--fusion-epochs", "0"], "--fusion-epochs must be >= 1"),
    (["--frames", "0"], "--frames must be >= 1"),
    (["--val-frames", "1"], "--val-frames must be >= 2"),
    (["--eval-frames", "0"], "--eval-frames must be >= 2"),
    (["--scene-sets", "0"], "--scene-sets must be >= 1"),
    (["--batch-frames", "-3"], "--batch-frames must be >= 1"),
    (["--frames", "8", "--batch-frames", "16"], "--batch-frames must be at most --frames (8)"),
    (["--frames", "4", "--scene-sets", "8"], "--scene-sets must be at most --frames (4)"),
    (["--lr", "0"], "--lr must be a finite positive number"),
    (["--lr", "nan"], "--lr must be a finite positive number"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--device", "gpu0"], "--device must be a torch device"),
    (["--out", "no/such/folder/w.pt"], "does not exist"),
    (["--compare", "no-such-weights.pt"], "--compare 'no-such-weights.pt': no such file"),
])
def test_train_refuses_settings_that_cannot_train(tmp_path, capsys, monkeypatch, options,
                                                  message):
    from crossview import nets

    monkeypatch.setattr(nets, "train_pose2d", _no_training)
    monkeypatch.setattr(nets, "make_dataset", _no_training)
    monkeypatch.chdir(tmp_path)
    out = [] if "--out" in options else ["--out", "w.pt"]
    assert main(["train", *out, *options, "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []                  # no weights written


def test_train_checks_every_numeric_option():
    from crossview.commands.train import OPTIONS

    parser = build_parser()
    train = next(a for a in parser._actions if a.dest == "command").choices["train"]
    numeric = {a.option_strings[0] for a in train._actions if a.type in (int, float)}
    assert numeric == set(OPTIONS.values()) | {"--threads"}


def test_train_config_refuses_an_untrainable_recipe():
    from crossview.nets import TrainConfig

    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="batch_frames must be at most train_frames"):
        TrainConfig(train_frames=4, batch_frames=16, scene_sets=2)
    with pytest.raises(TypeError, match="fusion_epochs must be an integer"):
        TrainConfig(fusion_epochs=2.5)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        TrainConfig(weight_decay=-1e-4)
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


# ------------------------------------------------------------ evaluate --scenes NOT-SCENES
def _write_pickle(path):
    import pickle

    path.write_bytes(pickle.dumps({"joints3d": [1, 2, 3]}, protocol=4))


NOT_SCENES = {
    "empty.npz": (lambda p: p.write_bytes(b""), "an empty file"),
    "notes.txt": (lambda p: p.write_text("frame,x,y\n0,1,2\n"), "a text file starting 'frame,x,y'"),
    "poses.pkl": (_write_pickle, "a Python pickle (protocol 4)"),
    "heatmaps.npy": (lambda p: np.save(p, np.zeros((2, 4, 17, 8, 8), np.float32)),
                     "a NumPy .npy array of shape (2, 4, 17, 8, 8) and dtype float32"),
    "other.npz": (lambda p: np.savez(p, heatmaps=np.zeros(3)),
                  "an archive holding heatmaps, without meta, joints3d, joints2d and 7 more"),
    "noise.bin": (lambda p: p.write_bytes(bytes(range(64))),
                  "binary data starting with the bytes 00 01 02"),
}


@pytest.mark.parametrize("name", NOT_SCENES)
def test_evaluate_says_a_file_is_not_a_scenes_file(tmp_path, capsys, name):
    write, found = NOT_SCENES[name]
    path = tmp_path / name
    write(path)
    assert main(["evaluate", "--scenes", str(path), "--method", "dlt", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"--scenes {path} is not a scenes file written by 'python -m crossview synth'" in err
    assert f"it is {found}" in err
    assert "allow_pickle" not in err
    with pytest.raises(ValueError, match="is not a scenes file"):
        cv.Scenes.load(path)


def test_a_scenes_file_still_loads(tmp_path):
    s = cv.make_scenes(2, seed=3)
    back = cv.Scenes.load(s.save(tmp_path / "s.npz"))
    assert np.array_equal(back.heatmaps, s.heatmaps) and np.array_equal(back.joints3d, s.joints3d)
    with pytest.raises(FileNotFoundError):
        cv.Scenes.load(tmp_path / "missing.npz")
