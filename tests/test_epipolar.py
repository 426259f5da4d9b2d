import numpy as np
import pytest
import torch

import crossview as cv
from crossview.epipolar import (
    epipolar_curve,
    epipolar_lines,
    epipole,
    essential_matrix,
    fundamental_matrices,
    fundamental_matrix,
    point_line_distance,
    relative_pose,
)
from crossview.sampler import EpipolarSampler, get_sampler

LENS = (-0.2, 0.12, 0.001, -0.0015, -0.01)


def points_in_volume(rng, n):
    return rng.uniform([-1200, -1200, 0], [1200, 1200, 1900], size=(n, 3))


def random_crops(rng, cams, heatmap_size, frames):
    """Per-frame crop affines (frames, V, 2, 3) around random boxes of each image."""
    H, W = heatmap_size
    centers = rng.uniform(350, 650, size=(frames, len(cams), 2))
    width = rng.uniform(300, 500, size=(frames, len(cams), 1))
    sizes = np.concatenate([width, width * H / W], -1)
    return cv.crop_affine(centers, sizes, heatmap_size)


# ---------------------------------------------------------------------- F and E
@pytest.mark.parametrize("n_views", [2, 3, 5, 8])
def test_fundamental_matrix_satisfies_the_epipolar_constraint_on_rigs(rng, n_views):
    cams = cv.ring_rig(n_views, focal=(1100.0, 1180.0), radius=4500.0)   # fx != fy
    X = points_in_volume(rng, 300)
    for a in range(n_views):
        for b in range(n_views):
            if a == b:
                continue
            F = fundamental_matrix(cams[a], cams[b])
            xa, xb = cams[a].project(X), cams[b].project(X)
            d = point_line_distance(xb, epipolar_lines(xa, F))
            assert d.max() < 1e-6
            xah = np.c_[xa, np.ones(len(X))]
            xbh = np.c_[xb, np.ones(len(X))]
            assert np.abs(np.einsum("ni,ij,nj->n", xbh, F, xah)).max() < 1e-6 * np.abs(xbh).max()


def test_fundamental_matrix_on_h36m_uses_ideal_pixels(h36m, rng):
    X = points_in_volume(rng, 500)
    F = fundamental_matrix(h36m[0], h36m[2])
    xa, xb = h36m[0].project(X, distort=False), h36m[2].project(X, distort=False)
    assert point_line_distance(xb, epipolar_lines(xa, F)).max() < 1e-6
    # with the lens the points leave the straight line by up to a few pixels
    xb_real = h36m[2].project(X)
    xa_ideal = h36m[0].undistort_points(h36m[0].project(X))
    off = point_line_distance(xb_real, epipolar_lines(xa_ideal, F))
    assert 0.1 < off.max() < 20


def test_fundamental_matrix_structure(h36m):
    F = fundamental_matrix(h36m[1], h36m[3])
    sv = np.linalg.svd(F, compute_uv=False)
    assert np.isclose(np.linalg.norm(F), 1.0) and sv[2] < 1e-12 * sv[0]   # rank 2
    e_a, e_b = epipole(h36m[3], h36m[1]), epipole(h36m[1], h36m[3])
    assert np.abs(F @ e_a).max() < 1e-9 * np.abs(e_a).max()
    assert np.abs(e_b @ F).max() < 1e-9 * np.abs(e_b).max()
    F_ba = fundamental_matrix(h36m[3], h36m[1])
    assert min(np.abs(F_ba - F.T).max(), np.abs(F_ba + F.T).max()) < 1e-12
    R, t = relative_pose(h36m[1], h36m[3])
    assert np.allclose(R @ h36m[1].R, h36m[3].R)
    E = essential_matrix(h36m[1], h36m[3])
    sv = np.linalg.svd(E, compute_uv=False)            # an essential matrix: (s, s, 0)
    assert np.isclose(sv[0], sv[1]) and sv[2] < 1e-9 * sv[0]
    assert np.allclose(t @ E, 0, atol=1e-6 * np.abs(E).max() * np.linalg.norm(t))


@pytest.mark.parametrize(("n_views", "heatmap_size"), [(4, (64, 64)), (2, (24, 40)),
                                                        (8, (48, 32)), (3, (20, 36))])
