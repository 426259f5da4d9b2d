import itertools

import numpy as np
import pytest
import torch

import crossview as cv
from crossview.kernels import load_kernel, psm_numba, psm_torch
from crossview.kernels.psm_common import keys_weights, limb_stencil, penalty, stencil_table
from crossview.psm import grid, unary_terms


@pytest.fixture(scope="module")
def clean():
    return cv.make_scenes(3, "h36m", seed=11)


@pytest.fixture(scope="module")
def noisy():
    return cv.make_scenes(3, "h36m", seed=12, jitter=1.5, false_peak_prob=0.2)


# ---------------------------------------------------------------------- building blocks
def test_grid_spans_the_cube():
    g = grid([100.0, -50.0, 900.0], n_bins=5, cube_size=2000.0)
    assert g.shape == (125, 3)
    assert np.allclose(g.min(0), [-900, -1050, -100]) and np.allclose(g.max(0), [1100, 950, 1900])
    assert np.allclose(g[1] - g[0], [0, 0, 500])           # iz varies fastest, spacing 2000/4


def test_keys_weights_reproduce_quadratics(rng):
    t = rng.uniform(0, 1, 50)
    w = keys_weights(t)
    for poly in (lambda x: np.ones_like(x), lambda x: x, lambda x: 3 * x**2 - x + 2):
        taps = sum(wk * poly(np.full_like(t, k - 1.0)) for k, wk in enumerate(w))
        assert np.allclose(taps, poly(t), atol=1e-12)


@pytest.mark.parametrize("length,spacing,window", [(430.0, 133.3, 150.0), (114.0, 133.3, 150.0),
                                                   (250.0, 40.0, 10.0), (300.0, 200.0, 5.0)])
def test_stencil_is_exactly_the_limb_shell(length, spacing, window):
    st = limb_stencil(length, spacing, window)
    r = int((length + window) / spacing) + 2
    everything = np.array(list(itertools.product(range(-r, r + 1), repeat=3)))
    inside = np.abs(spacing * np.linalg.norm(everything, axis=1) - length) <= window
    assert {tuple(d) for d in st} == {tuple(d) for d in everything[inside]}
    assert [tuple(d) for d in st] == sorted(tuple(d) for d in st)   # bin-index order


def test_unary_peaks_at_the_joint_on_clean_heatmaps(clean):
    f = 0
    X = clean.joints3d[f]
    U = unary_terms(clean.heatmaps[f], clean.cameras, clean.affines[f], X)      # (J, J)
    on_joint = np.diag(U)
    assert np.abs(on_joint).max() < 1e-3                  # every view reads ~1 at the joint
    moved = unary_terms(clean.heatmaps[f], clean.cameras, clean.affines[f], X + [30, 0, 0])
    assert (np.diag(moved) < on_joint - 0.05).all()


def test_unary_reads_the_floor_outside_every_view(clean):
    far = np.array([[0.0, 0.0, 50_000.0], [1e5, 0, 0]])
    U = unary_terms(clean.heatmaps[0], clean.cameras, clean.affines[0], far, floor=1e-3)
    assert np.allclose(U, 4 * np.log(1e-3))


def test_an_empty_heatmap_does_not_veto(clean):
    hm = clean.heatmaps[0].copy()
    hm[2, 5] = 0.0                        # view 2 lost joint 5
    X = clean.joints3d[0, 5][None]
    U = unary_terms(hm, clean.cameras, clean.affines[0], np.stack([X[0], X[0] + [40, 0, 0]]))
    assert np.isfinite(U).all() and U[5, 0] > U[5, 1]


@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "torch"])
def test_unary_backends_agree(clean, backend):
    from crossview.psm import kernel_inputs, prepare_inputs

    center = clean.joints3d[0, 12] + [7.0, -3.0, 11.0]
    pts = grid(center, n_bins=5, cube_size=400.0)          # around the left elbow
    ref = unary_terms(clean.heatmaps[0], clean.cameras, clean.affines[0], pts)
    problem = prepare_inputs(clean.heatmaps[0], clean.cameras, clean.affines[0], None, 1e-3,
                             backend)
    kernel, bridge, state, cams = kernel_inputs(problem, "psm")
    points = kernel.unary(state, cams, bridge.native(pts[None]))
    on_grid = kernel.grid_unary(state, cams, bridge.native(center[None]), 5, 400.0)
    for got in (points, on_grid):
        assert got.shape == (1, 17, len(pts))
        assert np.allclose(np.asarray(got)[0], ref, atol=1e-10)
    assert ref.max() > ref.min() + 1.0                        # the test sees the elbow's blob


