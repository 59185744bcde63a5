"""Known answers of the shared scorer's metrics on tiny arrays (boundary F1, mixture health, bins)."""
import numpy as np
import pytest

from modot_ros.evaluation.boundary_f1 import THRESHOLDS, boundary_f1_at, scale_invariant_boundary_f1
from modot_ros.evaluation.cloud_metrics import flying_pixel_rate
from modot_ros.evaluation.depth_errors import depth_metrics
from modot_ros.evaluation.mixture_health import bimodal_mask, mixture_health
from modot_ros.evaluation.scorer import FrameScorer, GroundTruthMasks, ratio_key, summary_table
from modot_ros.evaluation.sharpness import depth_boundary_error, depth_edges

STEP = np.array([[1.0, 1.0, 2.0, 2.0]])


def test_boundary_f1_exact_and_scale_invariant():
    """A depth map with the GT's jumps scores 1 at any global scale (Depth Pro's invariance)."""
    assert scale_invariant_boundary_f1(STEP, STEP) == 1.0
    assert scale_invariant_boundary_f1(3.7 * STEP, STEP) == 1.0


def test_boundary_f1_weights_thresholds_by_t():
    """A 12 % jump is an edge at t = 1.05 and 1.10 only: F1 = (1.05 + 1.10) / sum(t)."""
    pred = np.array([[1.0, 1.0, 1.12, 1.12]])
    assert boundary_f1_at(pred, STEP, 1.10) == 1.0 and boundary_f1_at(pred, STEP, 1.15) == 0.0
    assert scale_invariant_boundary_f1(pred, STEP) == pytest.approx(2.15 / sum(THRESHOLDS))


def test_boundary_f1_precision_recall_and_misplaced_edges():
    """An extra predicted edge halves precision (F1 = 2/3); a misplaced edge scores 0."""
    assert scale_invariant_boundary_f1(np.array([[1.0, 2.0, 4.0, 4.0]]), STEP) == pytest.approx(2 / 3)
    assert scale_invariant_boundary_f1(np.array([[1.0, 2.0, 2.0, 4.0]]), STEP) == 0.0


def test_boundary_f1_counts_down_pairs_and_ignores_invalid_gt():
    """Vertical neighbours count as pairs; pairs touching invalid GT are left out."""
    gt = np.array([[1.0, 1.0], [2.0, 2.0], [np.nan, 9.0]])
    assert scale_invariant_boundary_f1(np.array([[1.0, 1.0], [2.0, 2.0], [5.0, 9.0]]), gt) == 1.0


def test_boundary_f1_constant_map_scores_zero_and_flat_gt_is_undefined():
    """A constant map finds no edge (0); thresholds above the GT's largest jump are left out."""
    assert scale_invariant_boundary_f1(np.ones((1, 4)), STEP) == 0.0
    assert np.isnan(scale_invariant_boundary_f1(STEP, np.ones((1, 4))))
    small = np.array([[1.0, 1.0, 1.12, 1.12]])
    assert scale_invariant_boundary_f1(small, small) == 1.0  # only t = 1.05, 1.10 are scored


def _two_surfaces(w1: float = 0.5, near_first: bool = True):
    """GT 1 m on columns 0-3, 2 m on 4-7; OB label on column 3; means at both surfaces."""
    gt = np.ones((8, 8))
    gt[:, 4:] = 2.0
    labels = np.zeros((8, 8), bool)
    labels[:, 3] = True
    mu = (1.0, 0.5) if near_first else (0.5, 1.0)
    params = np.stack([np.full((8, 8), mu[0]), np.full((8, 8), mu[1]), np.full((8, 8), 0.1),
                       np.full((8, 8), 0.1), np.full((8, 8), w1)])
    return params, gt, labels


@pytest.mark.parametrize("near_first", [True, False])
def test_perfect_two_surface_mixture_is_fully_bimodal(near_first):
    """Means on the near and the far surface at an edge: bimodality 1, either assignment."""
    assert mixture_health(*_two_surfaces(near_first=near_first))["bimodality"] == 1.0


def test_collapsed_mixture_has_one_dominant_component_and_no_bimodality():
    """w1 = 1 everywhere: component 1 dominates 100 % / 0 %, bimodality 0."""
    params, gt, labels = _two_surfaces(w1=1.0)
    health = mixture_health(params, gt, labels)
    assert health["dominant1"] == health["dominant1_ob"] == 1.0
    assert health["dominant2"] == health["dominant2_ob"] == 0.0
    assert health["bimodality"] == 0.0
    params[1] = params[0]  # both means on the near surface, equal weights: still not bimodal
    params[4] = 0.5
    assert mixture_health(params, gt, labels)["bimodality"] == 0.0


def test_dominance_shares_and_scored_band():
    """Dominance is the pixel share with w1 >= 0.5; the band holds only pixels that see both sides."""
    params, gt, labels = _two_surfaces()
    params[4, :, 4:] = 0.2
    health = mixture_health(params, gt, labels)
    assert health["dominant1"] == 0.5 and health["dominant2"] == 0.5
    assert health["dominant1_ob"] == pytest.approx(3 / 5)  # band = columns 1-5, 1-3 are component 1
    scored, _ = bimodal_mask(params, gt, labels)
    assert scored[:, 2:6].all() and not scored[:, [0, 1, 6, 7]].any()  # column 1 sees only 1 m