def test_fundamental_matrix_lifted_to_heatmap_pixels(rng, n_views, heatmap_size):
    cams = cv.ring_rig(n_views, focal=(1000.0, 1150.0))
    X = points_in_volume(rng, 200)
    A = random_crops(rng, cams, heatmap_size, frames=5)                # (5, V, 2, 3)
    Fh = fundamental_matrices(cams, A)
    assert Fh.shape == (5, n_views, n_views, 3, 3) and np.all(Fh[:, 0, 0] == 0)
    for a, b in [(0, 1), (1, 0), (n_views - 1, 0), (1, n_views - 1)]:
        if a == b:
            continue
        F_one = fundamental_matrix(cams[a], cams[b], A[:, a], A[:, b])  # batched affines
        assert F_one.shape == (5, 3, 3) and np.allclose(F_one, Fh[:, a, b])
        ha = cv.image_to_heatmap(np.broadcast_to(cams[a].project(X), (5, 200, 2)), A[:, a])
        hb = cv.image_to_heatmap(np.broadcast_to(cams[b].project(X), (5, 200, 2)), A[:, b])
        d = point_line_distance(hb, epipolar_lines(ha, F_one[:, None]))
        assert d.max() < 1e-6


def test_fundamental_matrices_without_affines(rng):
    cams = cv.ring_rig(3)
    Fs = fundamental_matrices(cams)
    assert Fs.shape == (3, 3, 3, 3)
    assert np.allclose(Fs[1, 2], fundamental_matrix(cams[1], cams[2]))


def test_torch_inputs_give_tensors(rng, device):
    cams = cv.ring_rig(2)
    X = points_in_volume(rng, 50)
    A = torch.tensor(random_crops(rng, cams, (32, 32), 1)[0], device=device)
    Fh = fundamental_matrix(cams[0], cams[1], A[0], A[1])
    assert isinstance(Fh, torch.Tensor) and Fh.device.type == device
    ha = torch.tensor(cv.image_to_heatmap(cams[0].project(X), A[0].cpu().numpy()), device=device)
    hb = torch.tensor(cv.image_to_heatmap(cams[1].project(X), A[1].cpu().numpy()), device=device)
    lines = epipolar_lines(ha, Fh)
    d = point_line_distance(hb, lines)
    assert isinstance(d, torch.Tensor) and d.device.type == device and float(d.max()) < 1e-6


# ---------------------------------------------------------------------- curves
def test_epipolar_curve_passes_through_the_true_projection(h36m, rng):
    X = points_in_volume(rng, 20)
    a, b = h36m[0], h36m[1]
    uv = a.project(X)                                   # what camera a records (distorted)
    depths = np.sort(np.r_[a.depth(X), np.linspace(500, 12000, 50)])
    for n in range(len(X)):
        curve = epipolar_curve(uv[n], a, b, depths=depths)
        assert curve.shape == (len(depths), 2)
        assert np.nanmin(np.linalg.norm(curve - b.project(X[n]), axis=1)) < 1e-6


def test_undistorted_curve_is_the_straight_line(h36m, rng):
    a, b = h36m[2], h36m[3]
    uv = a.project(points_in_volume(rng, 10))
    ideal = a.undistort_points(uv)
    line = epipolar_lines(ideal, fundamental_matrix(a, b))
    straight = epipolar_curve(uv, a, b, distort=False)              # (10, 64, 2)
    ok = ~np.isnan(straight).any(-1)
    d = point_line_distance(straight, line[:, None, :])
    assert d[ok].max() < 1e-6
    bent = epipolar_curve(uv, a, b)
    assert np.nanmax(np.linalg.norm(bent - straight, axis=-1)) > 0.1   # the lens bends it


def test_epipolar_curve_clipped_to_the_heatmap(h36m):
    scenes = cv.make_scenes(1, h36m, seed=2, heatmaps=False)
    A = scenes.affines[0]
    uv = scenes.joints2d[0, 0, 9]
    curve = epipolar_curve(uv, h36m[0], h36m[1], affine_b=A[1], heatmap_size=(64, 64))
    ok = ~np.isnan(curve).any(-1)
    assert ok.any() and not ok.all()
    assert (curve[ok] >= -0.5).all() and (curve[ok] <= 63.5).all()
    # the true joint lies on its curve
    dense = epipolar_curve(uv, h36m[0], h36m[1], affine_b=A[1],
                           depths=np.linspace(3000, 8000, 20001))
    assert np.linalg.norm(dense - scenes.joints_hm[0, 1, 9], axis=-1).min() < 0.01


STRONG = (-0.25, -0.08, 0.0, 0.0, 0.0)          # barrel: folds back at r = 0.949


