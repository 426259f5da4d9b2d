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

from ._array import Array, ArrayLike, to_numpy, xp
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

    def limb_lengths(self, joints: ArrayLike) -> Array:
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


#: Scale factor from the median absolute deviation to the standard deviation of a
#: normal distribution (1 / Phi^-1(3/4)).
MAD_TO_STD = 1.482602218505602


@dataclass(frozen=True, eq=False)
class LimbLengthPrior:
    """Mean and spread (mm) of each limb length, ``(J,)`` each, entry 0 unused.

    :data:`LIMB_PRIOR` is built from anthropometric segment ratios (see
    :data:`STATURE_RATIOS`); :meth:`fit` builds one from poses, such as a data set's
    training split. :func:`crossview.rpsm` and :func:`crossview.psm` take either as
    ``limb_lengths``: the means are the expected lengths, and RPSM's late stages let a
    limb be ``PRIOR_MARGIN_STD`` standard deviations off them.
    """

    mean: np.ndarray
    std: np.ndarray
    source: str = "anthropometric ratios (Drillis and Contini, via Winter 2009)"
    n_poses: int = 0          #: how many poses a fitted prior was estimated from

    def __post_init__(self):
        J = SKELETON.n_joints
        for name in ("mean", "std"):
            v = np.array(getattr(self, name), dtype=np.float64)
            if v.shape != (J,) or not np.isfinite(v).all():
                raise ValueError(f"LimbLengthPrior.{name} must be {J} finite numbers (mm), got "
                                 f"shape {v.shape}")
            v[0] = 0.0
            v.flags.writeable = False
            object.__setattr__(self, name, v)
        if (self.mean[1:] <= 0).any() or (self.std[1:] < 0).any():
            raise ValueError("LimbLengthPrior needs positive means and non-negative spreads")

    def __repr__(self) -> str:
        poses = f", n_poses={self.n_poses}" if self.n_poses else ""
        return f"LimbLengthPrior(source={self.source!r}{poses})"

    @classmethod
    def fit(cls, joints3d: ArrayLike, *, min_std: float = 1.0,
            source: str = "fitted to poses") -> LimbLengthPrior:
        """A prior fitted to poses ``(..., J, 3)`` (mm), robust to outliers.

        Each limb's expected length is the median of its lengths over the poses, and
        its spread the median absolute deviation scaled to a standard deviation
        (:data:`MAD_TO_STD`), so that a minority of wrong joints (swapped labels,
        failed triangulations) moves neither. Poses with a non-finite joint are left
        out of the limbs that joint belongs to. ``min_std`` (mm) bounds the spread from
        below: poses of one person (or of a universal skeleton) have no spread at all.
        This is what the paper's code does with its training split, which builds the
        pairwise terms from limb lengths seen in training (``pairwise.pkl``).
        """
        X = to_numpy(as_float_array(joints3d, "joints3d", trailing=(SKELETON.n_joints, 3),
                                    finite=False))
        X = X.reshape(-1, SKELETON.n_joints, 3)
        min_std = float(min_std)
        if not min_std >= 0:
            raise ValueError(f"min_std must be a non-negative number (mm), got {min_std!r}")
        parents = [max(p, 0) for p in SKELETON.parents]
        lengths = np.linalg.norm(X - X[:, parents], axis=-1)       # (N, J), NaN where unknown
        counts = np.isfinite(lengths).sum(0)
        if (counts[1:] < 2).any():
            j = int(np.flatnonzero(counts[1:] < 2)[0]) + 1
            raise ValueError(f"joints3d: fitting a prior needs at least 2 poses in which both "
                             f"ends of each limb are finite; limb {SKELETON.names[j]!r} has "
                             f"{counts[j]}")
        mean = np.nanmedian(lengths, axis=0)
        std = MAD_TO_STD * np.nanmedian(np.abs(lengths - mean), axis=0)
        mean[0] = std[0] = 0.0
        return cls(mean=mean, std=np.maximum(std, min_std), source=source, n_poses=len(X))

    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Draw limb lengths ``(n, J)`` (or ``(J,)`` when ``n`` is None) from independent
        normals, the left and right limb of a person drawn together."""
        size = 1 if n is None else int(n)
        noise = rng.normal(0.0, 1.0, size=(size, SKELETON.n_joints))
        for left, right in LEFT_RIGHT_PAIRS:
            noise[:, left] = noise[:, right]
        lengths = np.maximum(self.mean + self.std * noise, 0.0)
        lengths[:, 0] = 0.0
        return lengths[0] if n is None else lengths

    def to_dict(self) -> dict:
        """Plain lists, for JSON: ``{"mean": [...], "std": [...], "source": str, ...}``."""
        return {"joints": list(SKELETON.names), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "source": self.source, "n_poses": self.n_poses}

    @classmethod
    def from_dict(cls, d: dict) -> LimbLengthPrior:
        """The inverse of :meth:`to_dict`."""
        if list(d.get("joints", SKELETON.names)) != list(SKELETON.names):
            raise ValueError("a limb-length prior must list the joints in the skeleton's order "
                             f"{SKELETON.names}")
        return cls(mean=np.asarray(d["mean"], float), std=np.asarray(d["std"], float),
                   source=str(d.get("source", "from a file")), n_poses=int(d.get("n_poses", 0)))


def sample_stature_model(rng: np.random.Generator, n: int | None = None,
                         ratios: np.ndarray | None = None, stature_mean: float = STATURE_MEAN_MM,
                         stature_std: float = STATURE_STD_MM,
                         proportion_cv: float = PROPORTION_CV) -> np.ndarray:
    """Limb lengths ``(n, J)`` (or ``(J,)``) of people drawn from the stature model.

    A person's limb ``j`` is ``ratio_j * H * (1 + proportion_cv * e_j)`` with stature
    ``H ~ N(stature_mean, stature_std)`` and ``e_j ~ N(0, 1)`` shared by the left and
    right limb; ``ratios`` default to :data:`STATURE_RATIOS`. With the defaults these
    are the people :data:`LIMB_PRIOR` describes.
    """
    ratios = STATURE_RATIOS if ratios is None else np.asarray(ratios, dtype=np.float64)
    size = 1 if n is None else int(n)
    stature = rng.normal(stature_mean, stature_std, size=(size, 1))
    noise = rng.normal(0.0, 1.0, size=(size, SKELETON.n_joints))
    for left, right in LEFT_RIGHT_PAIRS:
        noise[:, left] = noise[:, right]
    lengths = ratios * stature * (1.0 + proportion_cv * noise)
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
