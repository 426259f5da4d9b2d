import warnings

import numpy as np
import pytest
import torch

import crossview as cv
from crossview.fusion import epipolar_fusion
from crossview.learned_fusion import LearnedFusion, epipolar_mass
from crossview.sampler import EpipolarSampler, get_sampler

FAST = ["numpy", "numba", "torch"]


@pytest.fixture(scope="module")
def small():
    """3 frames, 4 H36M views, 3 joints, non-square 12 x 18 heatmaps, corrupted."""
    scenes = cv.make_scenes(3, "h36m", seed=11, heatmap_size=(12, 18), sigma=1.0, jitter=0.5,
                            false_peak_prob=0.2, occluded_scale=0.0)
    return scenes.heatmaps[:, :, :3], scenes.affines, scenes.cameras


@pytest.fixture(scope="module")
def ring3():
    """A 3-view ring with fx != fy and lens distortion, fixed crops, random maps 10 x 14."""
    cams = cv.ring_rig(3, focal=(1000.0, 1120.0), dist=(-0.15, 0.05, 0.001, 0.0005, 0.0))
    A = cv.crop_affine(np.full((3, 2), 500.0), np.tile([[700.0, 500.0]], (3, 1)), (10, 14))
    maps = np.random.default_rng(3).uniform(size=(2, 3, 4, 10, 14)).astype(np.float32)
    return maps, A, cams


# ---------------------------------------------------------------------- backends agree
@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("reduce", ["max", "mean"])
@pytest.mark.parametrize("per_frame", [False, True])
def test_backends_agree_with_naive(small, backend, reduce, per_frame):
    hm, A, cams = small
    aff = A if per_frame else A[0]
    ref = epipolar_fusion(hm, cams, aff, reduce=reduce, backend="naive", n_lines=24)
    got = epipolar_fusion(hm, cams, aff, reduce=reduce, backend=backend, n_lines=24)
    assert got.shape == hm.shape and got.dtype == hm.dtype
    assert np.abs(got - ref).max() < 1e-5


@pytest.mark.parametrize("backend", FAST)
def test_backends_agree_unbatched_on_a_distorted_ring(ring3, backend):
    maps, A, cams = ring3
    for b in range(2):
        ref = epipolar_fusion(maps[b], cams, A, backend="naive", self_weight=0.3)
        got = epipolar_fusion(maps[b], cams, A, backend=backend, self_weight=0.3)
        assert got.shape == maps[b].shape
        assert np.abs(got - ref).max() < 1e-5


@pytest.mark.parametrize("backend", FAST)
def test_backends_agree_through_a_lens_that_folds_inside_the_crops(backend):
    cams = cv.ring_rig(3, focal=800, dist=(-0.25, -0.08, 0.0, 0.0, 0.0))
    boxes = np.tile([[200.0, 500.0], [860.0, 860.0]], (3, 1, 1))
    A = cv.crop_affine(boxes[:, 0], boxes[:, 1], (12, 12))
    maps = np.random.default_rng(4).normal(size=(2, 3, 3, 12, 12))      # negative values too
    ref = epipolar_fusion(maps, cams, A, backend="naive")
    got = epipolar_fusion(maps, cams, A, backend=backend)
    assert np.abs(got - ref).max() < 1e-5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_reads_subnormal_values_as_zero(small, dtype):
    from crossview.kernels.fusion_numba import flush_threshold

    hm, A, cams = small
    tiny = np.finfo(dtype).tiny
    x = hm.astype(dtype)
    x[:, :, :, ::2] *= tiny                     # half the rows far below the flush level
    flushed = np.where(np.abs(x) < flush_threshold(dtype), 0, x)
    got = epipolar_fusion(x, cams, A, backend="numba")
    assert flush_threshold(dtype) == np.sqrt(tiny)
    assert np.abs(got - epipolar_fusion(flushed, cams, A, backend="numpy")).max() < 1e-5
    assert np.abs(got - epipolar_fusion(x, cams, A, backend="numpy")).max() < 1e-5


@pytest.mark.parametrize("backend", FAST)
def test_batched_equals_frame_by_frame(small, backend):
    hm, A, cams = small
    batched = epipolar_fusion(hm, cams, A, backend=backend)
    for b in range(len(hm)):
        one = epipolar_fusion(hm[b], cams, A[b], backend=backend)
        assert np.abs(batched[b] - one).max() < 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("per_frame", [False, True])
def test_torch_backend_on_device(small, device, dtype, per_frame):
    hm, A, cams = small
    aff = A if per_frame else A[0]
    ref = epipolar_fusion(hm.astype(np.float64), cams, aff, backend="numpy")
    x = torch.tensor(hm, dtype=dtype, device=device)
    got = epipolar_fusion(x, cams, aff, backend="torch")
    assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.device.type == device
    assert np.abs(got.cpu().numpy() - ref).max() < 1e-5