def test_epipolar_curve_stops_at_the_lens_fold():
    """Past the fold the lens model maps points back inwards: they are cut, and every point
    that stays undistorts onto the straight epipolar line."""
    cams = cv.ring_rig(3, focal=800, dist=STRONG)
    a, b = cams[0], cams[1]
    depths = 1.0 / np.linspace(1 / 200.0, 1 / 20000.0, 4000)
    uv = np.array([729.7, 175.7])
    ideal_uv = a.undistort_points(uv)
    line = epipolar_lines(ideal_uv, fundamental_matrix(a, b))
    # without the cut, points past b's fold land hundreds of pixels off the line
    X = a.unproject(ideal_uv, np.ones(()), undistort=False)
    X = a.center + depths[:, None] * (X - a.center)
    X = X[b.depth(X) > 0]
    folded = b.undistort_points(b.project(X))
    assert np.nanmax(point_line_distance(folded, line)) > 100
    curve = epipolar_curve(uv, a, b, depths=depths)
    ok = ~np.isnan(curve).any(-1)
    assert ok.sum() > 3000
    assert point_line_distance(b.undistort_points(curve[ok]), line).max() < 1e-6
    ideal = epipolar_curve(uv, a, b, depths=depths, distort=False)
    radius = np.linalg.norm(cv.camera.pixels_to_normalized(ideal, b.K), axis=-1)
    assert (ok == (radius < b.fold_radius)).all()           # cut exactly at the fold
    # a pixel farther out than the image of a's fold circle has no ray at all
    assert np.isnan(a.undistort_points(np.array([149.85, 0.0]))).all()
    assert np.isnan(epipolar_curve(np.array([149.85, 0.0]), a, b)).all()


# ---------------------------------------------------------------------- the sampler
def test_reads_lie_on_pixel_columns_or_rows(h36m):
    scenes = cv.make_scenes(2, h36m, seed=4, heatmaps=False)
    s = EpipolarSampler.build(h36m, scenes.affines, (32, 48))
    assert s.index.shape == (2, 12, 192, 48) and s.n_samples == 48      # K = 4 max(H, W)
    assert ((s.index >= 0).sum(-1) == s.count).all()
    first = np.arange(s.n_samples) < s.count[..., None]
    assert (s.index[first] >= 0).all() and (s.frac[~first] == 0).all()
    assert set(np.unique(s.step)) <= {1, 48}
    for g in range(2):
        xy = s.positions(g)
        across = (s.step[g] == 48)[..., None]               # crosses columns: x is whole
        whole = np.where(across, xy[..., 0], xy[..., 1])
        ok = ~np.isnan(whole)
        assert np.array_equal(whole[ok], np.round(whole[ok]))
        # a read's two pixels are inside the heatmap
        second = s.index[g] + s.step[g][..., None]
        assert (second[first[g]] < 32 * 48).all()


def test_reads_are_on_the_curve_through_the_lens(h36m):
    """Undistorted, the reads of one curve lie on one straight line to a few thousandths
    of a heatmap pixel (the curve between its traced points is interpolated)."""
    scenes = cv.make_scenes(2, h36m, seed=4, heatmaps=False)
    H, W = 64, 64
    s = EpipolarSampler.build(h36m, scenes.affines, (H, W))
    worst = 0.0
    for g in range(2):
        xy = s.positions(g)
        for p, (_, v) in enumerate(s.pairs):
            A = scenes.affines[g, v]
            scale = np.sqrt(abs(np.linalg.det(A[:, :2])))          # heatmap px per image px
            for k in range(0, s.n_lines, 5):
                pts = xy[p, k][~np.isnan(xy[p, k]).any(-1)]
                inner = (pts > 0).all(-1) & (pts[:, 0] < W - 1) & (pts[:, 1] < H - 1)
                pts = pts[inner]
                if len(pts) < 5:
                    continue
                ideal = h36m[v].undistort_points(cv.heatmap_to_image(pts, A))
                c = ideal.mean(0)
                normal = np.linalg.svd(ideal - c)[2][-1]
                worst = max(worst, np.abs((ideal - c) @ normal).max() * scale)
    assert worst < 0.005