# ---------------------------------------------------------------------- max-product
def _brute_force(U, parents, n, lengths, window, pen):
    """Best configuration of a small tree by enumerating every assignment of bins."""
    J = len(parents)
    coords = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    best, arg = -np.inf, None
    for config in itertools.product(range(n**3), repeat=J):
        score = sum(U[j, config[j]] for j in range(J))
        for j in range(1, J):
            d = np.linalg.norm(coords[config[j]] - coords[config[parents[j]]])
            score += 0.0 if abs(d - lengths[j]) <= window else -pen
        if score > best:
            best, arg = score, config
    return np.array(arg)


@pytest.mark.parametrize("parents,lengths,window", [
    ((-1, 0, 1), (0, 1.2, 1.5), 0.3),          # a 3-joint chain
    ((-1, 0, 0), (0, 1.0, 2.0), 0.25),         # a fork
    ((-1, 0, 1), (0, 7.0, 1.0), 0.1),          # the first limb cannot fit in the grid
])
@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "torch"])
def test_max_product_is_exact(rng, parents, lengths, window, backend):
    n = 2 if len(parents) > 2 and lengths[1] > 5 else 3
    J = len(parents)
    U = rng.normal(0, 1, (J, n**3))
    pen = 5.0
    want = _brute_force(U, parents, n, lengths, window, pen)
    offsets, counts = stencil_table(np.array([lengths], float), 1.0, np.full(J, window))
    U = torch.tensor(U[None]) if backend == "torch" else U[None]
    got = load_kernel("psm", backend).max_product_grid(U, offsets, counts, parents, n, pen)
    assert got.shape == (1, J) and np.array_equal(np.asarray(got)[0], want)


def test_penalty_exceeds_any_unary_difference():
    assert penalty(17, 4, np.log(1e-3)) > 17 * 4 * -np.log(1e-3)


# ---------------------------------------------------------------------- psm
def _objective(pose, heatmaps, cams, A, lengths, tolerance=150.0):
    U = unary_terms(heatmaps, cams, A, pose)                 # (J, J): joint j at pose[j]
    ok = np.abs(cv.SKELETON.limb_lengths(pose)[1:] - lengths[1:]) <= tolerance
    return np.trace(U) - penalty(17, 4, np.log(1e-3)) * (~ok).sum()


def test_psm_beats_the_nearest_bins_on_clean_heatmaps(clean):
    f = 0
    hm, cams, A, X = clean.heatmaps[f], clean.cameras, clean.affines[f], clean.joints3d[f]
    pose = cv.psm(hm, cams, A, center=X[0], limb_lengths=None)
    spacing = 2000.0 / 15
    g = grid(X[0], 16, 2000.0)
    nearest = g[np.linalg.norm(g[None] - X[:, None], axis=-1).argmin(1)]
    err = np.linalg.norm(pose - X, axis=-1)
    print(f"PSM N=16 errors: mean {err.mean():.1f} mm, max {err.max():.1f} mm")
    assert err.max() <= spacing * np.sqrt(3) and err.mean() < 0.6 * spacing
    prior = cv.LIMB_PRIOR.mean
    assert _objective(pose, hm, cams, A, prior) >= _objective(nearest, hm, cams, A, prior) - 1e-9
    # and the pose is a set of bins
    assert (np.linalg.norm(g[None] - pose[:, None], axis=-1).min(1) < 1e-9).all()


def test_psm_backends_agree_on_a_small_grid(noisy):
    f = 1
    args = (noisy.heatmaps[f], noisy.cameras, noisy.affines[f])
    kw = dict(center=noisy.joints3d[f, 0], n_bins=4)
    ref = cv.psm(*args, **kw, backend="naive")
    for backend in ("numpy", "numba", "torch"):
        assert np.abs(cv.psm(*args, **kw, backend=backend) - ref).max() < 1e-9, backend