def test_kinds_round_trip(small):
    hm, A, cams = small
    t = torch.tensor(hm)
    out = epipolar_fusion(t, cams, A, backend="numba")       # tensor in, tensor out
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    out = epipolar_fusion(hm, cams, A, backend="torch")      # NumPy in, NumPy out
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    out = epipolar_fusion(hm.astype(np.float64), cams, A)
    assert out.dtype == np.float64
    out = epipolar_fusion(hm.tolist(), cams, A, backend="numpy")
    assert isinstance(out, np.ndarray) and out.shape == hm.shape


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backend", ["naive", *FAST])
def test_half_precision_tensors_fuse_with_every_backend(small, backend, dtype):
    hm, A, cams = small
    ref = epipolar_fusion(hm.astype(np.float64), cams, A, backend="numpy")
    got = epipolar_fusion(torch.tensor(hm, dtype=dtype), cams, A, backend=backend)
    assert isinstance(got, torch.Tensor) and got.dtype == dtype
    assert np.abs(got.double().numpy() - ref).max() < 1e-2     # the rounding of half precision


def test_torch_backend_is_differentiable(ring3):
    maps, A, cams = ring3
    x = torch.tensor(maps[:1, :, :1, :6, :8], dtype=torch.float64, requires_grad=True)
    A_small = cv.crop_affine(np.full((3, 2), 500.0), np.tile([[700.0, 525.0]], (3, 1)), (6, 8))
    assert torch.autograd.gradcheck(
        lambda h: epipolar_fusion(h, cams, A_small, reduce="mean", backend="torch"), (x,))
    y = torch.tensor(maps, requires_grad=True)
    epipolar_fusion(y, cams, A, reduce="max").square().sum().backward()
    assert torch.isfinite(y.grad).all() and (y.grad != 0).any()