def test_sampler_reads_stop_at_the_lens_fold():
    """A lens that folds inside the crops: no read lies past the fold, and the reads
    undistort onto their straight lines."""
    cams = cv.ring_rig(3, focal=800, dist=STRONG)
    boxes = np.tile([[200.0, 500.0], [860.0, 860.0]], (3, 1, 1))     # most of the image
    A = cv.crop_affine(boxes[:, 0], boxes[:, 1], (32, 32))
    s = EpipolarSampler.build(cams, A, (32, 32))
    assert (s.count > 0).mean() > 0.5
    xy = s.positions(0)
    for p, (_, v) in enumerate(s.pairs):
        pts = xy[p][~np.isnan(xy[p]).any(-1)]
        ideal = cams[v].undistort_points(cv.heatmap_to_image(pts, A[v]))
        assert not np.isnan(ideal).any()                    # every read has its ideal point
        radius = np.linalg.norm(cv.camera.pixels_to_normalized(ideal, cams[v].K), axis=-1)
        assert radius.max() < cams[v].fold_radius
        # collinear where undistortion is well conditioned (near the fold, a tiny
        # step in the image is a long one in ideal pixels)
        for k in range(0, s.n_lines, 16):
            pts = xy[p, k][~np.isnan(xy[p, k]).any(-1)]
            pts = pts[(pts > 0).all(-1) & (pts < 31).all(-1)]
            ideal = cams[v].undistort_points(cv.heatmap_to_image(pts, A[v]))
            radius = np.linalg.norm(cv.camera.pixels_to_normalized(ideal, cams[v].K), axis=-1)
            ideal = ideal[radius < 0.9 * cams[v].fold_radius]
            if len(ideal) < 5:
                continue
            normal = np.linalg.svd(ideal - ideal.mean(0))[2][-1]
            # a heatmap pixel spans about 20 image pixels here: 0.5 px is 0.025 of it
            assert np.abs((ideal - ideal.mean(0)) @ normal).max() < 0.5


def test_sampler_curves_lie_on_epipolar_planes(h36m):
    scenes = cv.make_scenes(2, h36m, seed=4, heatmaps=False)
    s = EpipolarSampler.build(h36m, scenes.affines, (32, 48), n_samples=40, n_lines=64)
    G, P, K, S = s.index.shape
    assert (G, P, K, S) == (2, 12, 64, 40)
    for g in range(2):
        xy = s.positions(g)
        for p, (_, v) in enumerate(s.pairs):
            ok = ~np.isnan(xy[p]).any(-1)
            assert ok.any(-1).mean() > 0.5      # most curves cross the source heatmap
            # leave out samples in the half-pixel margin, moved onto the edge pixels
            x, y = xy[p, ..., 0], xy[p, ..., 1]
            ok &= (x > 0) & (x < 47) & (y > 0) & (y < 31)
            # back to ideal pixels of v: every curve is one straight line there
            img = cv.heatmap_to_image(np.where(ok[..., None], xy[p], 0), scenes.affines[g, v])
            ideal = h36m[v].undistort_points(img)
            for k in range(0, K, 7):
                pts = ideal[k][ok[k]]
                if len(pts) < 3:
                    continue
                c = pts.mean(0)
                sv = np.linalg.svd(pts - c, compute_uv=False)
                assert sv[-1] < 1e-3 * sv[0]


