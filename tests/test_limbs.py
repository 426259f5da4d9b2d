"""Limb lengths without ground truth, and defaults that survive people off the prior."""

import numpy as np
import pytest

import crossview as cv
from crossview.limbs import limb_lengths_from_joints
from crossview.skeleton import LEFT_RIGHT_PAIRS, LIMB_PRIOR


def test_estimate_from_clean_heatmaps_is_the_truth():
    s = cv.make_scenes(12, seed=4, people="h36m-like")
    est = cv.estimate_limb_lengths(s.heatmaps, s.cameras, s.affines)
    assert np.abs(est.mean - s.limb_lengths[0]).max() < 1.0
    assert "16 of 16 limbs measured" in est.source and est.n_poses == 12
    X = cv.rpsm(s.heatmaps, s.cameras, s.affines, limb_lengths=est)
    assert cv.mpjpe(X, s.joints3d) < 0.6


def test_estimate_survives_false_peaks():
    s = cv.make_scenes(60, seed=6, jitter=0.5, false_peak_prob=0.1)
    est = cv.estimate_limb_lengths(s.heatmaps, s.cameras, s.affines)
    err = np.abs(est.mean - s.limb_lengths[0])[1:]
    prior_err = np.abs(LIMB_PRIOR.mean - s.limb_lengths[0])[1:]
    assert err.mean() < 5 and err.mean() < prior_err.mean() / 3


def test_unseen_limbs_fall_back_to_the_prior(rng):
    X = rng.normal(0, 300, size=(10, 17, 3))
    X[:, 13] = np.nan                                   # the left wrist never triangulated
    X[:7, 12] = np.nan                                  # the left elbow in only 3 frames
    est = limb_lengths_from_joints(X, min_frames=5)
    for j in (12, 13):
        assert est.mean[j] == LIMB_PRIOR.mean[j] and est.std[j] == LIMB_PRIOR.std[j]
    assert est.mean[3] != LIMB_PRIOR.mean[3] and "14 of 16 limbs" in est.source


def test_estimate_refuses_single_frames():
    s = cv.make_scenes(2, seed=0)
    with pytest.raises(ValueError, match=r"\(F, V, J, H, W\)"):
        cv.estimate_limb_lengths(s.heatmaps[0], s.cameras, s.affines[0])


def _off_prior(rng, k_max):
    """Limb lengths up to k_max prior standard deviations off, in random directions."""
    k = rng.uniform(-k_max, k_max, size=17)
    for left, right in LEFT_RIGHT_PAIRS:
        k[left] = k[right]
    lengths = LIMB_PRIOR.mean + k * LIMB_PRIOR.std
    lengths[0] = 0
    return lengths


def test_default_rpsm_survives_people_six_prior_std_off(rng):
    people = np.stack([_off_prior(rng, 6.0) for _ in range(3)]
                      + [cv.people.H36M_LIKE_RATIOS * 1750.0])      # shoulders 6.2 std off
    s = cv.make_scenes(12, seed=8, n_subjects=4, people=people)
    default = cv.rpsm(s.heatmaps, s.cameras, s.affines)
    true = cv.rpsm(s.heatmaps, s.cameras, s.affines, limb_lengths=s.limb_lengths)
    for subject in range(4):
        f = s.subject == subject
        cost = cv.mpjpe(default[f], s.joints3d[f]) - cv.mpjpe(true[f], s.joints3d[f])
        assert cost <= 1.0, (subject, cost)