def test_psm_backends_agree_batched(noisy):
    c = noisy.joints3d[:, 0] + 40.0
    ref = cv.psm(noisy.heatmaps, noisy.cameras, noisy.affines, center=c,
                 limb_lengths=noisy.limb_lengths)
    assert ref.shape == (3, 17, 3)
    for backend in ("numba", "torch"):
        got = cv.psm(noisy.heatmaps, noisy.cameras, noisy.affines, center=c,
                     limb_lengths=noisy.limb_lengths, backend=backend)
        assert np.abs(got - ref).max() < 1e-9, backend


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_psm_torch_in_torch_out(noisy, device, dtype):
    hm = torch.tensor(noisy.heatmaps[:2], dtype=dtype, device=device)
    c = torch.tensor(noisy.joints3d[:2, 0], dtype=dtype, device=device)
    ref = cv.psm(noisy.heatmaps[:2], noisy.cameras, noisy.affines[:2],
                 center=noisy.joints3d[:2, 0], n_bins=8)
    for backend in ("torch", "numpy"):
        out = cv.psm(hm, noisy.cameras, noisy.affines[:2], center=c, n_bins=8, backend=backend)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype
        assert out.device.type == device and out.shape == (2, 17, 3)
        # the same bins (285 mm apart); float32 only rounds the centre
        assert np.abs(out.cpu().double().numpy() - ref).max() < (
            1e-9 if dtype == torch.float64 else 150.0), backend


def test_unknown_backend_and_kernel_lookup():
    assert load_kernel("psm", "numba") is psm_numba
    assert load_kernel("psm", "torch") is psm_torch
    with pytest.raises(ValueError, match="backend must be one of"):
        load_kernel("psm", "cupy")
    with pytest.raises(ValueError, match="family must be one of 'fusion', 'psm', 'rpsm'"):
        load_kernel("nothing", "numpy")


def test_bad_input(clean):
    hm, cams, A, c = clean.heatmaps[0], clean.cameras, clean.affines[0], clean.joints3d[0, 0]
    cases = [
        (dict(heatmaps=hm[:1], cameras=cams[:1]), "at least two views"),
        (dict(n_bins=1), "n_bins must be >= 2"),
        (dict(heatmaps=-hm), "non-negative"),
        (dict(heatmaps=np.where(hm > 0.5, np.nan, hm)), "heatmaps must be finite"),
        (dict(center=c + [0, 0, 1e6]), "projects far outside every view"),
        (dict(center=c - [0, 0, 8000]), "projects far outside every view"),
        (dict(cameras=cams[:3]), "cameras has 3 cameras"),
        (dict(affines=A[:, :1]), "affines must have shape"),
        (dict(heatmaps=hm[:, :5]), "17 joints"),
        (dict(limb_lengths=np.ones(5)), "limb_lengths must have shape"),
        (dict(limb_lengths=-np.ones(17)), "limb_lengths must be positive"),
        (dict(center=np.zeros(2)), "center must have shape"),
        (dict(backend="cuda"), "backend must be one of"),
        (dict(tolerance=0.0), "tolerance must be a finite positive"),
    ]
    for change, message in cases:
        kw = dict(heatmaps=hm, cameras=cams, affines=A, center=c, limb_lengths=None)
        kw.update(change)
        with pytest.raises(ValueError, match=message):
            cv.psm(**kw)


@pytest.mark.parametrize("backend", ["numpy", "numba", "torch"])
def test_a_huge_tolerance_is_bounded_by_the_grid(backend):
    # a window wider than the cube's diagonal allows every pair of bins; the stencil
    # must stop at the grid's edge instead of growing with the window
    s = cv.make_scenes(1, seed=3)
    args = (s.heatmaps[0], s.cameras, s.affines[0])
    wide = cv.psm(*args, center=s.joints3d[0, 0], n_bins=6, tolerance=1e7, backend=backend)
    enough = cv.psm(*args, center=s.joints3d[0, 0], n_bins=6, tolerance=4000.0, backend=backend)
    assert np.allclose(wide, enough)
