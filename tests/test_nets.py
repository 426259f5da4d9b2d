import json

import numpy as np
import pytest
import torch

import crossview as cv
from crossview import nets
from crossview.cli import main


@pytest.fixture(scope="module")
def tiny():
    """Six rendered frames in two scene sets (16 x 16 heatmaps, 64 x 64 crops)."""
    return nets.make_dataset(6, seed=1, scene_sets=2)


# ---------------------------------------------------------------------- the network
def test_posenet_shapes_and_size():
    net = nets.PoseNet()
    assert 300_000 < nets.count_parameters(net) < 3_000_000
    x = torch.rand(3, 3, 64, 64)
    assert net(x).shape == (3, 17, 16, 16)
    assert net(torch.rand(2, 4, 3, 64, 64)).shape == (2, 4, 17, 16, 16)
    # fully convolutional: another crop size gives heatmaps a quarter its size
    assert net(torch.rand(1, 3, 96, 128)).shape == (1, 17, 24, 32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_backward_reduces_the_loss(device, dtype):
    torch.manual_seed(0)
    net = nets.PoseNet(widths=(8, 16, 16, 16)).to(device=device, dtype=dtype)
    x = torch.rand(4, 3, 64, 64, device=device, dtype=dtype)
    pts = torch.rand(4, 17, 2, dtype=torch.float64) * 15
    y = cv.render_heatmaps(pts, (16, 16), sigma=1.0).to(device=device, dtype=dtype)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = nets.heatmap_loss(net(x), y)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_multiview_heads(tiny):
    torch.manual_seed(0)
    from crossview.learned_fusion import LearnedFusion

    backbone = nets.PoseNet(widths=(8, 16, 16, 16))
    batch = torch.utils.data.default_collate([tiny[0], tiny[1]])
    images, affines = batch["images"], batch["affines"]
    plain = nets.MultiViewPoseNet(backbone)
    single, fused = plain(images)
    assert single.shape == (2, 4, 17, 16, 16) and fused is single
    learned = nets.MultiViewPoseNet(backbone, LearnedFusion(4, (16, 16)))
    s2, f2 = learned(images)
    # a zero-initialised layer passes on the view's own heatmaps, scaled by self_weight
    assert torch.allclose(f2, 0.5 * s2)
    analytic = nets.MultiViewPoseNet(backbone, "analytic")
    s3, f3 = analytic(images, tiny.cameras, affines)
    assert f3.shape == s3.shape and not torch.allclose(f3, s3)
    # the analytic head is differentiable: gradients reach the first convolution
    f3.square().mean().backward()
    assert backbone.down1[0][0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="cameras"):
        analytic(images)
    with pytest.raises(ValueError, match="fusion"):
        nets.MultiViewPoseNet(backbone, "sideways")


@pytest.mark.cuda
def test_posenet_on_cuda():
    net = nets.PoseNet().cuda()
    x = torch.rand(2, 4, 3, 64, 64, device="cuda")
    cpu = nets.PoseNet()
    cpu.load_state_dict(net.state_dict())
    net.eval()
    cpu.eval()
    assert torch.allclose(net(x).cpu(), cpu(x.cpu()), atol=1e-4)


@pytest.mark.cuda
def test_training_and_loading_on_cuda(tiny, tmp_path):
    torch.manual_seed(0)
    net = nets.PoseNet(widths=(8, 16, 16, 16))
    hist = nets.train_backbone(net, tiny, epochs=1, batch_frames=2, device="cuda",
                               val=tiny, progress=False)
    assert next(net.parameters()).is_cuda and np.isfinite(hist.epoch_loss).all()
    assert 0 <= hist.val_jdr[0] <= 100
    pose = nets.load_pose2d(device="cuda")
    assert next(pose.backbone.parameters()).is_cuda and pose.fusion.weight.is_cuda


# ---------------------------------------------------------------------- the data set
def test_dataset_items(tiny):
    assert len(tiny) == 6 and tiny.n_views == 4
    item = tiny[2]
    assert item["images"].shape == (4, 3, 64, 64) and item["images"].dtype == torch.float32
    assert 0 <= item["images"].min() and item["images"].max() <= 1
    assert item["heatmaps"].shape == (4, 17, 16, 16)
    assert item["visible"].shape == (4, 17) and item["visible"].dtype == torch.bool
    assert item["affines"].shape == (4, 2, 3)
    # targets peak at the joints; the images are the rendered crops
    peaks, _ = cv.find_peaks(item["heatmaps"].numpy())
    assert np.abs(peaks - tiny.joints_hm[2]).max() < 0.05
    assert np.allclose(item["images"].permute(0, 2, 3, 1).numpy() * 255, tiny.images[2])
    # input crops and heatmaps cover the same image region
    x_in = cv.apply_affine(tiny.input_affines, tiny.joints2d)
    assert np.allclose(x_in, (tiny.joints_hm + 0.5) * 4 - 0.5)


def test_dataset_scene_sets_differ(tiny):
    a, b = tiny.scenes
    assert a.occluders != b.occluders
    assert tiny.visible.mean() < 0.95          # occlusion is present


def test_dataset_bad_input():
    s = cv.make_scenes(2, seed=0, heatmap_size=(16, 16), heatmaps=False)
    with pytest.raises(ValueError, match="heatmaps"):
        nets.RenderedPoseDataset(s)
    s = cv.make_scenes(2, seed=0, heatmap_size=(16, 16))
    with pytest.raises(ValueError, match="multiple"):
        nets.RenderedPoseDataset(s, size=(60, 60))
    with pytest.raises(TypeError, match="Scenes"):
        nets.RenderedPoseDataset([np.zeros(3)])


# ---------------------------------------------------------------------- training
def _train(data, path=None, epochs=2, log=None):
    torch.manual_seed(0)
    net = nets.PoseNet(widths=(8, 16, 16, 16))
    hist = nets.train_backbone(net, data, epochs=epochs, batch_frames=2, seed=4,
                               checkpoint=path, progress=False, log=log)
    return net, hist


class _Interrupt(Exception):
    pass


def _interrupt(message):
    raise _Interrupt(message)


def test_training_is_seeded_and_resumes_from_checkpoints(tiny, tmp_path):
    a, ha = _train(tiny)
    b, _ = _train(tiny)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert len(ha.step_loss) == 2 * 3 and len(ha.epoch_loss) == 2
    # interrupted after the first epoch, then resumed: the same weights as straight through
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(_Interrupt, match="epoch 1/2"):
        _train(tiny, ckpt, log=_interrupt)
    c, hc = _train(tiny, ckpt)
    for (k, va), vc in zip(a.state_dict().items(), c.state_dict().values()):
        assert torch.allclose(va, vc, atol=1e-6), k
    assert hc.epoch_loss == pytest.approx(ha.epoch_loss)


def test_fusion_layer_training_lowers_its_loss(tiny):
    from crossview.learned_fusion import LearnedFusion

    layer = LearnedFusion(4, (16, 16))
    noisy = tiny.heatmaps * 0.5 + np.random.default_rng(0).uniform(0, 0.2, tiny.heatmaps.shape)
    curve = nets.train_fusion(layer, noisy.astype(np.float32), tiny.heatmaps, epochs=5,
                              batch_frames=3, lr=1e-3, progress=False)
    assert len(curve) == 5 and curve[-1] < curve[0]


def test_jdr_breakdown_of_ground_truth_and_of_shifted_heatmaps(tiny):
    perfect = nets.jdr_breakdown(tiny.heatmaps, tiny)
    assert perfect["all"] == 100.0 and perfect["occluded"] == 100.0
    # moving every peak by 2 heatmap px (0.125 crop widths) misses every joint
    shifted = cv.render_heatmaps(tiny.joints_hm + [2.0, 0.0], (16, 16), sigma=1.0)
    assert nets.jdr_breakdown(shifted, tiny)["all"] == 0.0


def test_save_and_load_round_trip(tiny, tmp_path):
    from crossview.learned_fusion import LearnedFusion

    config = nets.TrainConfig(widths=(8, 16, 16, 16))
    net = nets.PoseNet(widths=config.widths)
    layer = LearnedFusion(4, (16, 16))
    saved = nets.Pose2D(net, layer, config, {"epoch_loss": [1.0]}, {"single": {"all": 1.0}}, 0.3)
    path = nets.save_pose2d(tmp_path / "w.pt", saved)
    pose = nets.load_pose2d(path)
    assert pose.config == config and pose.history["epoch_loss"] == [1.0]
    assert pose.analytic_self_weight == 0.3 and pose.metrics == saved.metrics
    net.eval()
    x = torch.rand(1, 3, 64, 64)
    assert torch.allclose(pose.backbone(x), net(x), atol=2e-2)    # float16 storage
    with pytest.raises(FileNotFoundError, match="crossview train"):
        nets.load_pose2d(tmp_path / "missing.pt")
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="weights file"):
        nets.load_pose2d(tmp_path / "other.pt")