def test_input_checks_do_not_touch_the_autograd_graph(ring3):
    # the finite/range checks read the input's extremes; on a tensor that requires grad
    # they must neither warn nor add to its graph
    maps, A, cams = ring3
    y = torch.tensor(maps, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = epipolar_fusion(y, cams, A, backend="torch")
    assert out.requires_grad and out.grad_fn is not None


# ---------------------------------------------------------------------- what fusion does
def test_self_weight_one_is_the_identity(small):
    hm, A, cams = small
    assert np.array_equal(epipolar_fusion(hm, cams, A, self_weight=1.0, backend="numpy"), hm)


def test_mean_fusion_is_linear(ring3):
    maps, A, cams = ring3
    f = lambda h: epipolar_fusion(h, cams, A, reduce="mean", backend="numpy")  # noqa: E731
    m = maps.astype(np.float64)
    assert np.allclose(f(2.0 * m[0] + m[1]), 2.0 * f(m[0]) + f(m[1]))


def test_max_gathers_at_least_the_mean(ring3):
    maps, A, cams = ring3
    hi = epipolar_fusion(maps, cams, A, reduce="max", self_weight=0.0, backend="numba")
    lo = epipolar_fusion(maps, cams, A, reduce="mean", self_weight=0.0, backend="numba")
    assert (hi >= lo - 1e-6).all()


def test_permuting_views_permutes_the_result(small):
    hm, A, cams = small
    order = [2, 0, 3, 1]
    ref = epipolar_fusion(hm, cams, A, backend="numpy")
    got = epipolar_fusion(hm[:, order], [cams[i] for i in order], A[:, order], backend="numpy")
    assert np.abs(got - ref[:, order]).max() < 1e-5


def test_fusion_recovers_a_joint_missing_from_one_view(h36m):
    scenes = cv.make_scenes(8, h36m, seed=2, occluders=None)
    hm = scenes.heatmaps.copy()
    hm[:, 0] = 0.0                            # view 0 sees nothing at all
    fused = epipolar_fusion(hm, h36m, scenes.affines, self_weight=0.5)
    peaks, _ = cv.find_peaks(fused[:, 0])
    err = np.linalg.norm(peaks - scenes.joints_hm[:, 0], axis=-1)
    inside = scenes.occlusion[:, 1:].max(1) == 0       # the other views see the joint
    assert inside.sum() > 40 and np.median(err[inside]) < 1.0


def test_fusion_keeps_consistent_peaks_in_place(h36m):
    scenes = cv.make_scenes(3, h36m, seed=5, occluders=None)
    fused = epipolar_fusion(scenes.heatmaps, h36m, scenes.affines)
    before, _ = cv.find_peaks(scenes.heatmaps)
    after, _ = cv.find_peaks(fused)
    moved = np.linalg.norm(after - before, axis=-1)
    assert np.median(moved) < 0.25 and np.percentile(moved, 95) < 1.0


def test_fusion_suppresses_a_false_peak(h36m):
    scenes = cv.make_scenes(1, h36m, seed=9, occluders=None)
    hm = scenes.heatmaps[0].copy()
    truth = scenes.joints_hm[0, 0, 3]
    fake = np.array([63.0, 63.0]) - truth                 # far from the truth
    hm[0, 3] = np.maximum(hm[0, 3], 1.2 * cv.render_heatmaps(fake[None], (64, 64))[0])
    assert np.linalg.norm(cv.find_peaks(hm[0, 3])[0] - fake) < 0.5       # the fake wins alone
    fused = epipolar_fusion(hm, h36m, scenes.affines[0], self_weight=0.4)
    assert np.linalg.norm(cv.find_peaks(fused[0, 3])[0] - truth) < 1.0   # but not after fusion


# ---------------------------------------------------------------------- bad input
def test_bad_fusion_inputs(small):
    hm, A, cams = small
    with pytest.raises(ValueError, match=r"cameras has 3 cameras but heatmaps have 4 views"):
        epipolar_fusion(hm, cams[:3], A)
    with pytest.raises(ValueError, match=r"affines has 3 views but heatmaps have 4 views"):
        epipolar_fusion(hm, cams, A[:, :3])
    with pytest.raises(ValueError, match=r"affines has 2 frames but heatmaps have 3 frames"):
        epipolar_fusion(hm, cams, A[:2])
    with pytest.raises(ValueError, match=r"affines must have shape \(4, 2, 3\) to match"):
        epipolar_fusion(hm[0], cams, A)
    with pytest.raises(ValueError, match=r"affines must have shape"):
        epipolar_fusion(hm, cams, np.zeros((4, 3, 3)))
    bad = hm.copy()
    bad[0, 1, 2, 3, 4] = np.nan
    with pytest.raises(ValueError, match="heatmaps must be finite"):
        epipolar_fusion(bad, cams, A)
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(V, J, H, W\)"):
        epipolar_fusion(hm[0, 0], cams, A[0])
    with pytest.raises(ValueError, match="backend must be one of"):
        epipolar_fusion(hm, cams, A, backend="cuda")
    with pytest.raises(ValueError, match="reduce must be one of 'max', 'mean'"):
        epipolar_fusion(hm, cams, A, reduce="sum")
    with pytest.raises(ValueError, match=r"self_weight must be in \[0, 1\]"):
        epipolar_fusion(hm, cams, A, self_weight=1.5)
    with pytest.raises(TypeError, match="cameras must be a list"):
        epipolar_fusion(hm, cams[0], A)
    with pytest.raises(TypeError, match=r"cameras\[1\] must be a crossview\.Camera"):
        epipolar_fusion(hm, [cams[0], "x", cams[2], cams[3]], A)
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        epipolar_fusion(hm, cams, A, n_samples=1)
    with pytest.raises(ValueError, match="at least two views"):
        epipolar_fusion(hm[:, :1], cams[:1], A[:, :1])


# ---------------------------------------------------------------------- the learned layer
def test_learned_fusion_shapes_and_zero_init():
    layer = LearnedFusion(3, (6, 5))
    assert layer.weight.shape == (6, 30, 30)
    x = torch.rand(2, 3, 4, 6, 5)
    assert torch.allclose(layer(x), 0.5 * x)
    assert layer.pair_index(2, 1) == 5 and layer.weight_map(0, 1, (2, 3)).shape == (6, 5)
    u = LearnedFusion(3, (6, 5), init="uniform")
    assert 0 <= float(u.weight.detach().min()) and float(u.weight.detach().max()) <= 0.1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_learned_fusion_on_device(device, dtype):
    layer = LearnedFusion(3, (4, 5), self_weight=0.25, init="uniform").to(device=device,
                                                                          dtype=dtype)
    x = torch.rand(2, 3, 6, 4, 5, device=device, dtype=dtype)
    out = layer(x)
    assert out.shape == x.shape and out.device.type == device and out.dtype == dtype
    W = layer.weight.detach()
    flat = x.reshape(2, 3, 6, 20)
    expect = 0.25 * flat[:, 0] + 0.75 / 2 * (flat[:, 1] @ W[0].T + flat[:, 2] @ W[1].T)
    assert torch.allclose(out[:, 0].reshape(2, 6, 20), expect, atol=1e-5)
    out.sum().backward()
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()


def test_learned_fusion_with_epipolar_init_is_analytic_mean_fusion(h36m):
    scenes = cv.make_scenes(2, h36m, seed=1, heatmap_size=(10, 12), sigma=1.0)
    A = scenes.affines[0]
    layer = LearnedFusion(4, (10, 12), self_weight=0.3, init="epipolar", cameras=h36m, affines=A)
    x = scenes.heatmaps[:, :, :5].astype(np.float32)
    got = layer(torch.from_numpy(x)).detach().numpy()
    ref = epipolar_fusion(x, h36m, A, reduce="mean", self_weight=0.3, backend="numpy")
    assert np.abs(got - ref).max() < 1e-5


def test_learned_fusion_trains_on_cpu(h36m):
    torch.manual_seed(0)
    scenes = cv.make_scenes(40, h36m, seed=3, heatmap_size=(8, 8), sigma=0.8)
    clean = torch.from_numpy(scenes.heatmaps)
    noisy = clean.clone()
    noisy[:, 0] = 0                                       # view 0 must learn from the others
    layer = LearnedFusion(4, (8, 8), self_weight=0.5)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = (layer(noisy) - clean).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_learned_fusion_init_from_tensor_and_bad_arguments(h36m):
    w = torch.rand(2, 4, 4)
    layer = LearnedFusion(2, (2, 2), init=w)
    assert torch.equal(layer.weight.data, w)
    with pytest.raises(ValueError, match=r"init must have shape \(2, 4, 4\)"):
        LearnedFusion(2, (2, 2), init=torch.rand(2, 4, 5))
    with pytest.raises(ValueError, match="init must be 'zeros'"):
        LearnedFusion(2, (2, 2), init="gaussian")
    with pytest.raises(ValueError, match="needs cameras and affines"):
        LearnedFusion(2, (2, 2), init="epipolar")
    with pytest.raises(ValueError, match="n_views must be >= 2"):
        LearnedFusion(1, (4, 4))
    with pytest.raises(ValueError, match=r"self_weight must be in \[0, 1\]"):
        LearnedFusion(2, (4, 4), self_weight=-0.1)
    with pytest.raises(ValueError, match="heatmaps must have 2 views of size"):
        LearnedFusion(2, (2, 2))(torch.rand(1, 3, 1, 2, 2))
    with pytest.raises(ValueError, match=r"heatmaps must be a tensor of shape \(B, V, J, H, W\)"):
        LearnedFusion(2, (2, 2))(torch.rand(2, 1, 2, 2))


def test_epipolar_mass_of_analytic_and_uniform_weights(h36m):
    scenes = cv.make_scenes(1, h36m, seed=4, heatmaps=False, heatmap_size=(16, 16))
    A = scenes.affines[0]
    analytic = LearnedFusion(4, (16, 16), init="epipolar", cameras=h36m, affines=A).weight
    near, uniform = epipolar_mass(analytic, h36m, A, (16, 16), k=1.0)
    assert near.shape == uniform.shape == (12, 256)
    ok = ~np.isnan(near)
    assert ok.mean() > 0.5
    assert np.nanmedian(near) > 0.95 and np.nanmedian(uniform) < 0.25
    flat = np.ones((12, 256, 256))
    near_u, uniform_u = epipolar_mass(flat, h36m, A, (16, 16), k=1.0)
    assert np.allclose(near_u[ok], uniform_u[ok])
    with pytest.raises(ValueError, match="weight must have shape"):
        epipolar_mass(flat[:, :10], h36m, A, (16, 16))
    with pytest.raises(ValueError, match=r"heatmap_size must be .* integers"):
        epipolar_mass(flat, h36m, A, (16.5, 16))


# ---------------------------------------------------------------------- benchmark
def test_bench_fusion_reports_every_backend(capsys, monkeypatch):
    import json

    from crossview.bench import fusion as bench_fusion
    from crossview.cli import main

    monkeypatch.setattr(bench_fusion, "HEATMAP_SIZE", (16, 16))   # small and quick
    assert main(["bench", "fusion", "--backend", "numpy", "numba", "torch", "--repeat", "1",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["results"]
    assert {r["backend"] for r in rows} == {"numpy", "numba", "torch"}
    assert {r["affines"] for r in rows} == {"shared", "per-frame"}
    assert all(r["ms_per_frame"] > 0 and r["max_abs_diff"] < 1e-5 for r in rows)


def test_sampler_is_shared_by_fusion_calls(small, monkeypatch):
    from crossview.sampler import clear_sampler_cache

    hm, A, cams = small
    clear_sampler_cache()
    built = []
    build = EpipolarSampler.build.__func__
    monkeypatch.setattr(EpipolarSampler, "build",
                        classmethod(lambda cls, *a, **k: built.append(a) or build(cls, *a, **k)))
    first = epipolar_fusion(hm, cams, A[0], backend="numpy")
    assert len(built) == 1                    # the first call traces the curves ...
    for backend in ("numpy", "numba", "torch"):
        again = epipolar_fusion(hm[::-1].copy(), cams, A[0], backend=backend)
        assert np.abs(again[::-1] - first).max() < 1e-5
    assert len(built) == 1                    # ... and later calls with that geometry reuse them
    assert isinstance(get_sampler(cams, A[0], hm.shape[-2:]), EpipolarSampler)
    assert len(built) == 1