def test_each_pixel_lies_between_its_two_curves(h36m, rng):
    """A pixel's epipolar plane lies between the planes of its two curves, at its weight."""
    scenes = cv.make_scenes(1, h36m, seed=5, heatmaps=False)
    A = scenes.affines[0]
    H, W = 24, 24
    s = EpipolarSampler.build(h36m, A, (H, W), n_lines=48)
    assert s.bins.min() >= 0 and s.bins.max() <= s.n_lines - 2
    assert (s.weights >= 0).all() and (s.weights <= 1).all()
    xy = s.positions(0)
    checked = 0
    for p, (u, v) in enumerate(s.pairs):
        base = h36m[v].center - h36m[u].center
        base /= np.linalg.norm(base)
        for q in rng.integers(0, H * W, 6):
            i, j = divmod(int(q), W)
            ray = h36m[u].rays(cv.heatmap_to_image(np.array([[j, i]], float), A[u]))[0]
            n_pix = np.cross(base, ray)
            theta = []
            for k in (s.bins[0, p, q], s.bins[0, p, q] + 1):
                pts = xy[p, k]
                pts = pts[~np.isnan(pts).any(-1)]
                pts = pts[(pts > 0).all(-1) & (pts[:, 0] < W - 1) & (pts[:, 1] < H - 1)]
                if len(pts) == 0:
                    break
                # the plane of curve k, from a sample away from the epipole
                mid = cv.heatmap_to_image(pts[[len(pts) // 2]], A[v])
                n_k = np.cross(base, h36m[v].rays(mid)[0])
                n_k *= np.sign(n_k @ n_pix)
                theta.append(np.arctan2(np.cross(n_pix, n_k) @ base, n_pix @ n_k))
            if len(theta) == 2:
                assert theta[0] * theta[1] <= 1e-12
                w = theta[0] / (theta[0] - theta[1])
                assert abs(w - s.weights[0, p, q]) < 1e-3
                checked += 1
    assert checked > 30


def bilinear_clamped(h, x, y):
    H, W = h.shape
    x, y = np.clip(x, 0, W - 1), np.clip(y, 0, H - 1)
    x0 = np.minimum(np.floor(x), W - 2).astype(int)
    y0 = np.minimum(np.floor(y), H - 2).astype(int)
    fx, fy = x - x0, y - y0
    return (1 - fy) * ((1 - fx) * h[y0, x0] + fx * h[y0, x0 + 1]) + \
        fy * ((1 - fx) * h[y0 + 1, x0] + fx * h[y0 + 1, x0 + 1])


def max_on_own_curve(h_v, cam_u, cam_v, A_u, A_v, pixel):
    """The definition, one pixel at a time: max of h_v along the image of the pixel's ray."""
    H, W = h_v.shape
    i, j = pixel
    uv = cv.heatmap_to_image(np.array([[j, i]], float), A_u)[0]
    depths = 1.0 / np.linspace(1 / 300.0, 1 / 30000.0, 20000)      # dense along the ray
    pts = epipolar_curve(uv, cam_u, cam_v, depths=depths, affine_b=A_v, heatmap_size=(H, W))
    pts = pts[~np.isnan(pts).any(-1)]
    return bilinear_clamped(h_v, pts[:, 0], pts[:, 1]).max() if len(pts) else 0.0


def test_fan_of_curves_matches_each_pixels_own_curve(h36m, rng):
    """Sharing curves between the pixels of one epipolar plane changes the result little."""
    from crossview.kernels import fusion_numpy

    scenes = cv.make_scenes(1, h36m, seed=3)
    hm, A = scenes.heatmaps[0].astype(np.float64), scenes.affines[0]
    s = get_sampler(h36m, A, (64, 64))
    curve = fusion_numpy.curve_values(hm[None], s, "max")[0]              # (P, J, K)
    err = []
    for _ in range(60):
        p, joint = int(rng.integers(12)), int(rng.integers(17))
        u, v = s.pairs[p]
        x, y = np.clip(np.round(scenes.joints_hm[0, u, joint] + rng.normal(0, 2, 2)), 0, 63)
        q = int(y) * 64 + int(x)
        k, w = s.bins[0, p, q], s.weights[0, p, q]
        ours = (1 - w) * curve[p, joint, k] + w * curve[p, joint, k + 1]
        err.append(ours - max_on_own_curve(hm[v, joint], h36m[u], h36m[v], A[u], A[v],
                                           (int(y), int(x))))
    err = np.abs(err)
    assert err.mean() < 0.02 and err.max() < 0.1


def test_epipole_inside_the_heatmap_spans_all_planes():
    # camera 1 stands in the middle of camera 0's view, so every plane meets the crop
    K = np.array([[800.0, 0, 320], [0, 800, 240], [0, 0, 1]])
    R0, t0 = cv.camera.look_at([0, -4000, 1500], [0, 0, 1500])
    R1, t1 = cv.camera.look_at([0, 0, 1500], [3000, 2000, 1000])
    cams = [cv.Camera(K, R0, t0), cv.Camera(K, R1, t1)]
    centre = cams[0].project(cams[1].center[None])[0]
    A = cv.crop_affine(np.array([centre, [320.0, 240.0]]), np.array([[200.0, 200], [400, 400]]),
                       (16, 16))
    s = EpipolarSampler.build(cams, A, (16, 16), n_lines=32)
    p = s.pair_index(0, 1)
    assert np.isclose(s.angles[0, p, 0], -np.pi) and np.isclose(s.angles[0, p, -1], np.pi)


def test_fusion_matrix_is_the_mean_along_the_curves(h36m, rng):
    from crossview.kernels import fusion_numpy

    scenes = cv.make_scenes(1, h36m, seed=8, heatmap_size=(12, 16), sigma=1.0)
    s = EpipolarSampler.build(h36m, scenes.affines[0], (12, 16))
    hm = rng.uniform(size=(1, 4, 2, 12, 16))
    curve = fusion_numpy.curve_values(hm, s, "mean")[0]
    for u, v in [(0, 1), (3, 2)]:
        p = s.pair_index(u, v)
        M = s.fusion_matrix(u, v)
        k, w = s.bins[0, p], s.weights[0, p]
        expect = (1 - w)[:, None] * curve[p][:, k].T + w[:, None] * curve[p][:, k + 1].T
        assert np.allclose(M @ hm[0, v].reshape(2, -1).T, expect, atol=1e-6)
        assert M.shape == (12 * 16, 12 * 16) and (M >= 0).all()


def test_sampler_cache_reuses_geometry(h36m):
    scenes = cv.make_scenes(2, h36m, seed=1, heatmaps=False)
    a = get_sampler(h36m, scenes.affines[0], (16, 16))
    assert get_sampler(h36m, scenes.affines[0].copy(), (16, 16)) is a
    assert get_sampler(h36m, scenes.affines[1], (16, 16)) is not a
    assert get_sampler(h36m, scenes.affines[0], (16, 16), n_lines=20) is not a
    assert a.nbytes > 0 and a.n_frames == 1


def test_pixel_curve_follows_the_true_curve(h36m):
    scenes = cv.make_scenes(1, h36m, seed=6, heatmaps=False)
    A = scenes.affines[0]
    s = get_sampler(h36m, A, (64, 64))
    joint = 10
    for u, v in [(0, 1), (2, 3)]:
        x, y = np.round(scenes.joints_hm[0, u, joint]).astype(int)
        curve = s.pixel_curve(u, v, (y, x))
        assert curve.shape == (s.n_samples, 2)
        img = cv.heatmap_to_image(np.array([[x, y]], float), A[u])[0]
        true = epipolar_curve(img, h36m[u], h36m[v], affine_b=A[v], heatmap_size=(64, 64),
                              depths=np.linspace(2000, 9000, 20001))
        true = true[~np.isnan(true).any(-1)]
        ok = ~np.isnan(curve).any(-1)
        inner = ok & (curve[:, 0] > 1) & (curve[:, 0] < 62) & (curve[:, 1] > 1) & (curve[:, 1] < 62)
        d = np.linalg.norm(curve[inner][:, None] - true[None], axis=-1).min(1)
        assert d.max() < 0.5


# ---------------------------------------------------------------------- bad input
def test_bad_epipolar_inputs(h36m):
    with pytest.raises(TypeError, match=r"cam_a must be a crossview\.Camera"):
        fundamental_matrix("cam", h36m[1])
    with pytest.raises(ValueError, match="same centre"):
        fundamental_matrix(h36m[0], h36m[0])
    with pytest.raises(ValueError, match="give both affine_a and affine_b"):
        fundamental_matrix(h36m[0], h36m[1], affine_a=np.eye(2, 3))
    with pytest.raises(ValueError, match="affine_b must have shape"):
        fundamental_matrix(h36m[0], h36m[1], np.eye(2, 3), np.eye(3))
    with pytest.raises(ValueError, match="depths must be"):
        epipolar_curve([500.0, 500.0], h36m[0], h36m[1], depths=[-1.0, 100.0])
    with pytest.raises(ValueError, match="heatmap_size needs affine_b"):
        epipolar_curve([500.0, 500.0], h36m[0], h36m[1], heatmap_size=(8, 8))
    with pytest.raises(ValueError, match="points must have shape"):
        epipolar_lines(np.zeros((4, 3)), np.eye(3))
    with pytest.raises(ValueError, match="affines must have shape"):
        EpipolarSampler.build(h36m, np.zeros((3, 2, 3)), (8, 8))
    with pytest.raises(ValueError, match="heatmap_size must be"):
        EpipolarSampler.build(h36m, np.tile(np.eye(2, 3), (4, 1, 1)), (1, 8))
    with pytest.raises(ValueError, match=r"heatmap_size must be .* integers"):   # not truncated
        get_sampler(h36m, np.tile(np.eye(2, 3), (4, 1, 1)), (8.5, 8))
    with pytest.raises(ValueError, match="at least two views"):
        EpipolarSampler.build(h36m[:1], np.eye(2, 3)[None], (8, 8))
    with pytest.raises(ValueError, match="n_lines must be >= 2"):
        EpipolarSampler.build(h36m, np.tile(np.eye(2, 3), (4, 1, 1)), (8, 8), n_lines=1)
