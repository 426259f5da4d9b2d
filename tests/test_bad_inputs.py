"""A sweep of malformed inputs across the public API, and of legitimate inputs that look odd.

Every malformed input must be refused with a ``ValueError`` or ``TypeError`` whose message
names the offending argument (the ``match`` of each case); every legitimate input (odd
dtypes, torch tensors, non-square heatmaps, an empty view) must give the right answer.
``test_the_sweep_covers_the_public_api`` keeps the table honest: each public name of
``crossview`` has at least one case.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import crossview as cv
from crossview.datasets.h36m import load_h36m, records_from_scenes, write_records
from crossview.evaluation import estimate
from crossview.kernels import load_kernel
from crossview.sampler import EpipolarSampler

NAN, INF = float("nan"), float("inf")


@functools.cache
def D() -> SimpleNamespace:
    """One synthetic 4-view frame and its pieces, built once for the whole sweep."""
    s = cv.make_scenes(1, "h36m", seed=5)
    cams = s.cameras
    return SimpleNamespace(s=s, cams=cams, hm=s.heatmaps[0].astype(np.float64), A=s.affines[0],
                           uv=s.joints2d[0], X=s.joints3d[0], root=s.joints3d[0, 0],
                           small=s.heatmaps[0, :, :2, ::4, ::4].astype(np.float64),
                           A_small=cv.crop_affine(np.zeros((4, 2)), np.full((4, 2), 2000.0),
                                                  (16, 16)))


def with_value(a, index, value):
    """A copy of ``a`` with ``a[index] = value``."""
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


def rpsm(**kw):
    d = D()
    args = dict(heatmaps=d.hm, cameras=d.cams, affines=d.A, center=d.root, n_bins=4, depth=1)
    args.update(kw)
    return cv.rpsm(**args)


def psm(**kw):
    d = D()
    args = dict(heatmaps=d.hm, cameras=d.cams, affines=d.A, center=d.root, limb_lengths=None,
                n_bins=4)
    args.update(kw)
    return cv.psm(**args)


def fuse(**kw):
    d = D()
    args = dict(heatmaps=d.small, cameras=d.cams, affines=d.A_small, backend="numpy")
    args.update(kw)
    return cv.epipolar_fusion(**args)


def camera(**kw):
    args = dict(K=np.diag([1000.0, 1000.0, 1.0]), R=np.eye(3), t=np.zeros(3))
    args.update(kw)
    return cv.Camera(**args)


_H36M: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _tiny_h36m_file(tmp_path_factory):
    scenes = cv.make_scenes(2, seed=3, heatmaps=False)
    path = tmp_path_factory.mktemp("h36m") / "h36m_validation.pkl"
    _H36M["path"] = write_records(path, records_from_scenes(scenes))


def tiny_h36m():
    """A tiny file of the H36M-Toolbox layout (synthetic), written for this module."""
    return _H36M["path"]


# (id, call, exception, message pattern): the id starts with the public name it exercises.
BAD = [
    # ------------------------------------------------------------------ cameras
    ("Camera-K-nan", lambda: camera(K=with_value(np.eye(3), (0, 0), NAN)), ValueError,
     "K must be finite"),
    ("Camera-K-shape", lambda: camera(K=np.eye(2)), ValueError, r"K must have shape \(3, 3\)"),
    ("Camera-K-focal", lambda: camera(K=np.diag([-5.0, 5.0, 1.0])), ValueError,
     "positive focal lengths"),
    ("Camera-K-last-row", lambda: camera(K=np.ones((3, 3))), ValueError, "upper triangular"),
    ("Camera-R-not-rotation", lambda: camera(R=2 * np.eye(3)), ValueError,
     "R must be a rotation"),
    ("Camera-R-reflection", lambda: camera(R=np.diag([1.0, 1.0, -1.0])), ValueError,
     r"det \+1"),
    ("Camera-t-inf", lambda: camera(t=[0.0, INF, 0.0]), ValueError, "t must be finite"),
    ("Camera-t-shape", lambda: camera(t=np.zeros(4)), ValueError, r"t must have shape \(3,\)"),
    ("Camera-dist-count", lambda: camera(dist=[0.1, 0.0, 0.0]), ValueError,
     "dist must have 4 or 5"),
    ("Camera-image_size", lambda: camera(image_size=(0, 10)), ValueError, "image_size"),
    ("Camera-image_size-swapped",
     lambda: camera(K=[[900.0, 0, 959.5], [0, 900, 539.5], [0, 0, 1]], image_size=(1080, 1920)),
     ValueError, r"image_size must be \(width, height\).*looks like \(height, width\)"),
    ("Camera-K-text", lambda: camera(K="camera"), TypeError, "K must be a numeric array"),
    ("Camera.project-behind", lambda: D().cams[0].project(D().cams[0].center
                                                          - 100 * D().cams[0].R[2]),
     ValueError, "behind camera"),
    ("Camera.project-rank", lambda: D().cams[0].project([1.0, 2.0]), ValueError,
     r"X must have shape \(\.\.\., 3\)"),
    ("Camera.project-nan", lambda: D().cams[0].project(with_value(D().X, (3, 1), NAN)),
     ValueError, "X must be finite"),
    ("Camera.unproject-rank", lambda: D().cams[0].unproject(D().X, 1.0), ValueError,
     r"uv must have shape \(\.\.\., 2\)"),
    ("load_rig-unknown", lambda: cv.load_rig("h37m"), ValueError, "unknown rig 'h37m'"),
    ("load_rig-kwargs", lambda: cv.load_rig("h36m", n_views=3), TypeError, "takes no keyword"),
    ("ring_rig-one-view", lambda: cv.ring_rig(1), ValueError, "n_views must be >= 2"),
    ("ring_rig-radius", lambda: cv.ring_rig(4, radius=-1.0), ValueError, "radius"),
    # ------------------------------------------------------------------ synthetic data
    ("make_scenes-frames", lambda: cv.make_scenes(0), ValueError, "n_frames must be >= 1"),
    ("make_scenes-one-view", lambda: cv.make_scenes(1, D().cams[:1]), ValueError,
     "at least two Camera"),
    ("make_scenes-heatmap_size", lambda: cv.make_scenes(1, heatmap_size=(2, 64)), ValueError,
     "heatmap_size"),
    ("make_scenes-heatmap_size-float", lambda: cv.make_scenes(1, heatmap_size=(64.5, 64)),
     ValueError, "integers H, W >= 4"),
    ("make_scenes-probability", lambda: cv.make_scenes(1, missing_prob=1.5), ValueError,
     r"missing_prob must be a probability in \[0, 1\]"),
    ("make_scenes-jitter", lambda: cv.make_scenes(1, jitter=-1.0), ValueError,
     "jitter must be a finite number >= 0"),
    ("make_scenes-sigma", lambda: cv.make_scenes(1, sigma=0.0), ValueError, "sigma"),
    ("Scenes.with_heatmaps-strength",
     lambda: D().s.with_heatmaps(false_peak_strength=(1.3, 0.9)), ValueError,
     "false_peak_strength"),
    # ------------------------------------------------------------------ heatmaps and crops
    ("render_heatmaps-points", lambda: cv.render_heatmaps(np.zeros((3, 3)), (8, 8)), ValueError,
     r"points must have shape \(\.\.\., 2\)"),
    ("render_heatmaps-size", lambda: cv.render_heatmaps(np.zeros((3, 2)), (8.5, 8)), ValueError,
     "must be two integers"),
    ("render_heatmaps-amplitude", lambda: cv.render_heatmaps(np.zeros((3, 2)), (8, 8),
                                                             amplitude=[1.0, -1.0, 1.0]),
     ValueError, "amplitude must be non-negative"),
    ("render_heatmaps-amplitude-nan", lambda: cv.render_heatmaps(np.zeros((3, 2)), (8, 8),
                                                                 amplitude=[1.0, NAN, 1.0]),
     ValueError, "amplitude must be finite"),
    ("render_heatmaps-sigma", lambda: cv.render_heatmaps(np.zeros((3, 2)), (8, 8), sigma=-2),
     ValueError, "sigma"),
    ("crop_affine-size", lambda: cv.crop_affine([500.0, 500.0], [0.0, 100.0], (64, 64)),
     ValueError, "size must be a positive crop"),
    ("crop_affine-center", lambda: cv.crop_affine([500.0, NAN], [100.0, 100.0], (64, 64)),
     ValueError, "center must be finite"),
    ("crop_affine-heatmap_size", lambda: cv.crop_affine([5.0, 5.0], [1.0, 1.0], (64,)),
     ValueError, "heatmap_size must be two integers"),
    ("crop_affine-swapped", lambda: cv.crop_affine([500.0, 500.0], [400.0, 300.0], (64, 48)),
     ValueError, r"heatmap_size = \(H, W\) = \(64, 48\).*likely swapped"),
    ("bounding_box-margin", lambda: cv.bounding_box(D().uv, margin=-1.0), ValueError,
     "margin must be a finite positive"),
    ("bounding_box-aspect", lambda: cv.bounding_box(D().uv, aspect=0.0), ValueError, "aspect"),
    ("bounding_box-empty", lambda: cv.bounding_box(np.zeros((0, 2))), ValueError,
     "at least one point"),
    ("apply_affine-A", lambda: cv.apply_affine(np.eye(3), D().uv), ValueError,
     r"A must have shape \(\.\.\., 2, 3\)"),
    ("invert_affine-singular", lambda: cv.invert_affine(np.zeros((2, 3))), ValueError,
     "singular"),
    ("image_to_heatmap-points", lambda: cv.image_to_heatmap(D().X, D().A), ValueError,
     r"points must have shape"),
    ("heatmap_to_image-singular", lambda: cv.heatmap_to_image(D().uv, np.zeros((4, 2, 3))),
     ValueError, r"singular"),
    ("find_peaks-rank", lambda: cv.find_peaks(np.ones(5)), ValueError,
     r"heatmaps must have shape \(\.\.\., \*, \*\)"),
    ("find_peaks-nan", lambda: cv.find_peaks(with_value(D().hm, (0, 0, 3, 3), NAN)), ValueError,
     "heatmaps must be finite"),
    ("find_peaks-empty", lambda: cv.find_peaks(np.ones((4, 0))), ValueError, "at least 1 x 1"),
    # ------------------------------------------------------------------ metrics
    ("mpjpe-shapes", lambda: cv.mpjpe(D().X, D().X[:16]), ValueError, "same shape"),
    ("mpjpe-rank", lambda: cv.mpjpe(np.ones(3), np.ones(3)), ValueError, "pred must have shape"),
    ("mpjpe-gt-nan", lambda: cv.mpjpe(D().X, with_value(D().X, 0, NAN)), ValueError,
     "gt must be finite"),
    ("mpjpe-empty", lambda: cv.mpjpe(np.ones((0, 3)), np.ones((0, 3))), ValueError,
     "at least one joint"),
    ("jdr-head_sizes", lambda: cv.jdr(D().uv, D().uv, -1.0), ValueError,
     "head_sizes must be positive"),
    ("jdr-head_sizes-nan", lambda: cv.jdr(D().uv, D().uv, NAN), ValueError,
     "head_sizes must be finite"),
    ("jdr-head_sizes-shape", lambda: cv.jdr(D().uv, D().uv, np.ones(3)), ValueError,
     "head_sizes of shape"),
    ("jdr-threshold", lambda: cv.jdr(D().uv, D().uv, 10.0, threshold=0.0), ValueError,
     "threshold must be a finite positive"),
    ("jdr-mask", lambda: cv.jdr(D().uv, D().uv, 10.0, mask=np.ones(3)), ValueError,
     "mask of shape"),
    # ------------------------------------------------------------------ skeleton
    ("SKELETON.limb_lengths-joints", lambda: cv.SKELETON.limb_lengths(D().X[:16]), ValueError,
     r"joints must have shape \(\.\.\., 17, 3\)"),
    ("SKELETON.index-name", lambda: cv.SKELETON.index("elbow"), ValueError,
     "unknown joint name 'elbow'"),
    # ------------------------------------------------------------------ triangulation
    ("triangulate-rank", lambda: cv.triangulate(D().uv[0], D().cams), ValueError,
     r"points must have shape \(\.\.\., \*, \*, 2\)"),
    ("triangulate-rank-high", lambda: cv.triangulate(D().uv[None, None], D().cams), ValueError,
     r"\(V, J, 2\) or \(B, V, J, 2\)"),
    ("triangulate-coordinates", lambda: cv.triangulate(np.zeros((4, 17, 3)), D().cams),
     ValueError, "points must have shape"),
    ("triangulate-views", lambda: cv.triangulate(D().uv, D().cams[:3]), ValueError,
     "3 cameras but points have 4 views"),
    ("triangulate-one-view", lambda: cv.triangulate(D().uv[:1], D().cams[:1]), ValueError,
     "at least two views"),
    ("triangulate-inf", lambda: cv.triangulate(with_value(D().uv, (1, 2, 0), INF), D().cams),
     ValueError, "points must be finite pixels, or NaN where a view did not see"),
    ("triangulate-weights-shape", lambda: cv.triangulate(D().uv, D().cams, np.ones(4)),
     ValueError, r"weights must have shape \(4, 17\)"),
    ("triangulate-weights-negative", lambda: cv.triangulate(D().uv, D().cams,
                                                            -np.ones((4, 17))),
     ValueError, "weights must be non-negative"),
    ("triangulate-weights-nan", lambda: cv.triangulate(D().uv, D().cams,
                                                       np.full((4, 17), NAN)),
     ValueError, "weights must be finite"),
    ("triangulate-cameras", lambda: cv.triangulate(D().uv, D().cams[0]), TypeError,
     "cameras must be a list of crossview.Camera"),
    ("triangulate-text", lambda: cv.triangulate("pixels", D().cams), TypeError,
     "points must be a numeric array"),
    ("triangulate_robust-threshold", lambda: cv.triangulate_robust(D().uv, D().cams,
                                                                   threshold_px=0.0),
     ValueError, "threshold_px must be a finite positive"),
    ("triangulate_detailed-views", lambda: cv.triangulate_detailed(D().uv[:3], D().cams),
     ValueError, "4 cameras but points have 3 views"),
    ("triangulate_robust-views", lambda: cv.triangulate_robust(D().uv[:3], D().cams),
     ValueError, "4 cameras but points have 3 views"),
    ("triangulate_robust-inf",
     lambda: cv.triangulate_robust(with_value(D().uv, (0, 4, 1), -INF), D().cams),
     ValueError, "points must be finite pixels"),
    # ------------------------------------------------------------------ limb lengths
    ("LimbLengthPrior-shape", lambda: cv.LimbLengthPrior(mean=np.ones(16), std=np.ones(16)),
     ValueError, "must be 17 finite numbers"),
    ("LimbLengthPrior-negative", lambda: cv.LimbLengthPrior(mean=-np.ones(17), std=np.ones(17)),
     ValueError, "positive means"),
    ("LimbLengthPrior.fit-one-pose", lambda: cv.LimbLengthPrior.fit(D().X[None]), ValueError,
     "at least 2 poses"),
    ("LimbLengthPrior.fit-joints", lambda: cv.LimbLengthPrior.fit(np.zeros((3, 16, 3))),
     ValueError, r"joints3d must have shape \(\.\.\., 17, 3\)"),
    ("estimate_limb_lengths-one-frame",
     lambda: cv.estimate_limb_lengths(D().hm, D().cams, D().A), ValueError,
     r"heatmaps must have shape \(F, V, J, H, W\)"),
    ("estimate_limb_lengths-affines",
     lambda: cv.estimate_limb_lengths(D().hm[None], D().cams, D().A[:3]), ValueError,
     r"affines must have shape \(4, 2, 3\)"),
    ("estimate_limb_lengths-min-views",
     lambda: cv.estimate_limb_lengths(D().hm[None], D().cams, D().A, min_views=1), ValueError,
     "min_views must be >= 2"),
    # ------------------------------------------------------------------ epipolar geometry
    ("fundamental_matrix-same-centre", lambda: cv.fundamental_matrix(D().cams[0], D().cams[0]),
     ValueError, "same centre"),
    ("fundamental_matrix-not-a-camera", lambda: cv.fundamental_matrix(D().cams[0], "cam"),
     TypeError, "cam_b must be a crossview.Camera"),
    ("fundamental_matrix-one-affine", lambda: cv.fundamental_matrix(*D().cams[:2], D().A[0]),
     ValueError, "give both affine_a and affine_b"),
    ("fundamental_matrix-singular", lambda: cv.fundamental_matrix(*D().cams[:2], 0 * D().A[0],
                                                                  D().A[1]),
     ValueError, "affine_a must map image pixels"),
    ("fundamental_matrix-affine-nan",
     lambda: cv.fundamental_matrix(*D().cams[:2], D().A[0], with_value(D().A[1], (0, 2), NAN)),
     ValueError, "affine_b must be finite"),
    ("EpipolarSampler.build-one-view", lambda: EpipolarSampler.build(D().cams[:1], D().A[:1],
                                                                     (16, 16)),
     ValueError, "at least two views"),
    # ------------------------------------------------------------------ fusion
    ("epipolar_fusion-rank", lambda: fuse(heatmaps=D().small[0]), ValueError,
     r"heatmaps must have shape \(V, J, H, W\)"),
    ("epipolar_fusion-views", lambda: fuse(cameras=D().cams[:3]), ValueError,
     "3 cameras but heatmaps have 4 views"),
    ("epipolar_fusion-affine-views", lambda: fuse(affines=D().A_small[:3]), ValueError,
     "affines has 3 views"),
    ("epipolar_fusion-one-view", lambda: fuse(heatmaps=D().small[:1], cameras=D().cams[:1],
                                              affines=D().A_small[:1]),
     ValueError, "at least two views"),
    ("epipolar_fusion-nan", lambda: fuse(heatmaps=with_value(D().small, (0, 0, 1, 1), NAN)),
     ValueError, "heatmaps must be finite"),
    ("epipolar_fusion-inf", lambda: fuse(heatmaps=with_value(D().small, (0, 0, 1, 1), -INF)),
     ValueError, "heatmaps must be finite"),
    ("epipolar_fusion-singular", lambda: fuse(affines=0 * D().A_small), ValueError,
     "affines must map image pixels"),
    ("epipolar_fusion-backend", lambda: fuse(backend="cuda"), ValueError,
     "backend must be one of"),
    ("epipolar_fusion-self_weight", lambda: fuse(self_weight=1.5), ValueError,
     r"self_weight must be in \[0, 1\]"),
    ("epipolar_fusion-reduce", lambda: fuse(reduce="sum"), ValueError, "reduce must be one of"),
    ("epipolar_fusion-tiny", lambda: fuse(heatmaps=D().small[..., :1, :]), ValueError,
     "at least 2 x 2"),
    ("LearnedFusion-one-view", lambda: cv.LearnedFusion(1, (8, 8)), ValueError,
     "n_views must be >= 2"),
    ("LearnedFusion-size", lambda: cv.LearnedFusion(2, (0, 8)), ValueError, "heatmap_size"),
    ("LearnedFusion-size-float", lambda: cv.LearnedFusion(2, (8.5, 8)), ValueError,
     "heatmap_size must be two integers"),
    ("LearnedFusion-input", lambda: cv.LearnedFusion(2, (8, 8))(torch.zeros(1, 3, 17, 8, 8)),
     ValueError, "heatmaps must have 2 views"),
    ("LearnedFusion-numpy", lambda: cv.LearnedFusion(2, (8, 8))(np.zeros((1, 2, 17, 8, 8))),
     ValueError, "heatmaps must be a tensor"),
    # ------------------------------------------------------------------ PSM and RPSM
    ("rpsm-rank", lambda: rpsm(heatmaps=D().hm[0]), ValueError, "heatmaps must have shape"),
    ("rpsm-rank-high", lambda: rpsm(heatmaps=D().hm[None, None]), ValueError,
     r"\(V, J, H, W\) or \(B, V, J, H, W\)"),
    ("rpsm-joints", lambda: rpsm(heatmaps=D().hm[:, :16]), ValueError, "must have 17 joints"),
    ("rpsm-views", lambda: rpsm(cameras=D().cams[:3]), ValueError,
     "3 cameras but heatmaps have 4 views"),
    ("rpsm-affine-views", lambda: rpsm(affines=D().A[:3]), ValueError,
     r"affines must have shape \(4, 2, 3\)"),
    ("rpsm-one-view", lambda: rpsm(heatmaps=D().hm[:1], cameras=D().cams[:1],
                                   affines=D().A[:1]), ValueError, "at least two views"),
    ("rpsm-nan", lambda: rpsm(heatmaps=with_value(D().hm, (2, 5, 10, 10), NAN)), ValueError,
     "heatmaps must be finite"),
    ("rpsm-inf", lambda: rpsm(heatmaps=with_value(D().hm, (2, 5, 10, 10), INF)), ValueError,
     "heatmaps must be finite"),
    ("rpsm-negative", lambda: rpsm(heatmaps=D().hm - 0.01), ValueError,
     "heatmaps must be non-negative"),
    ("rpsm-all-zero", lambda: rpsm(heatmaps=0 * D().hm, center=None), ValueError,
     "no joint seen in two views"),
    ("rpsm-tiny", lambda: rpsm(heatmaps=D().hm[..., :1, :]), ValueError, "at least 2 x 2"),
    ("rpsm-singular-affines", lambda: rpsm(affines=0 * D().A), ValueError,
     "affines must map image pixels"),
    ("rpsm-affines-nan", lambda: rpsm(affines=with_value(D().A, (1, 0, 2), NAN)), ValueError,
     "affines must be finite"),
    ("rpsm-center-far", lambda: rpsm(center=[0.0, 0.0, 50_000.0]), ValueError,
     "center .* projects far outside"),
    ("rpsm-center-nan", lambda: rpsm(center=[0.0, NAN, 900.0]), ValueError,
     "center must be finite"),
    ("rpsm-center-shape", lambda: rpsm(center=[0.0, 900.0]), ValueError,
     r"center must have shape"),
    ("rpsm-n_bins", lambda: rpsm(n_bins=1), ValueError, "n_bins must be >= 2"),
    ("rpsm-n_bins-float", lambda: rpsm(n_bins=4.0), TypeError, "n_bins must be an integer"),
    ("rpsm-depth", lambda: rpsm(depth=-1), ValueError, "depth must be >= 0"),
    ("rpsm-backend", lambda: rpsm(backend="cuda"), ValueError, "backend must be one of"),
    ("rpsm-cube_size", lambda: rpsm(cube_size=NAN), ValueError, "cube_size must be a finite"),
    ("rpsm-tolerance", lambda: rpsm(tolerance=0.0), ValueError, "tolerance must be a finite"),
    ("rpsm-limb_lengths", lambda: rpsm(limb_lengths=np.zeros(17)), ValueError,
     "limb_lengths must be positive"),
    ("rpsm-limb_lengths-shape", lambda: rpsm(limb_lengths=np.ones(16)), ValueError,
     r"limb_lengths must have shape"),
    ("rpsm-limb_lengths-inf", lambda: rpsm(limb_lengths=np.full(17, INF)), ValueError,
     "limb_lengths must be finite"),
    ("rpsm-length_margin", lambda: rpsm(length_margin=-5.0), ValueError,
     "length_margin must be a non-negative"),
    ("rpsm-floor", lambda: rpsm(floor=0.0), ValueError, "floor must be a finite positive"),
    ("rpsm-cameras", lambda: rpsm(cameras="h36m"), TypeError, "cameras must be a list"),
    ("psm-root-unseen", lambda: psm(heatmaps=0 * D().hm, center=None), ValueError,
     "no joint seen in two views"),
    ("root_center-threshold", lambda: cv.root_center(D().hm, D().cams, D().A,
                                                     threshold_hm_px=-1.0),
     ValueError, "threshold_hm_px must be a finite positive"),
    ("rpsm_detailed-depth", lambda: cv.rpsm_detailed(D().hm, D().cams, D().A, depth=-2),
     ValueError, "depth must be >= 0"),
    ("psm-n_bins", lambda: psm(n_bins=0), ValueError, "n_bins must be >= 2"),
    ("psm-backend", lambda: psm(backend="numpy2"), ValueError, "backend must be one of"),
    ("psm-negative", lambda: psm(heatmaps=-D().hm), ValueError, "non-negative"),
    ("psm-affines-batch", lambda: psm(heatmaps=D().hm[None].repeat(2, 0),
                                      affines=D().A[None].repeat(3, 0)),
     ValueError, "affines has 3 frames but heatmaps have 2 frames"),
    ("load_kernel-backend", lambda: load_kernel("psm", "opencl"), ValueError,
     "backend must be one of"),
    ("estimate-method", lambda: estimate("ransac", D().hm[None], D().cams, D().A), ValueError,
     "method must be one of"),
    ("estimate-batch", lambda: estimate("dlt", D().hm[None], D().cams, D().A, batch=0),
     ValueError, "batch must be >= 1"),
    # ------------------------------------------------------------------ Human3.6M
    ("load_h36m-every", lambda: load_h36m(tiny_h36m(), every=0), ValueError,
     "every must be >= 1"),
    ("load_h36m-n_views", lambda: load_h36m(tiny_h36m(), n_views=1), ValueError,
     "n_views must be >= 2"),
    ("load_h36m-tolerance", lambda: load_h36m(tiny_h36m(), tolerance_mm=-1.0), ValueError,
     "tolerance_mm"),
    ("load_h36m-on_missing", lambda: load_h36m(tiny_h36m(), on_missing="skip"), ValueError,
     "on_missing must be"),
    ("load_h36m-joints3d_key", lambda: load_h36m(tiny_h36m(), joints3d_key="joints_3d_world"),
     ValueError, "joints3d_key must be one of"),
    ("load_h36m-affines", lambda: load_h36m(tiny_h36m()).affines((0, 64)), ValueError,
     "must be two integers"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(c, e, m, id=i) for i, c, e, m in BAD])
def test_malformed_input_is_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# Public names without a malformed-input case, and why.
NO_INPUT = {"list_rigs": "takes no arguments", "LIMB_PRIOR": "a constant",
            "RPSMResult": "a result container made by rpsm_detailed",
            "Triangulation": "a result container made by triangulate_detailed",
            "SKELETON": "a constant; its methods are swept as SKELETON.*",
            "Scenes": "a container made by make_scenes; swept as Scenes.*"}


def test_the_sweep_covers_the_public_api():
    covered = {case[0].split("-")[0].split(".")[0] for case in BAD}
    missing = [name for name in cv.__all__ if name not in covered and name not in NO_INPUT]
    assert not missing, f"public names without a malformed-input case: {missing}"
    assert len({case[0] for case in BAD}) == len(BAD), "case ids must be unique"


# ---------------------------------------------------------------------- legitimate inputs
FLOATS = [np.float16, np.float32, np.float64]
TORCH_FLOATS = [torch.float16, torch.float32, torch.float64]
# how closely each dtype can hold the answer (mm or px of magnitude ~1e3-1e4)
TOLERANCE = {np.float16: 20.0, np.float32: 0.05, np.float64: 1e-6, torch.float16: 20.0,
             torch.bfloat16: 150.0, torch.float32: 0.05, torch.float64: 1e-6}


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_numpy_floats_of_any_width_compute_in_float64(dtype):
    d = D()
    X = cv.triangulate(d.uv.astype(dtype), d.cams)
    assert X.dtype == np.float64
    assert np.abs(X - d.X).max() < TOLERANCE[dtype]
    uv = d.cams[1].project(d.X.astype(dtype))
    assert uv.dtype == np.float64 and np.abs(uv - d.uv[1]).max() < TOLERANCE[dtype]
    peaks, _ = cv.find_peaks(d.hm.astype(dtype))
    assert peaks.dtype == np.float64
    assert np.abs(peaks - d.s.joints_hm[0]).max() < (1e-3 if dtype != np.float16 else 0.1)
    pose = cv.rpsm(d.hm.astype(dtype), d.cams, d.A.astype(dtype), depth=6)
    assert pose.dtype == np.float64 and cv.mpjpe(pose, d.X) < 5.0
    fused = fuse(heatmaps=d.small.astype(dtype))
    assert fused.dtype == dtype     # fusion keeps the heatmaps' dtype


@pytest.mark.parametrize("dtype", TORCH_FLOATS + [torch.bfloat16], ids=str)
def test_torch_tensors_come_back_as_tensors_of_their_dtype(dtype, device):
    d = D()
    uv = torch.tensor(d.uv, dtype=dtype, device=device)
    for fn in (cv.triangulate, cv.triangulate_robust):
        X = fn(uv, d.cams)
        assert X.dtype == dtype and X.device.type == device
        assert (X.double().cpu().numpy() - d.X).__abs__().max() < TOLERANCE[dtype]
    proj = d.cams[2].project(torch.tensor(d.X, dtype=dtype, device=device))
    assert proj.dtype == dtype
    assert np.abs(proj.double().cpu().numpy() - d.uv[2]).max() < TOLERANCE[dtype]
    peaks, values = cv.find_peaks(torch.tensor(d.hm, dtype=dtype, device=device))
    assert peaks.dtype == dtype and values.device.type == device
    if dtype == torch.bfloat16:
        return            # too coarse for heatmaps and grids (8 bits of mantissa)
    hm = torch.tensor(d.hm, dtype=dtype, device=device)
    ref = cv.rpsm(d.hm, d.cams, d.A, n_bins=8, depth=5)
    for backend in ("numpy", "torch"):
        pose = cv.rpsm(hm, d.cams, d.A, n_bins=8, depth=5, backend=backend)
        assert pose.dtype == dtype and pose.device.type == device
        assert cv.mpjpe(pose.double().cpu().numpy(), ref) < TOLERANCE[dtype]
    fused = cv.epipolar_fusion(torch.tensor(d.small, dtype=dtype, device=device), d.cams,
                               d.A_small)
    assert fused.dtype == dtype and fused.device.type == device


def test_integer_and_boolean_heatmaps_are_read_as_numbers():
    d = D()
    binary = d.hm > 0.5
    a = cv.rpsm(binary, d.cams, d.A, center=d.root, n_bins=8, depth=3)
    b = cv.rpsm(binary.astype(np.float64), d.cams, d.A, center=d.root, n_bins=8, depth=3)
    assert np.array_equal(a, b)
    assert np.array_equal(cv.rpsm(binary.astype(np.int32), d.cams, d.A, center=d.root, n_bins=8,
                                  depth=3), b)


def test_non_square_heatmaps_work_everywhere():
    s = cv.make_scenes(2, "h36m", seed=8, heatmap_size=(48, 64))
    assert s.heatmaps.shape[-2:] == (48, 64)
    peaks, _ = cv.find_peaks(s.heatmaps)
    assert np.abs(peaks - s.joints_hm).max() < 1e-3
    pose = cv.rpsm(s.heatmaps, s.cameras, s.affines)
    print(f"48 x 64 heatmaps: RPSM MPJPE {cv.mpjpe(pose, s.joints3d):.2f} mm")
    assert cv.mpjpe(pose, s.joints3d) < 2.0
    fused = cv.epipolar_fusion(s.heatmaps[:, :, :3], s.cameras, s.affines, backend="numpy")
    assert fused.shape == s.heatmaps[:, :, :3].shape


def test_an_all_zero_view_is_legitimate_input():
    d = D()
    clean = cv.rpsm(d.hm, d.cams, d.A)
    for v in range(4):
        hm = d.hm.copy()
        hm[v] = 0.0       # the detector saw nothing in view v
        pose = cv.rpsm(hm, d.cams, d.A)
        three = cv.rpsm(np.delete(d.hm, v, 0), [c for i, c in enumerate(d.cams) if i != v],
                        np.delete(d.A, v, 0))
        print(f"view {v} empty: MPJPE {cv.mpjpe(pose, d.X):.2f} mm "
              f"(clean {cv.mpjpe(clean, d.X):.2f} mm)")
        # an empty view adds the same constant to every bin: it is as if it were not there
        assert np.allclose(pose, three)
        assert cv.mpjpe(pose, d.X) < 15.0
    X = cv.triangulate(d.uv, d.cams, np.where(np.arange(4)[:, None] == 1, 0.0, 1.0)
                       * np.ones((4, 17)))
    assert np.abs(X - d.X).max() < 1e-6    # weight 0 leaves a view out


@pytest.mark.parametrize("dtype", [np.float32, torch.float16, torch.float64], ids=str)
def test_a_nan_pixel_is_a_missing_view(dtype, device):
    # a detector that did not find joint 6 in view 1 (or any joint in view 3) says NaN
    d = D()
    uv = with_value(with_value(d.uv, (1, 6), NAN), 3, NAN)
    w = np.ones((4, 17))
    w[1, 6] = w[3] = 0.0
    ref = cv.triangulate(d.uv, d.cams, w)
    if isinstance(dtype, torch.dtype):
        uv = torch.tensor(uv, dtype=dtype, device=device)
    for fn in (cv.triangulate, cv.triangulate_robust):
        X = fn(uv, d.cams)
        X = X.double().cpu().numpy() if isinstance(X, torch.Tensor) else X
        assert np.isfinite(X).all()
        assert np.abs(X - ref).max() < TOLERANCE[dtype] and np.abs(X - d.X).max() < TOLERANCE[dtype]
    one = with_value(d.uv, (slice(1, None), 6), NAN)        # joint 6 seen by view 0 alone
    assert np.isnan(cv.triangulate(one, d.cams)[6]).all()


def test_negative_heatmaps_are_legitimate_for_fusion():
    # a network's raw output dips below zero; fusion is defined on any finite values
    d = D()
    shifted = d.small - 0.25
    ref = cv.epipolar_fusion(shifted, d.cams, d.A_small, backend="naive")
    for backend in ("numpy", "numba", "torch"):
        assert np.allclose(cv.epipolar_fusion(shifted, d.cams, d.A_small, backend=backend), ref,
                           atol=1e-5)
    # with mean evidence, fusion is affine: a constant shift passes straight through
    mean = cv.epipolar_fusion(d.small, d.cams, d.A_small, reduce="mean", backend="numpy")
    inside = cv.epipolar_fusion(np.ones_like(d.small), d.cams, d.A_small, reduce="mean",
                                backend="numpy")
    shifted_mean = cv.epipolar_fusion(shifted, d.cams, d.A_small, reduce="mean", backend="numpy")
    assert np.allclose(shifted_mean, mean - 0.25 * inside, atol=1e-6)


def test_points_behind_a_camera_are_legitimate_where_documented():
    cam = D().cams[0]
    behind = cam.center - 500.0 * cam.R[2]
    uv = cam.project(behind, allow_behind=True)        # a mirror image, on request
    assert np.isfinite(uv).all()
    curve = cv.epipolar.epipolar_curve(D().uv[1, :1], D().cams[1], cam)
    assert np.isnan(curve).any() and np.isfinite(curve).any()   # NaN where behind camera 0