def test_scorer_median_scaled_and_ratio_bins():
    """Twice the GT: AbsRel 1, median-scaled AbsRel 0; pred/gt medians per GT-distance bin."""
    gt = np.full((6, 6), 1.5)
    gt[:, 3:] = 5.0
    pred = gt.copy()
    pred[:, :3] *= 2.0
    scorer = FrameScorer()
    row = scorer.add(gt, depth=2 * gt)
    assert row["abs_rel"] == pytest.approx(1.0) and row["abs_rel_med"] == pytest.approx(0.0)
    assert row["delta1"] == 0.0 and row["delta1_med"] == 1.0
    scorer = FrameScorer()
    scorer.add(gt, depth=pred)
    medians = scorer.summary()
    assert medians[ratio_key(1, 2)] == pytest.approx(2.0, rel=3e-3)
    assert medians[ratio_key(4, 8)] == pytest.approx(1.0, rel=3e-3)
    assert np.isnan(medians[ratio_key(0.3, 1)])


def test_scorer_flying_pixels_of_both_readouts_and_bsds_ap():
    """A mean read-out halfway across a jump flies, the dominant one does not; AP is the BSDS one."""
    params, gt, labels = _two_surfaces()
    mean = gt.copy()
    mean[:, 3:5] = 1.5
    scorer = FrameScorer()
    row = scorer.add(gt, depth=gt, depth_mean=mean, params=params, boundary=labels.astype(float),
                     gt_boundary=labels)
    assert row["flying_rate"] == 0.0 and row["flying_rate_mean_readout"] > 0.3
    assert row["si_boundary_f1"] == 1.0 and row["bimodality"] == 1.0
    summary = scorer.summary()
    assert summary["ap"] == scorer.boundary.result()["ap_bsds"]
    rows = summary_table({"m": summary})
    assert rows[0] == {"metric": "AbsRel", "key": "abs_rel", "m": 0.0}
    assert any(r["metric"] == "AP (BSDS)" for r in rows)


def _mixed_validity_frame():
    """A box in front of a wall beyond max_depth = 20 m, GT holes (NaN, 0) and GT at or below min_depth."""
    rng = np.random.default_rng(7)
    gt = np.full((48, 64), 2.0)
    gt[:, 20:40] = 1.0
    gt[30:, :] = 25.0
    gt += rng.uniform(0, 0.05, gt.shape)
    gt[5:8, 5:8], gt[10, 10:14], gt[12, 50:53] = np.nan, 0.0, 5e-4
    depth = np.where(np.isfinite(gt) & (gt > 0), gt * rng.uniform(0.8, 1.3, gt.shape), 3.0)
    depth[:, 19:21] = 1.5  # floats between the box and the background
    params = np.stack([1 / depth, 1 / np.roll(depth, 2, axis=1), np.full(gt.shape, 0.1), np.full(gt.shape, 0.1),
                       rng.uniform(0, 1, gt.shape)])
    labels = np.zeros(gt.shape, bool)
    labels[:30, [20, 39]] = True
    return gt.astype(np.float32), depth.astype(np.float32), params.astype(np.float32), labels


@pytest.mark.parametrize("align", ["none", "median"])
def test_scorer_masks_derived_once_change_no_number(align):
    """The scorer's shared GT masks give each metric exactly what it derived on its own before.

    Errors score inside the depth limits; flying pixels, mixture health and the GT's edges read
    every GT measurement (here a wall beyond max_depth and GT below min_depth make the two differ).
    """
    gt, depth, params, labels = _mixed_validity_frame()
    mean = 0.5 * (depth + np.roll(depth, 1, axis=1))
    row = FrameScorer(max_depth=20.0, align=align).add(gt, depth=depth, depth_mean=mean, params=params,
                                                       gt_boundary=labels)
    masks = GroundTruthMasks.of(gt, 1e-3, 20.0)
    assert (masks.measured & ~masks.scored).sum() > 100 and not (masks.scored & ~masks.measured).any()
    own = depth_metrics(depth, gt, max_depth=20.0, align=align)
    aligned = depth * own["scale"]
    own |= depth_boundary_error(aligned, depth_edges(gt, log_depth=True), log_depth=True)
    own |= mixture_health(params, gt, labels)
    own |= {k: v for k, v in flying_pixel_rate(aligned, gt).items() if k != "n_band"}
    own["flying_rate_mean_readout"] = flying_pixel_rate(mean * own["scale"], gt)["flying_rate"]
    assert {k: row[k] for k in own} == own
    assert flying_pixel_rate(aligned, gt, gt_measured=masks.scored) != flying_pixel_rate(aligned, gt), \
        "on this frame the limited mask would change the flying pixels: the test would prove nothing"
