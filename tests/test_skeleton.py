import json

import numpy as np
import pytest

import crossview as cv
from crossview.skeleton import LEFT_RIGHT_PAIRS, LIMB_PRIOR, LimbLengthPrior, Skeleton


def test_joint_order_matches_design():
    assert cv.SKELETON.names == ("root", "rhip", "rkne", "rank", "lhip", "lkne", "lank", "belly",
                                 "neck", "nose", "head", "lsho", "lelb", "lwri", "rsho", "relb",
                                 "rwri")
    assert cv.SKELETON.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)


def test_skeleton_is_a_tree_rooted_at_0():
    sk = cv.SKELETON
    assert len(sk.limbs) == sk.n_joints - 1
    # every joint reaches the root by following parents, without cycles
    for j in range(sk.n_joints):
        seen, k = set(), j
        while k != 0:
            assert k not in seen
            seen.add(k)
            k = sk.parents[k]
    # children are the inverse of parents
    for p, c in sk.limbs:
        assert c in sk.children[p]
    assert sum(len(c) for c in sk.children) == sk.n_joints - 1


def test_invalid_skeletons_are_rejected():
    with pytest.raises(ValueError, match="root"):
        Skeleton(names=("a", "b"), parents=(0, -1))
    with pytest.raises(ValueError, match="precede"):
        Skeleton(names=("a", "b", "c"), parents=(-1, 2, 0))


def test_limb_lengths_of_a_pose(rng):
    X = rng.normal(size=(5, 17, 3))
    ll = cv.SKELETON.limb_lengths(X)
    assert ll.shape == (5, 17)
    assert np.all(ll[:, 0] == 0)
    assert np.allclose(ll[:, 3], np.linalg.norm(X[:, 3] - X[:, 2], axis=-1))


def test_prior_is_positive_symmetric_and_sampled_consistently(rng):
    assert LIMB_PRIOR.mean.shape == LIMB_PRIOR.std.shape == (17,)
    assert LIMB_PRIOR.mean[0] == 0 and np.all(LIMB_PRIOR.mean[1:] > 0)
    for left, right in LEFT_RIGHT_PAIRS:
        assert LIMB_PRIOR.mean[left] == LIMB_PRIOR.mean[right]
    samples = LIMB_PRIOR.sample(rng, 20000)
    assert np.allclose(samples.mean(0)[1:], LIMB_PRIOR.mean[1:], rtol=0.01)
    assert np.allclose(samples.std(0)[1:], LIMB_PRIOR.std[1:], rtol=0.05)
    for left, right in LEFT_RIGHT_PAIRS:
        assert np.array_equal(samples[:, left], samples[:, right])


def _poses_with_lengths(lengths, rng, n):
    """Poses (n, J, 3) with the given limb lengths (J,) and random limb directions: a
    generator that shares nothing with the prior's stature model."""
    X = np.zeros((n, 17, 3))
    for j, p in enumerate(cv.SKELETON.parents):
        if p >= 0:
            d = rng.normal(size=(n, 3))
            X[:, j] = X[:, p] + d / np.linalg.norm(d, axis=-1, keepdims=True) * lengths[j]
    return X


def test_fitted_prior_recovers_lengths_and_spread(rng):
    people = 200 + 400 * rng.uniform(size=(2000, 17))            # uniform, not normal
    X = np.concatenate([_poses_with_lengths(ll, rng, 1) for ll in people])
    prior = LimbLengthPrior.fit(X)
    assert prior.n_poses == 2000 and prior.mean[0] == prior.std[0] == 0
    # median and MAD-based spread of a uniform(200, 600): 400 and 1.4826 * 100
    assert np.allclose(prior.mean[1:], 400, atol=20)      # 4.5 mm standard error
    assert np.allclose(prior.std[1:], 148.3, rtol=0.1)


def test_fitted_prior_ignores_outliers_and_missing_joints(rng):
    truth = LIMB_PRIOR.mean * 0.9
    X = _poses_with_lengths(truth, rng, 200)
    bad = rng.choice(200, 30, replace=False)
    X[bad, 13] += rng.normal(0, 500, size=(30, 3))             # 15% wild wrists
    X[:40, 5] = np.nan                                            # a knee lost in 20%
    prior = LimbLengthPrior.fit(X, min_std=0.5)
    assert np.allclose(prior.mean, truth, atol=1e-6)
    assert np.all(prior.std[1:] == 0.5)                           # one person: no spread


def test_fitted_prior_is_accepted_by_psm_and_rpsm(scenes_small):
    s = scenes_small
    prior = LimbLengthPrior.fit(s.joints3d)
    a = cv.rpsm(s.heatmaps[:2], s.cameras, s.affines[:2], limb_lengths=prior)
    b = cv.rpsm(s.heatmaps[:2], s.cameras, s.affines[:2], limb_lengths=prior.mean,
                length_margin=7.0 * prior.std)
    assert np.array_equal(a, b)
    args = (s.heatmaps[:2], s.cameras, s.affines[:2])
    c = cv.psm(*args, center=s.joints3d[:2, 0], limb_lengths=prior)
    assert np.array_equal(c, cv.psm(*args, center=s.joints3d[:2, 0], limb_lengths=prior.mean))


def test_prior_round_trips_through_a_dict():
    prior = LimbLengthPrior.fit(cv.make_scenes(5, seed=1, heatmaps=False).joints3d)
    back = LimbLengthPrior.from_dict(json.loads(json.dumps(prior.to_dict())))
    assert np.array_equal(back.mean, prior.mean) and np.array_equal(back.std, prior.std)
    assert back.n_poses == 5 and "fitted" in repr(back)


def test_bad_priors_are_refused():
    with pytest.raises(ValueError, match="at least 2 poses"):
        LimbLengthPrior.fit(np.zeros((1, 17, 3)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 17, 3\)"):
        LimbLengthPrior.fit(np.zeros((4, 16, 3)))
    with pytest.raises(ValueError, match="17 finite numbers"):
        LimbLengthPrior(mean=np.ones(16), std=np.ones(16))
    with pytest.raises(ValueError, match="positive means"):
        LimbLengthPrior(mean=-np.ones(17), std=np.ones(17))
    with pytest.raises(ValueError, match="skeleton's order"):
        LimbLengthPrior.from_dict({"joints": ["a"], "mean": [1.0], "std": [1.0]})
