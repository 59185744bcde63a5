"""Depth metrics: hand-computable cases (modot.md §4.1)."""
import numpy as np
import pytest

from modot_ros.evaluation import DepthAccumulator, abs_rel_by_distance, depth_metrics


def _gt(shape=(48, 64)):
    return np.linspace(1.0, 5.0, shape[0] * shape[1]).reshape(shape)


def test_perfect_prediction_scores_perfect():
    """A prediction equal to GT must report zero error and all deltas = 1."""
    gt = _gt()
    m = depth_metrics(gt.copy(), gt)
    for k in ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog"):
        assert m[k] == pytest.approx(0.0, abs=1e-12)
    assert m["delta1"] == m["delta2"] == m["delta3"] == 1.0


@pytest.mark.parametrize("s", [0.75, 1.1, 1.3, 2.0])
def test_constant_scale_error_is_exact(s):
    """A global scale error s gives AbsRel = |s-1|, RMSE log = |ln s|, SILog = 0 exactly."""
    gt = _gt()
    m = depth_metrics(s * gt, gt)
    assert m["abs_rel"] == pytest.approx(abs(s - 1))
    assert m["sq_rel"] == pytest.approx((s - 1) ** 2 * gt.mean())
    assert m["rmse"] == pytest.approx(abs(s - 1) * np.sqrt((gt ** 2).mean()))
    assert m["rmse_log"] == pytest.approx(abs(np.log(s)))
    assert m["log10"] == pytest.approx(abs(np.log10(s)))
    assert m["silog"] == pytest.approx(0.0, abs=1e-5)
    assert m["delta1"] == float(max(s, 1 / s) < 1.25)


def test_median_alignment_removes_scale():
    """align='median' makes a scale-only error vanish and reports the scale applied."""
    gt = _gt()
    m = depth_metrics(0.5 * gt, gt, align="median")
    assert m["abs_rel"] == pytest.approx(0.0, abs=1e-12)
    assert m["scale"] == pytest.approx(2.0)


def test_invalid_pixels_masked_and_nan_prediction_clipped():
    """NaN/zero GT and the caller's mask are skipped; NaN predictions count as min_depth."""
    gt = np.full((4, 4), 2.0)
    gt[0, 0], gt[0, 1] = np.nan, 0.0
    pred = gt.copy()
    pred[1, 1] = 20.0
    valid = np.ones_like(gt, bool)
    valid[1, 1] = False
    assert depth_metrics(pred, gt, valid=valid)["abs_rel"] == 0.0
    pred[1, 1] = np.nan  # unmasked NaN prediction -> min_depth=1.0 -> |2-1|/2 on 1 of 14 px
    assert depth_metrics(pred, gt, min_depth=1.0)["abs_rel"] == pytest.approx(0.5 / 14)
    assert depth_metrics(np.full((4, 4), 9.0), gt, max_depth=4.0)["abs_rel"] == pytest.approx(1.0)


def test_bad_input_raises():
    """Mismatched shapes and unknown alignment fail with a clear ValueError."""
    with pytest.raises(ValueError, match="shape"):
        depth_metrics(np.ones((4, 4)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="align"):
        depth_metrics(np.ones((4, 4)), np.ones((4, 4)), align="mean")


def test_accumulator_means_per_image_and_skips_empty_frames():
    """The dataset value is the mean of per-image metrics; frames without GT stay as NaN rows."""
    gt = _gt()
    acc = DepthAccumulator()
    acc.add(1.1 * gt, gt)
    acc.add(1.3 * gt, gt)
    acc.add(gt, np.full_like(gt, np.nan))
    mean = acc.mean()
    assert mean["abs_rel"] == pytest.approx(0.2)
    assert mean["n_frames"] == 3 and mean["n_empty"] == 1
    assert np.isnan(acc.per_frame["abs_rel"][2]) and acc.per_frame["abs_rel"].shape == (3,)


def test_abs_rel_by_distance_bins_and_pools():
    """Per-distance AbsRel puts each pixel in its GT-distance bin and pools over frames."""
    gt = np.array([[1.0, 1.5, 3.0, 3.5]])
    pred = np.array([[1.1, 1.65, 3.0, 3.5]])
    out = abs_rel_by_distance(pred, gt, bins=[0, 2, 4, 6])
    np.testing.assert_allclose(out["abs_rel"][:2], [0.1, 0.0])
    assert np.isnan(out["abs_rel"][2]) and list(out["count"]) == [2, 2, 0]
    acc = DepthAccumulator(distance_bins=[0, 2, 4, 6])
    acc.add(pred, gt)
    acc.add(gt, gt)
    np.testing.assert_allclose(acc.abs_rel_by_distance()["abs_rel"][:2], [0.05, 0.0])
