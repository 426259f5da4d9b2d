"""The 17-joint Human3.6M skeleton and a prior on its limb lengths.

Joint order and parent tree follow the paper's official code (Human3.6M order)::

    0 root   1 rhip  2 rkne  3 rank  4 lhip  5 lkne  6 lank  7 belly  8 neck
    9 nose  10 head 11 lsho 12 lelb 13 lwri 14 rsho 15 relb 16 rwri

Limb lengths are arrays ``(J,)`` whose entry ``j`` is the distance from joint
``j``'s parent to joint ``j`` (entry 0, the root, is unused and set to 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._array import ArrayLike, xp
from ._validate import as_float_array


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree: joint ``names`` and each joint's ``parents`` entry (-1 for the root).

    Parents always come before their children in the joint order, so iterating
    ``range(n_joints)`` visits the tree top-down and ``reversed`` bottom-up.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    children: tuple[tuple[int, ...], ...] = field(init=False)

    def __post_init__(self):
        if len(self.names) != len(self.parents):
            raise ValueError("names and parents must have the same length")
        if self.parents[0] != -1 or any(p == -1 for p in self.parents[1:]):
            raise ValueError("joint 0 must be the only root (parent -1)")
        if any(not 0 <= p < j for j, p in enumerate(self.parents) if j > 0):
            raise ValueError("every parent must precede its child in the joint order")
        kids = [[] for _ in self.names]
        for j, p in enumerate(self.parents):
            if p >= 0:
                kids[p].append(j)
        object.__setattr__(self, "children", tuple(tuple(k) for k in kids))

    @property
    def n_joints(self) -> int:
        """Number of joints ``J``."""
        return len(self.names)

    @property
    def limbs(self) -> tuple[tuple[int, int], ...]:
        """Limbs as ``(parent, child)`` pairs, ordered by child index."""
        return tuple((p, j) for j, p in enumerate(self.parents) if p >= 0)

    def index(self, name: str) -> int:
        """Index of the joint called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown joint name {name!r}; expected one of {self.names}") from None

    def limb_lengths(self, joints: ArrayLike):
        """Limb lengths of poses ``(..., J, 3)`` -> ``(..., J)``, entry 0 set to 0."""
        joints = as_float_array(joints, "joints", trailing=(self.n_joints, 3))
        m = xp(joints)
        parents = [max(p, 0) for p in self.parents]
        diff = joints - joints[..., parents, :]
        return m.sqrt((diff * diff).sum(-1))


SKELETON = Skeleton(
    names=("root", "rhip", "rkne", "rank", "lhip", "lkne", "lank", "belly", "neck",
           "nose", "head", "lsho", "lelb", "lwri", "rsho", "relb", "rwri"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
)
"""The Human3.6M skeleton used throughout the book."""

#: Left/right joint pairs (used to mirror poses).
LEFT_RIGHT_PAIRS = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))

# Segment lengths as fractions of stature H. The hip and shoulder widths, thigh,
# shank, upper arm and forearm are the ratios of Drillis and Contini (1966) as
# tabulated by Winter, "Biomechanics and Motor Control of Human Movement" (4th
# ed., 2009, Fig. 4.1): hip width 0.191 H (halved: root to one hip), thigh 0.245 H,
# shank 0.246 H, shoulder width 0.259 H (halved: neck to one shoulder), upper arm
# 0.186 H, forearm 0.146 H. The trunk is the gap between hip height 0.530 H and
# shoulder height 0.818 H from the same figure, split evenly at the belly joint.
# The two head segments (neck-nose, nose-head) have no landmark in that table;
# 0.068 H and 0.065 H are our modelling choices.
STATURE_RATIOS = np.array([
    0.0,                 # root (unused)
    0.191 / 2, 0.245, 0.246,   # right hip, knee, ankle
    0.191 / 2, 0.245, 0.246,   # left hip, knee, ankle
    0.144, 0.144,        # belly, neck
    0.068, 0.065,        # nose, head
    0.259 / 2, 0.186, 0.146,   # left shoulder, elbow, wrist
    0.259 / 2, 0.186, 0.146,   # right shoulder, elbow, wrist
])

#: Mean adult stature (mm) and its spread across people (mm); modelling assumptions.
STATURE_MEAN_MM = 1750.0
STATURE_STD_MM = 70.0
#: Spread of an individual limb's proportion around the table's ratio (relative).
PROPORTION_CV = 0.04


@dataclass(frozen=True)
class LimbLengthPrior:
    """Mean and spread (mm) of each limb length, ``(J,)`` each, entry 0 unused.

    People differ in stature and, less, in proportions: a person's limb ``j`` is
    ``ratio_j * H * (1 + PROPORTION_CV * e_j)`` with ``H ~ N(STATURE_MEAN_MM,
    STATURE_STD_MM)`` and ``e_j ~ N(0, 1)`` shared by the left and right limb.
    """

    mean: np.ndarray
    std: np.ndarray

    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Draw limb lengths of ``n`` people, ``(n, J)`` (or ``(J,)`` when ``n`` is None)."""
        size = 1 if n is None else int(n)
        stature = rng.normal(STATURE_MEAN_MM, STATURE_STD_MM, size=(size, 1))
        noise = rng.normal(0.0, 1.0, size=(size, SKELETON.n_joints))
        for left, right in LEFT_RIGHT_PAIRS:
            noise[:, left] = noise[:, right]
        lengths = STATURE_RATIOS * stature * (1.0 + PROPORTION_CV * noise)
        lengths[:, 0] = 0.0
        return lengths[0] if n is None else lengths


def _prior() -> LimbLengthPrior:
    mean = STATURE_RATIOS * STATURE_MEAN_MM
    # Var(r H (1 + c e)) = r^2 (sd_H^2 (1 + c^2) + c^2 mu_H^2) for independent H, e.
    var = STATURE_RATIOS**2 * (STATURE_STD_MM**2 * (1 + PROPORTION_CV**2)
                               + PROPORTION_CV**2 * STATURE_MEAN_MM**2)
    return LimbLengthPrior(mean=mean, std=np.sqrt(var))


LIMB_PRIOR = _prior()
"""The limb-length prior used when no limb lengths are given (mm)."""
