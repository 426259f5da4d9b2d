"""Synthetic people: wider than and different from the solver's prior."""

import numpy as np
import pytest

import crossview as cv
from crossview.people import H36M_LIKE_RATIOS, PEOPLE, sample_limb_lengths
from crossview.skeleton import LEFT_RIGHT_PAIRS, LIMB_PRIOR, STATURE_RATIOS


def _z(lengths):
    return (lengths[:, 1:] - LIMB_PRIOR.mean[1:]) / LIMB_PRIOR.std[1:]


def test_varied_people_are_wider_than_the_prior_and_off_its_centre(rng):
    L = sample_limb_lengths(rng, 5000)
    assert L.shape == (5000, 17) and np.all(L[:, 0] == 0) and np.all(L[:, 1:] > 0)
    z = _z(L)
    assert np.all(L[:, 1:].std(0) > 1.2 * LIMB_PRIOR.std[1:])          # wider, every limb
    # hips and shoulders sit inside the prior's landmarks, often beyond 3 prior std
    hips_shoulders = [0, 3, 10, 13]                                     # limbs 1, 4, 11, 14
    assert np.all(np.median(z[:, hips_shoulders], 0) < -1.5)
    assert np.mean(np.abs(z[:, 10]) > 3) > 0.25
    # left and right limbs differ a little (the prior's people are symmetric)
    left, right = LEFT_RIGHT_PAIRS[3]
    assert 0 < np.median(np.abs(L[:, left] - L[:, right])) < 10


def test_h36m_like_people_have_inner_joint_centres(rng):
    L = sample_limb_lengths(rng, 4000, people="h36m-like")
    ratio = np.median(L / np.median(L[:, 2:3] / STATURE_RATIOS[2]), 0)
    assert np.allclose(ratio[[1, 11, 12, 13]], H36M_LIKE_RATIOS[[1, 11, 12, 13]], rtol=0.03)
    assert np.median(L[:, 1]) < 135 and np.median(L[:, 11]) < 160


def test_prior_people_reproduce_the_prior(rng):
    L = sample_limb_lengths(rng, 20000, people="prior")
    assert np.allclose(L.mean(0)[1:], LIMB_PRIOR.mean[1:], rtol=0.01)
    assert np.allclose(L.std(0)[1:], LIMB_PRIOR.std[1:], rtol=0.05)


def test_make_scenes_takes_a_kind_or_given_lengths():
    assert set(PEOPLE) == {"varied", "h36m-like", "prior"}
    s = cv.make_scenes(6, seed=3, n_subjects=2, heatmaps=False)
    assert len(np.unique(s.limb_lengths[:, 11])) == 2
    assert np.allclose(cv.SKELETON.limb_lengths(s.joints3d)[:, 1:], s.limb_lengths[:, 1:])
    given = np.tile(LIMB_PRIOR.mean * 1.1, (2, 1))
    given[:, 0] = 0
    g = cv.make_scenes(6, seed=3, n_subjects=2, heatmaps=False, people=given)
    assert np.allclose(cv.SKELETON.limb_lengths(g.joints3d)[:, 1:], given[0, 1:])
    with pytest.raises(ValueError, match="people must be one of"):
        cv.make_scenes(2, heatmaps=False, people="giants")
    with pytest.raises(ValueError, match=r"shape \(2, 17\)"):
        cv.make_scenes(4, n_subjects=2, heatmaps=False, people=np.ones((3, 17)))