# ---------------------------------------------------------------------- the shipped weights
@pytest.mark.slow
def test_shipped_weights_load_and_reproduce_their_metrics():
    assert nets.PRETRAINED.stat().st_size < 5e6
    state = torch.load(nets.PRETRAINED, weights_only=True)       # no pickled code inside
    assert set(state) >= {"backbone", "fusion", "config", "metrics", "history"}
    pose = nets.load_pose2d()
    data = nets.evaluation_data(pose.config.eval_frames, pose.config)
    hm = nets.predict(pose.backbone, data)
    measured = nets.jdr_breakdown(hm, data)
    stored = pose.metrics["single"]
    for split in ("all", "visible", "occluded"):
        assert measured[split] == pytest.approx(stored[split], abs=0.5), split
    again = nets.evaluate(pose, data, heatmaps=hm)
    for method in ("analytic", "learned"):
        assert again[method]["all"] == pytest.approx(pose.metrics[method]["all"], abs=0.5)


# ---------------------------------------------------------------------- the command
def test_train_command_reproduces_a_tiny_configuration(tmp_path, capsys):
    args = ["train", "--frames", "4", "--scene-sets", "2", "--val-frames", "2",
            "--eval-frames", "2", "--epochs", "1", "--fusion-epochs", "1",
            "--batch-frames", "2", "--no-progress"]
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    assert main([*args, "--out", str(first)]) == 0
    printed = capsys.readouterr().out
    assert "settings" in printed and "train_frames" in printed and "JDR" in printed
    assert main([*args, "--out", str(second), "--compare", str(first), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["settings"]["train_frames"] == 4 and result["settings"]["epochs"] == 1
    assert set(result["metrics"]) >= {"single", "analytic", "learned"}
    # same seed, same machine: the same numbers
    assert result["compare"]["max_abs_difference"] == 0.0
    assert result["compare"]["within_tolerance"] is True
    pose = nets.load_pose2d(second)
    assert pose.config.train_frames == 4 and pose.fusion is not None


# ---------------------------------------------------------------------- the benchmark
def test_bench_network_reports_speed_with_accuracy(capsys):
    assert main(["bench", "network", "--backend", "torch", "--batch", "1", "--repeat", "1",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    by_stage = {r["stage"]: r for r in rows}
    assert set(by_stage) == {"render", "forward", "train step"}
    assert by_stage["render"]["visibility_agreement"] == 1.0
    assert 0 <= by_stage["forward"]["jdr_pct"] <= 100 and by_stage["train step"]["loss"] > 0
    assert all(r["ms_per_frame"] > 0 for r in rows)
    # without the torch backend there is nothing to run
    assert main(["bench", "network", "--backend", "numpy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == []
