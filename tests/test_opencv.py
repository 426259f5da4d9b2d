"""The geometry against OpenCV, its reference implementation (opencv-python-headless, pinned).

Projection, undistortion, the fundamental matrix, epipolar lines, the relative pose in an
essential matrix, two-view triangulation and affine inversion, on the four Human3.6M S1
cameras and on a ring of three cameras with a strong barrel lens that folds back inside
the image (``STRONG``). The tolerances
are float tolerances: a disagreement beyond them is a difference of convention or a
bug, never noise. Where OpenCV itself is less precise (its eight-point estimate, its
fixed-point undistortion next to the fold) the test says so and by how much. README.md
("What is validated, and how") lists the measured differences.
"""

from itertools import combinations

import cv2
import numpy as np
import pytest

import crossview as cv
from crossview.camera import distort_normalized, normalized_to_pixels, pixels_to_normalized
from crossview.epipolar import epipolar_lines, essential_matrix, point_line_distance, relative_pose
from crossview.triangulate import _WORLD_SCALE

STRONG = (-0.25, -0.08, 0.0, 0.0, 0.0)          # barrel: folds back at normalised radius 0.949
H36M = cv.load_rig("h36m")
RING = cv.ring_rig(3, focal=800, dist=STRONG)
CAMERAS = H36M + RING
LENSES = [*H36M, RING[0]]                         # the ring's cameras share one K and lens
PAIRS = [*combinations(H36M, 2), *combinations(RING, 2)]


def name(cam_or_pair) -> str:
    if isinstance(cam_or_pair, tuple):
        return "-".join(c.name for c in cam_or_pair)
    return cam_or_pair.name


def world_points(n: int, seed: int = 0) -> np.ndarray:
    """Seeded points (n, 3) mm in the capture volume, in front of every camera here."""
    X = np.random.default_rng(seed).uniform([-1500, -1500, 0], [1500, 1500, 2000], size=(n, 3))
    assert all((c.depth(X) > 0).all() for c in CAMERAS)
    return X


def fold_image_radius(cam: cv.Camera, fraction: float = 1.0) -> float:
    """Normalised distorted radius of the circle ``fraction * fold_radius``, through the
    library's one lens model (on the x axis: a circle for lenses without tangential terms)."""
    r = fraction * cam.fold_radius
    if np.isinf(r):
        return np.inf
    return float(distort_normalized(np.array([r, 0.0]), cam.dist)[0])


def unit(M: np.ndarray) -> np.ndarray:
    """``M`` scaled to unit Frobenius norm, its largest entry positive."""
    M = M / np.linalg.norm(M)
    return M * np.sign(M.flat[np.abs(M).argmax()])


# ---------------------------------------------------------------------- OpenCV, once each
def cv2_project(cam: cv.Camera, X: np.ndarray, distort: bool = True) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(cam.R)
    return cv2.projectPoints(X, rvec, cam.t, cam.K, cam.dist if distort else None)[0][:, 0]


