import numpy as np
import pytest

import crossview as cv


def test_mpjpe_known_case():
    gt = np.zeros((2, 17, 3))
    pred = gt.copy()
    pred[0, :, 0] = 3.0
    pred[1, :, 1] = 4.0
    assert cv.mpjpe(pred, gt) == pytest.approx(3.5)
    assert np.allclose(cv.mpjpe(pred, gt, per_joint=True), 3.5)


def test_mpjpe_shape_mismatch_and_nan_prediction():
    with pytest.raises(ValueError, match="same shape"):
        cv.mpjpe(np.zeros((17, 3)), np.zeros((16, 3)))
    pred = np.zeros((17, 3))
    pred[0] = np.nan
    assert cv.mpjpe(pred, np.zeros((17, 3))) == np.inf


def test_jdr_half_head_size_threshold():
    gt = np.zeros((4, 17, 2))
    pred = gt.copy()
    pred[..., 0] = [[5.0], [10.0], [10.1], [30.0]]   # head size 20 -> threshold 10 px
    heads = np.full(4, 20.0)
    assert cv.jdr(pred, gt, heads) == pytest.approx(50.0)
    mask = np.zeros((4, 17), bool)
    mask[0] = True
    assert cv.jdr(pred, gt, heads, mask=mask) == pytest.approx(100.0)
    per = cv.jdr(pred, gt, heads, per_joint=True)
    assert per.shape == (17,) and np.allclose(per, 50.0)


def test_jdr_broadcasts_head_sizes_per_view():
    gt = np.zeros((3, 4, 17, 2))
    pred = gt + 7.0 / np.sqrt(2)
    heads = np.array([10.0, 14.0, 20.0, 30.0])[None].repeat(3, 0)  # (F, V)
    assert cv.jdr(pred, gt, heads) == pytest.approx(75.0)
    with pytest.raises(ValueError, match="head_sizes"):
        cv.jdr(pred, gt, np.ones(5))


def test_the_papers_head_size_is_a_tenth_of_its_input_in_image_pixels():
    assert cv.metrics.PAPER_HEAD_SIZE_PX == 256 / 10
    gt = np.zeros((2, 17, 2))
    pred = gt + [12.0, 0.0]                         # 12 px: inside 12.8, for every crop size
    assert cv.jdr(pred, gt, cv.metrics.PAPER_HEAD_SIZE_PX) == 100.0
    assert cv.jdr(pred + [1.0, 0.0], gt, cv.metrics.PAPER_HEAD_SIZE_PX) == 0.0
    assert cv.jdr(pred, gt, np.array([10.0, 40.0])) == 50.0   # crop head sizes: 5 and 20 px
