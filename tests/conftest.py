"""Shared fixtures: seeded generators, the Human3.6M rig, and the torch devices to test on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import crossview as cv

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def pytest_collection_modifyitems(config, items):
    # Tests marked `cuda` skip cleanly on machines without a GPU (CI has none).
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "cuda" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def h36m():
    return cv.load_rig("h36m")


@pytest.fixture(params=DEVICES)
def device(request):
    """Each available torch device ('cpu', and 'cuda' when present)."""
    return request.param


@pytest.fixture(scope="session")
def scenes_small():
    """A small seeded synthetic scene set (clean heatmaps), shared by read-only tests."""
    return cv.make_scenes(12, "h36m", seed=7)