def cv2_undistort(cam: cv.Camera, px: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Ideal pixels (P = K); EPS 1e-14 px is never met, so it runs every iteration."""
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, 1e-14)
    return cv2.undistortPointsIter(px[:, None], cam.K, cam.dist, None, cam.K, criteria)[:, 0]


def cv2_fundamental(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    F, mask = cv2.findFundamentalMat(xa, xb, cv2.FM_8POINT)
    assert F.shape == (3, 3) and mask.all()
    return F


def cv2_epilines(points: np.ndarray, which_image: int, F: np.ndarray) -> np.ndarray:
    return cv2.computeCorrespondEpilines(points[:, None], which_image, F)[:, 0]


def cv2_triangulate(Pa: np.ndarray, Pb: np.ndarray, xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    Xh = cv2.triangulatePoints(Pa, Pb, xa.T, xb.T)
    return (Xh[:3] / Xh[3]).T


# ---------------------------------------------------------------------- projection
@pytest.mark.parametrize("cam", CAMERAS, ids=name)
def test_project_with_and_without_lens_matches_cv2_projectPoints_to_1e_9_px(cam):
    X = world_points(2000)
    assert np.abs(cam.project(X) - cv2_project(cam, X)).max() < 1e-9
    assert np.abs(cam.project(X, distort=False) - cv2_project(cam, X, distort=False)).max() < 1e-9


# ---------------------------------------------------------------------- undistortion
@pytest.mark.parametrize("cam", LENSES, ids=name)
def test_undistort_points_matches_cv2_undistortPointsIter_to_1e_9_px_within_95pc_of_the_fold(cam):
    w, h = cam.image_size
    px = np.random.default_rng(1).uniform([0, 0], [w - 1, h - 1], size=(2000, 2))
    inside = np.linalg.norm(pixels_to_normalized(px, cam.K), axis=-1) < fold_image_radius(cam, 0.95)
    assert inside.mean() > 0.8                      # all of a Human3.6M image; most of the ring's
    ours, theirs = cam.undistort_points(px[inside]), cv2_undistort(cam, px[inside])
    assert np.abs(ours - theirs).max() < 1e-9


def test_undistort_points_near_the_fold_is_where_cv2_converges_given_5000_iterations():
    # OpenCV's fixed-point iteration slows down where the lens' slope goes to 0: at 99%
    # of the fold radius its 200 iterations stop ~1e-2 px short, 5000 reach the same point
    cam = RING[0]
    angle = np.random.default_rng(2).uniform(0, 2 * np.pi, 300)
    ideal = 0.99 * cam.fold_radius * np.stack([np.cos(angle), np.sin(angle)], -1)
    px = normalized_to_pixels(distort_normalized(ideal, cam.dist), cam.K)
    ours = cam.undistort_points(px)
    assert np.abs(ours - normalized_to_pixels(ideal, cam.K)).max() < 1e-9
    assert np.abs(ours - cv2_undistort(cam, px, iterations=5000)).max() < 1e-8


def test_undistort_points_is_nan_past_the_fold_image_where_cv2_returns_points_that_miss():
    # Camera.undistort_points documents: a pixel farther out than the image of the fold
    # circle has no ideal pixel inside the fold, so it is NaN; cv2 returns a number for
    # every pixel, also where it does not invert the model (its point, distorted again,
    # lands more than 1 px away from the pixel it was given)
    cam = RING[0]
    rng = np.random.default_rng(3)
    radius = fold_image_radius(cam) * rng.uniform(1.01, 1.5, 500)
    angle = rng.uniform(0, 2 * np.pi, 500)
    px = normalized_to_pixels(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], -1), cam.K)
    assert np.isnan(cam.undistort_points(px)).all()
    theirs = cv2_undistort(cam, px)
    assert np.isfinite(theirs).all()
    again = normalized_to_pixels(distort_normalized(pixels_to_normalized(theirs, cam.K), cam.dist),
                                 cam.K)
    assert (np.linalg.norm(again - px, axis=-1) > 1.0).all()


# ---------------------------------------------------------------------- epipolar geometry
@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_fundamental_matrix_matches_cv2_eight_point_from_exact_matches(pair):
    cam_a, cam_b = pair
    X = world_points(200)
    xa, xb = cam_a.project(X, distort=False), cam_b.project(X, distort=False)
    F_cv, F = cv2_fundamental(xa, xb), cv.fundamental_matrix(cam_a, cam_b)
    # unit Frobenius norm, same sign: dominated by the entries that multiply pixels
    assert np.abs(unit(F_cv) - unit(F)).max() < 1e-8
    # in normalised coordinates (E = K_b^T F K_a), where all entries count alike
    E_cv = cam_b.K.T @ F_cv @ cam_a.K
    assert np.abs(unit(E_cv) - unit(essential_matrix(cam_a, cam_b))).max() < 1e-6
    # ours is exact; OpenCV's estimate puts the matches ~1e-5 px off their lines
    assert point_line_distance(xb, epipolar_lines(xa, F)).max() < 1e-9
    assert point_line_distance(xb, epipolar_lines(xa, F_cv)).max() < 1e-4


@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_epipolar_lines_match_cv2_computeCorrespondEpilines_in_both_images(pair):
    cam_a, cam_b = pair
    X = world_points(200)
    xa, xb = cam_a.project(X, distort=False), cam_b.project(X, distort=False)
    F_ab, F_ba = cv.fundamental_matrix(cam_a, cam_b), cv.fundamental_matrix(cam_b, cam_a)
    # the same F: same lines, same normalisation (a^2 + b^2 = 1) and same sign; OpenCV's
    # lines in image 1 of points of image 2 (F^T x_b) are ours with F of (b, a).
    # (a, b) agree to 1e-12, c (pixels, up to ~1000) to 1e-9 px
    tolerance = [1e-12, 1e-12, 1e-9]
    assert (np.abs(cv2_epilines(xa, 1, F_ab) - epipolar_lines(xa, F_ab)) < tolerance).all()
    assert (np.abs(cv2_epilines(xb, 2, F_ab) - epipolar_lines(xb, F_ba)) < tolerance).all()
    # each library's own F (OpenCV's estimated): lines point the same way to 1e-5 rad
    F_cv = cv2_fundamental(xa, xb)
    for theirs, ours in [(cv2_epilines(xa, 1, F_cv), epipolar_lines(xa, F_ab)),
                         (cv2_epilines(xb, 2, F_cv), epipolar_lines(xb, F_ba))]:
        sign = np.sign((theirs[:, :2] * ours[:, :2]).sum(-1, keepdims=True))
        assert np.abs(sign * theirs[:, :2] - ours[:, :2]).max() < 1e-5


@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_relative_pose_is_what_cv2_recoverPose_finds_from_our_essential_matrix(pair):
    # recoverPose decomposes E into four (R, t) and keeps the one that puts the matches in
    # front of both cameras: ours, with t of unit length (E fixes t only up to scale)
    cam_a, cam_b = pair
    X = world_points(200)
    ya, yb = (pixels_to_normalized(c.project(X, distort=False), c.K) for c in pair)
    R, t = relative_pose(cam_a, cam_b)
    _, R_cv, t_cv, mask = cv2.recoverPose(essential_matrix(cam_a, cam_b), ya, yb, np.eye(3))
    assert mask.all()
    assert np.abs(R_cv - R).max() < 1e-9
    assert np.abs(t_cv[:, 0] - t / np.linalg.norm(t)).max() < 1e-9


# ---------------------------------------------------------------------- triangulation
@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_two_view_triangulate_matches_cv2_triangulatePoints_to_1e_8_mm_on_exact_pixels(pair):
    # ours takes the distorted pixels and undistorts them; OpenCV the ideal ones with P
    cam_a, cam_b = pair
    X = world_points(500)
    ours = cv.triangulate(np.stack([cam_a.project(X), cam_b.project(X)]), [cam_a, cam_b])
    theirs = cv2_triangulate(cam_a.P, cam_b.P, cam_a.project(X, distort=False),
                             cam_b.project(X, distort=False))
    assert np.abs(ours - theirs).max() < 1e-8
    assert np.abs(ours - X).max() < 1e-8


@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_two_view_dlt_solves_cv2_triangulatePoints_equations_in_normalised_coordinates(pair):
    # with noise the DLT's answer depends on the coordinates its equations are written
    # in: ours uses K^-1 x and the world in metres, OpenCV the P and pixels it is given.
    # Given the same coordinates, OpenCV solves the same equations to 1e-8 mm
    cam_a, cam_b = pair
    X = world_points(500)
    rng = np.random.default_rng(4)
    xa, xb = (c.project(X, distort=False) + rng.normal(0, 2.0, (500, 2)) for c in pair)
    ours = cv.triangulate(np.stack([xa, xb]), [cv.Camera(c.K, c.R, c.t) for c in pair])
    Rt_a, Rt_b = (np.hstack([c.R, c.t[:, None] / _WORLD_SCALE]) for c in pair)
    theirs = _WORLD_SCALE * cv2_triangulate(Rt_a, Rt_b, pixels_to_normalized(xa, cam_a.K),
                                            pixels_to_normalized(xb, cam_b.K))
    assert np.abs(ours - theirs).max() < 1e-8


# ---------------------------------------------------------------------- affines
def test_invert_affine_matches_cv2_invertAffineTransform_on_crop_and_general_affines():
    rng = np.random.default_rng(5)
    width = rng.uniform(100, 600, (50, 1))
    crops = cv.crop_affine(rng.uniform(200, 800, (50, 2)), np.hstack([width, width * 64 / 48]),
                           (64, 48))
    general = np.concatenate([rng.uniform(0.2, 2.0, (50, 2, 2)) * np.eye(2)
                              + rng.uniform(-0.3, 0.3, (50, 2, 2)),
                              rng.uniform(-500, 500, (50, 2, 1))], -1)
    for A in (crops, general):
        ours = cv.invert_affine(A)
        theirs = np.stack([cv2.invertAffineTransform(a) for a in A])
        assert np.abs(ours - theirs).max() < 1e-12 * np.abs(theirs).max()
