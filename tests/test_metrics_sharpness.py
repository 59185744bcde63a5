"""iBims depth-boundary error (modot.md §4.3, mixture_depth.md §4.2)."""
import numpy as np
import pytest

from modot_ros.evaluation import depth_boundary_error, depth_edges


def _step(col, shape=(48, 64)):
    """1 m | 2 m step with one 1.5 m pixel column at ``col``, so Canny's edge is that column."""
    depth = np.full(shape, 1.0)
    depth[:, col] = 1.5
    depth[:, col + 1:] = 2.0
    return depth


def test_prediction_equal_to_gt_has_zero_error():
    """A prediction whose edges coincide with the GT edges has zero accuracy/completeness error."""
    gt_edges = depth_edges(_step(32))
    assert gt_edges.any()
    out = depth_boundary_error(_step(32), gt_edges)
    assert out == {"dbe_acc": 0.0, "dbe_comp": 0.0, "dbe_chamfer": 0.0}


@pytest.mark.parametrize("k", [2, 4])
def test_shifted_edge_error_equals_shift(k):
    """A depth step displaced by k px gives accuracy = completeness = k px."""
    gt_edges = depth_edges(_step(32))
    out = depth_boundary_error(_step(32 + k), gt_edges)
    assert out["dbe_acc"] == pytest.approx(k)
    assert out["dbe_comp"] == pytest.approx(k)


def test_edge_cases_follow_ibims():
    """No predicted edge near GT -> all errors = max_dist; no GT edge -> NaN."""
    gt_edges = depth_edges(_step(32))
    flat = np.full((48, 64), 3.0)
    assert depth_boundary_error(flat, gt_edges)["dbe_acc"] == 10.0
    assert np.isnan(depth_boundary_error(_step(32), np.zeros((48, 64), bool))["dbe_comp"])


def test_invalid_holes_make_no_edges():
    """NaN holes in the prediction must not create spurious depth edges."""
    depth = np.full((48, 64), 2.0)
    depth[10:20, 10:20] = np.nan
    assert not depth_edges(depth).any()
