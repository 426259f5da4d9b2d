import numpy as np
import pytest

import crossview as cv
from crossview.skeleton import LEFT_RIGHT_PAIRS, LIMB_PRIOR, Skeleton


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
