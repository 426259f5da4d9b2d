"""The kernel families' declared interface: every backend provides it, and they agree."""

import importlib

import numpy as np
import pytest
import torch

import crossview as cv
from crossview.kernels import BACKENDS, FAMILIES, load_kernel, resolve_backend
from crossview.kernels.interface import PROTOCOLS, Bridge
from crossview.kernels.psm_common import EXCESS_COST, penalty
from crossview.psm import kernel_inputs, prepare_inputs
from crossview.rpsm import stage_sizes


@pytest.mark.parametrize("family,backend", [(f, b) for f, bs in FAMILIES.items() for b in bs])
def test_every_backend_provides_its_familys_interface(family, backend):
    kernel = load_kernel(family, backend)
    assert isinstance(kernel, PROTOCOLS[family]), f"{kernel.__name__} lacks part of the interface"
    protocol_methods = {k for k, v in vars(PROTOCOLS[family]).items()
                        if callable(v) and not k.startswith("_")}
    assert protocol_methods and all(callable(getattr(kernel, m)) for m in protocol_methods)


def test_the_rpsm_kernels_share_their_backends_heatmap_state():
    for backend in BACKENDS:
        assert load_kernel("rpsm", backend).prepare is load_kernel("psm", backend).prepare


@pytest.fixture(scope="module")
def frames():
    return cv.make_scenes(2, "h36m", seed=3, jitter=1.0, false_peak_prob=0.2)


@pytest.mark.parametrize("backend", ["naive", "numba", "torch"])
def test_psm_and_rpsm_kernels_agree_with_numpy(frames, backend):
    def run(b):
        problem = prepare_inputs(frames.heatmaps, frames.cameras, frames.affines, None, 1e-3, b)
        kernel, bridge, state, cams = kernel_inputs(problem, "psm")
        centers = bridge.native(frames.joints3d[:, 0])
        lengths = bridge.native(problem.lengths)
        pen = penalty(17, 4, np.log(1e-3))
        poses = kernel.coarse(state, cams, centers, lengths, bridge.native(np.full(17, 150.0)),
                              cv.SKELETON.parents, 3, 1200.0, pen)
        sizes = stage_sizes(8, 3, 1200.0)
        stages = load_kernel("rpsm", b).refine(state, cams, poses, lengths,
                                               bridge.native(np.full((3, 17), 100.0)), sizes,
                                               cv.SKELETON.parents, EXCESS_COST, 2)
        assert poses.shape == (2, 17, 3) and stages.shape == (2, 3, 17, 3)
        return np.asarray(poses), np.asarray(stages)

    ref_poses, ref_stages = run("numpy")
    poses, stages = run(backend)
    assert np.allclose(poses, ref_poses) and np.allclose(stages, ref_stages, atol=1e-6)


def test_backend_none_means_the_same_everywhere(monkeypatch):
    assert resolve_backend(None, np.zeros(3)) == "numba"
    assert resolve_backend(None, torch.zeros(3)) == "torch"
    assert resolve_backend("naive", torch.zeros(3)) == "naive"
    monkeypatch.setattr("crossview.kernels.numba_available", lambda: False)
    assert resolve_backend(None, np.zeros(3)) == "numpy"
    with pytest.raises(ValueError, match="backend must be one of 'naive', 'numpy'"):
        resolve_backend("cupy")


def test_bridge_keeps_the_inputs_kind_device_and_dtype():
    ref = torch.zeros(2, dtype=torch.float32)
    b = Bridge.for_input("torch", ref)
    x = b.native(np.ones((2, 3)))
    assert x.dtype == torch.float32 and b.native(np.arange(3), integer=True).dtype == torch.int64
    assert Bridge.output(x, ref).dtype == torch.float32
    numpy_in = Bridge.for_input("torch", np.zeros(2))          # NumPy input: float64 tensors
    y = numpy_in.native(np.ones((2, 3)))
    assert y.dtype == torch.float64 and isinstance(Bridge.output(y, np.zeros(2)), np.ndarray)
    assert Bridge.output(np.ones((1, 3)), ref, batched=False).shape == (3,)
    assert Bridge.for_input("numba", ref).native(x).dtype == np.float64


def test_kernel_modules_are_named_after_family_and_backend():
    for family, backends in FAMILIES.items():
        for backend in backends:
            module = importlib.import_module(f"crossview.kernels.{family}_{backend}")
            assert load_kernel(family, backend) is module


def test_the_curves_family_is_one_source_run_plain_and_compiled(h36m):
    from crossview.kernels import curves_naive, curves_numba
    from crossview.sampler import EpipolarSampler

    s = cv.make_scenes(1, "h36m", seed=4, heatmaps=False)
    built = {}
    for name, tracer in (("naive", curves_naive), ("numba", curves_numba)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("crossview.sampler.load_kernel", lambda family, backend, t=tracer: t)
            built[name] = EpipolarSampler.build(h36m, s.affines[0], (12, 16), n_lines=24)
    a, b = built["naive"], built["numba"]
    for field in ("index", "count", "step", "bins"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    for field in ("frac", "weights", "angles"):
        assert np.allclose(getattr(a, field), getattr(b, field), atol=1e-6), field
    with pytest.raises(ValueError, match="the curves family has the backends 'naive', 'numba'"):
        load_kernel("curves", "torch")
