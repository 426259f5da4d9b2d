"""Synthetic people: the limb lengths of the subjects that :mod:`crossview.synth` animates.

The solver's default prior, :data:`crossview.LIMB_PRIOR`, describes people by
anthropometric segment ratios, whose hip and shoulder widths are measured between
surface landmarks. Data sets place their joints elsewhere: Human3.6M's hip joints sit
about 125 to 130 mm from its pelvis joint and its shoulders about 147 to 150 mm from
its thorax, against the prior's 167 and 227 mm, and its upper arm and forearm are
shorter too. A book whose people were drawn from the solver's own prior would flatter
the solver, so the synthetic people here come from other distributions:

``"varied"`` (the default of :func:`crossview.make_scenes`)
    stature ``N(1720, 90)`` mm (the prior assumes ``N(1750, 70)``), joint placement
    blended at random between the anthropometric landmarks and Human3.6M-like joint
    centres (a weight uniform in ``[0, 1]`` per person), each segment's proportion
    varied by 6 % (the prior assumes 4 %), and a 1.5 % asymmetry between left and
    right limbs (the prior has none);
``"h36m-like"``
    Human3.6M-like joint centres for everyone, stature and proportions as ``"varied"``;
``"prior"``
    the people :data:`~crossview.LIMB_PRIOR` describes (stature model of
    :func:`crossview.skeleton.sample_stature_model`), for comparison only.

The Human3.6M-like lengths are approximate values chosen to resemble that data set's
joint placement; they are modelling choices, not statistics of its subjects.
"""

from __future__ import annotations

import numpy as np

from .skeleton import LEFT_RIGHT_PAIRS, SKELETON, STATURE_RATIOS, sample_stature_model

#: The kinds of synthetic people (see the module docstring).
PEOPLE = ("varied", "h36m-like", "prior")

#: Reference stature (mm) of the Human3.6M-like lengths below.
_H36M_STATURE_MM = 1750.0
#: Segments whose Human3.6M-like length differs from the anthropometric ratio (mm at
#: :data:`_H36M_STATURE_MM`): root-hip, thorax-shoulder, upper arm, forearm.
_H36M_LENGTHS_MM = {1: 125.0, 4: 125.0, 11: 147.0, 14: 147.0, 12: 269.0, 15: 269.0,
                    13: 240.0, 16: 240.0}

#: Segment lengths as fractions of stature with Human3.6M-like joint centres.
H36M_LIKE_RATIOS = STATURE_RATIOS.copy()
for _j, _mm in _H36M_LENGTHS_MM.items():
    H36M_LIKE_RATIOS[_j] = _mm / _H36M_STATURE_MM

STATURE_MEAN_MM = 1720.0
STATURE_STD_MM = 90.0
STATURE_RANGE_MM = (1450.0, 2000.0)
PROPORTION_CV = 0.06
ASYMMETRY_CV = 0.015


def sample_limb_lengths(rng: np.random.Generator, n: int | None = None,
                        people: str = "varied") -> np.ndarray:
    """Limb lengths ``(n, J)`` mm (``(J,)`` when ``n`` is None) of synthetic people.

    ``people`` is one of :data:`PEOPLE`; see the module docstring for what each draws.
    """
    if people not in PEOPLE:
        raise ValueError(f"people must be one of {', '.join(map(repr, PEOPLE))}, got {people!r}")
    size = 1 if n is None else int(n)
    J = SKELETON.n_joints
    if people == "prior":
        out = sample_stature_model(rng, size)
        return out[0] if n is None else out
    stature = np.clip(rng.normal(STATURE_MEAN_MM, STATURE_STD_MM, size=(size, 1)),
                      *STATURE_RANGE_MM)
    blend = rng.uniform(0.0, 1.0, size=(size, 1)) if people == "varied" else np.ones((size, 1))
    ratios = (1.0 - blend) * STATURE_RATIOS + blend * H36M_LIKE_RATIOS
    shared = rng.normal(0.0, 1.0, size=(size, J))
    side = rng.normal(0.0, 1.0, size=(size, J))
    for left, right in LEFT_RIGHT_PAIRS:
        shared[:, left] = shared[:, right]
    lengths = ratios * stature * (1.0 + PROPORTION_CV * shared) * (1.0 + ASYMMETRY_CV * side)
    lengths[:, 0] = 0.0
    return lengths[0] if n is None else lengths


__all__ = ["H36M_LIKE_RATIOS", "PEOPLE", "sample_limb_lengths"]
