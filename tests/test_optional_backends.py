"""``import crossview`` and the NumPy and naive paths of every algorithm work without Numba
and torch; those load only when their backend is chosen."""

import subprocess
import sys
import textwrap

# None in sys.modules is how Python itself marks a module as not importable: `import numba`
# raises ModuleNotFoundError and importlib.util.find_spec("numba") returns None, as on a
# machine without it.
BLOCK = textwrap.dedent("""
    import sys
    sys.modules["numba"] = None
    sys.modules["torch"] = None
""")


def run_without_numba_and_torch(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_numpy_and_naive_paths_run_without_numba_and_torch():
    out = run_without_numba_and_torch("""
        import numpy as np
        import crossview as cv
        from crossview.kernels import resolve_backend

        assert sys.modules["numba"] is None and sys.modules["torch"] is None
        assert resolve_backend(None, np.zeros(1)) == "numpy"
        s = cv.make_scenes(2, "h36m", seed=0)
        hm, cams, A = s.heatmaps, s.cameras, s.affines
        for backend in ("numpy", None):
            pose = cv.rpsm(hm, cams, A, backend=backend)
            assert cv.mpjpe(pose, s.joints3d) < 2.0
            assert cv.psm(hm, cams, A, backend=backend).shape == (2, 17, 3)
        small = dict(center=s.joints3d[0, 0], n_bins=3, depth=1, backend="naive")
        assert cv.rpsm(hm[0], cams, A[0], **small).shape == (17, 3)
        assert np.allclose(cv.triangulate(s.joints2d, cams), s.joints3d, atol=1e-6)
        assert cv.triangulate_robust(s.joints2d, cams).shape == (2, 17, 3)
        F = cv.fundamental_matrix(cams[0], cams[1])
        for backend in ("numpy", "naive", None):
            fused = cv.epipolar_fusion(hm[:1, :, :2], cams, A[0], backend=backend)
            assert fused.shape == (1, 4, 2, 64, 64)
        est = cv.estimate_limb_lengths(hm, cams, A)
        assert np.isfinite(est.mean).all()
        for name in ("numba", "torch"):
            try:
                cv.rpsm(hm, cams, A, backend=name)
            except ValueError as exc:
                assert f"needs {name}" in str(exc), exc
            else:
                raise AssertionError(f"backend {name!r} ran without {name}")
        assert sys.modules["numba"] is None and sys.modules["torch"] is None
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_importing_crossview_loads_neither():
    out = subprocess.run([sys.executable, "-c", "import sys, crossview; "
                          "print(sorted({'numba', 'torch'} & set(sys.modules)))"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
