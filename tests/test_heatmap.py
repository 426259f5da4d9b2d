import numpy as np
import pytest
import torch

import crossview as cv
from crossview import heatmap


def test_render_puts_the_peak_at_the_point():
    maps = cv.render_heatmaps(np.array([[10.0, 20.0]]), (32, 48), sigma=2.0)
    assert maps.shape == (1, 32, 48) and maps.dtype == np.float32
    i, j = np.unravel_index(maps[0].argmax(), maps[0].shape)
    assert (i, j) == (20, 10) and np.isclose(maps[0, 20, 10], 1.0)


def test_subpixel_peak_recovery_better_than_005_px(rng):
    true = rng.uniform(2, 61, size=(2000, 2))
    found, values = cv.find_peaks(cv.render_heatmaps(true, (64, 64), sigma=2.0))
    assert np.abs(found - true).max() < 0.05
    assert np.all(values > 0.88)


def test_argmax_only_is_half_pixel_accurate(rng):
    true = rng.uniform(2, 61, size=(500, 2))
    found, _ = cv.find_peaks(cv.render_heatmaps(true, (64, 64)), subpixel=False)
    assert np.abs(found - true).max() <= 0.5 + 1e-9
    assert np.all(found == np.round(found))


def test_peaks_on_the_border_and_empty_maps():
    maps = cv.render_heatmaps(np.array([[0.0, 30.0], [63.0, 0.0]]), (64, 64))
    found, _ = cv.find_peaks(maps)
    assert np.allclose(found, [[0.0, 30.0], [63.0, 0.0]], atol=0.05)
    zero, v = cv.find_peaks(np.zeros((2, 8, 8)))
    assert np.all(np.isfinite(zero)) and np.all(v == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_peaks_torch_matches_numpy(rng, device, dtype):
    true = rng.uniform(2, 29, size=(3, 5, 2))
    maps = cv.render_heatmaps(true, (32, 32))
    ref, _ = cv.find_peaks(maps.astype(np.float64))
    got, _ = cv.find_peaks(torch.as_tensor(maps, dtype=dtype, device=device))
    assert isinstance(got, torch.Tensor) and got.dtype == dtype
    assert np.allclose(got.cpu().numpy(), ref, atol=1e-3 if dtype == torch.float32 else 1e-9)


def test_crop_affine_maps_crop_edges_to_heatmap_edges():
    A = cv.crop_affine(np.array([500.0, 400.0]), np.array([200.0, 100.0]), (32, 64))
    edges = cv.apply_affine(A, np.array([[400.0, 350.0], [600.0, 450.0], [500.0, 400.0]]))
    assert np.allclose(edges, [[-0.5, -0.5], [63.5, 31.5], [31.5, 15.5]])


def test_affine_round_trip_and_broadcasting(rng):
    centers = rng.uniform(300, 700, size=(5, 4, 2))
    sizes = rng.uniform(200, 400, size=(5, 4, 2))
    A = cv.crop_affine(centers, sizes, (64, 48), anisotropic=True)   # random boxes
    assert A.shape == (5, 4, 2, 3)
    pts = rng.uniform(0, 1000, size=(5, 4, 17, 2))
    back = cv.heatmap_to_image(cv.image_to_heatmap(pts, A), A)
    assert np.allclose(back, pts)
    Ainv = cv.invert_affine(A)
    assert np.allclose(cv.apply_affine(Ainv, cv.apply_affine(A, pts)), pts)


def test_bounding_box_has_requested_aspect_and_contains_points(rng):
    pts = rng.uniform(100, 900, size=(10, 17, 2))
    c, s = cv.bounding_box(pts, margin=1.2, aspect=0.75)
    assert np.allclose(s[..., 0] / s[..., 1], 0.75)
    lo, hi = c - s / 2, c + s / 2
    assert np.all(pts >= lo[:, None] - 1e-9) and np.all(pts <= hi[:, None] + 1e-9)


def test_crop_affine_scales_x_and_y_alike_for_a_box_of_the_heatmap_aspect(rng):
    H, W = 48, 64
    c, s = cv.bounding_box(rng.uniform(100, 900, size=(6, 17, 2)), aspect=W / H)
    A = cv.crop_affine(c, s, (H, W))
    assert np.allclose(A[..., 0, 0], A[..., 1, 1], rtol=1e-12)


@pytest.mark.parametrize("box, heatmap_size", [((300.0, 400.0), (48, 64)),   # box (h, w)
                                               ((400.0, 300.0), (64, 48))])  # heatmap (W, H)
def test_crop_affine_refuses_a_swapped_size_and_names_the_swap(box, heatmap_size):
    with pytest.raises(ValueError, match=r"heatmap_size = \(H, W\) = .* one of them is likely "
                                         r"swapped.*anisotropic=True"):
        cv.crop_affine(np.array([500.0, 400.0]), np.array(box), heatmap_size)


def test_crop_affine_refuses_any_stretch_beyond_the_tolerance_unless_asked(rng):
    centers = rng.uniform(300, 700, size=(3, 4, 2))
    sizes = np.tile([400.0, 300.0], (3, 4, 1))               # 4:3 boxes onto 48 x 64 maps
    cv.crop_affine(centers, sizes, (48, 64))
    edge = sizes.copy()
    edge[..., 1] *= 1 + 0.9 * heatmap.ASPECT_TOLERANCE          # rounding: accepted
    cv.crop_affine(centers, edge, (48, 64))
    sizes[2, 1] = [400.0, 200.0]                             # one box of another aspect
    with pytest.raises(ValueError, match=r"size\[2, 1\] = \(width, height\) = \(400, 200\)"):
        cv.crop_affine(centers, sizes, (48, 64))
    with pytest.raises(ValueError, match="along x but"):
        cv.crop_affine(centers, torch.tensor(sizes), (48, 64))
    A = cv.crop_affine(centers, sizes, (48, 64), anisotropic=True)   # stretched on purpose
    assert np.isclose(A[2, 1, 0, 0], 64 / 400) and np.isclose(A[2, 1, 1, 1], 48 / 200)


def test_bad_heatmap_inputs():
    with pytest.raises(ValueError, match="points must have shape"):
        cv.render_heatmaps(np.zeros((3, 3)), (8, 8))
    with pytest.raises(ValueError, match="sigma"):
        cv.render_heatmaps(np.zeros((1, 2)), (8, 8), sigma=0.0)
    with pytest.raises(ValueError, match="heatmaps must be finite"):
        cv.find_peaks(np.full((2, 4, 4), np.nan))
    with pytest.raises(ValueError, match="A must have shape"):
        cv.apply_affine(np.zeros((3, 3)), np.zeros((1, 2)))
