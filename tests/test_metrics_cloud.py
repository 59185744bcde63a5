"""Point-cloud metrics: flying-pixel rate and Chamfer / F-score (mixture_depth.md §4.3, §8.C)."""
import numpy as np
import pytest

from modot_ros.evaluation import chamfer_fscore, flying_pixel_rate


def _two_planes():
    gt = np.full((48, 64), 1.0)
    gt[:, 32:] = 2.0
    return gt


def test_sharp_step_has_no_flying_pixels():
    """A prediction equal to a GT depth step has no flying pixels."""
    gt = _two_planes()
    out = flying_pixel_rate(gt.copy(), gt, band=2)
    assert out["flying_rate"] == 0.0 and out["n_band"] == 48 * 6


def test_ramp_between_planes_gives_known_rate():
    """A 2-px ramp between planes at 1 m and 2 m flies on 2 of the 6 band columns."""
    gt = _two_planes()
    pred = gt.copy()
    pred[:, 31], pred[:, 32] = 1.33, 1.67
    pred[:, 33] = 3.0  # far off the surface but behind both sides: off-surface, not flying
    out = flying_pixel_rate(pred, gt, band=2, rel_tol=0.05)
    assert out["flying_rate"] == pytest.approx(2 / 6)
    assert out["off_surface_rate"] == pytest.approx(3 / 6)


def test_chamfer_of_translated_cloud_equals_shift():
    """Shifting a sparse cloud by d gives one-way distances d, chamfer 2d, F by threshold."""
    grid = np.stack(np.meshgrid(np.arange(5.0), np.arange(5.0), indexing="ij"), -1).reshape(-1, 2)
    gt = np.column_stack([grid, np.full(len(grid), 4.0)])
    pred = gt + np.array([0.05, 0.0, 0.0])
    out = chamfer_fscore(pred, gt, tau=0.1)
    assert out["accuracy"] == pytest.approx(0.05) and out["completeness"] == pytest.approx(0.05)
    assert out["chamfer"] == pytest.approx(0.1) and out["fscore"] == 1.0
    assert chamfer_fscore(pred, gt, tau=0.01)["fscore"] == 0.0
    assert chamfer_fscore(pred, gt, tau=0.02, relative=True)["fscore"] == 1.0  # 2% of 4 m


def test_nan_points_dropped_and_bad_shapes_rejected():
    """Organised clouds with NaN pixels work; wrong shapes raise ValueError."""
    cloud = np.ones((4, 4, 3))
    cloud[0, 0] = np.nan
    assert chamfer_fscore(cloud, cloud)["chamfer"] == 0.0
    with pytest.raises(ValueError, match="points"):
        chamfer_fscore(np.ones((5, 2)), np.ones((5, 3)))


def test_cloud_quality_counts_flying_points_and_what_dropping_them_costs():
    """Dropping a flying strip removes every flying point and only that strip's completeness."""
    from modot_ros.evaluation.cloud_metrics import cloud_quality, flying_mask
    from modot_ros.geometry import CameraIntrinsics

    gt = _two_planes().astype(np.float32)
    intr = CameraIntrinsics(60.0, 60.0, 31.5, 23.5, 64, 48)
    pred = gt.copy()
    pred[:, 31:33] = 1.5  # two flying columns
    noisy = cloud_quality(pred, gt, intr, stride=1)
    assert noisy["flying_points"] == 48 * 2 == flying_mask(pred, gt).sum()
    assert noisy["completeness"] == 1.0 and noisy["kept"] == 1.0  # GT at the strip has a neighbour within 5 %
    dropped = pred.copy()
    dropped[:, 31:33] = np.nan
    clean = cloud_quality(dropped, gt, intr, stride=1)
    assert clean["flying_points"] == 0 and clean["kept"] == pytest.approx(62 / 64)
    assert clean["completeness"] == 1.0 and clean["fscore"] > noisy["fscore"]
    dropped[:, 10:20] = np.nan  # a hole wider than 5 % of the depth: that surface is now missing
    assert 0.8 < cloud_quality(dropped, gt, intr, stride=1)["completeness"] < 1.0
