"""OB metrics: BSDS ODS / OIS / AP, thinning and one-to-one matching (modot.md §4.2)."""
import numpy as np
import pytest
from skimage.morphology import thin as skimage_thin

from modot_ros.evaluation import BoundaryEvaluator, boundary_nms, match_counts, thin


def _rectangle_outline(shape=(96, 128), top=20, left=25, bottom=70, right=100):
    gt = np.zeros(shape, bool)
    gt[top, left:right + 1] = gt[bottom, left:right + 1] = True
    gt[top:bottom + 1, left] = gt[top:bottom + 1, right] = True
    return gt


def test_sparse_thinning_equals_skimage():
    """Our fast thinning must give exactly skimage's (bwmorph 'thin') result."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        mask = rng.random((30, 40)) > rng.uniform(0.2, 0.8)
        np.testing.assert_array_equal(thin(mask), skimage_thin(mask))


def test_perfect_prediction_scores_one():
    """A prediction equal to the GT boundary gets ODS = OIS = AP = 1 (with NMS)."""
    gt = _rectangle_outline()
    ev = BoundaryEvaluator()
    ev.add(gt.astype(float), gt)
    ev.add(_rectangle_outline(top=10, left=8).astype(float), _rectangle_outline(top=10, left=8))
    res = ev.result()
    assert res["ods_f"] == pytest.approx(1.0, abs=0.01)
    assert res["ois_f"] == pytest.approx(1.0, abs=0.01)
    assert res["ap"] == pytest.approx(1.0, abs=0.01)
    assert res["precision"].shape == res["recall"].shape == (99,)


@pytest.mark.parametrize("shift, expected_f", [(0, 1.0), (1, 1.0), (2, 0.0)])
def test_shifted_boundary_within_and_outside_tolerance(shift, expected_f):
    """A boundary k px off matches iff k <= 0.0075 x diagonal (1.2 px at 96x128)."""
    gt = np.zeros((96, 128), bool)
    gt[10:90, 60] = True
    pred = np.zeros_like(gt, float)
    pred[10:90, 60 + shift] = 0.9
    ev = BoundaryEvaluator(nms=False)
    ev.add(pred, gt)
    assert ev.result()["ods_f"] == pytest.approx(expected_f)


def test_matching_is_one_to_one():
    """Two predicted lines near one GT line: only one is matched, so precision = 0.5."""
    gt = np.zeros((40, 40), bool)
    gt[5:35, 20] = True
    pred = np.zeros((40, 40))
    pred[5:35, 19] = pred[5:35, 21] = 0.8
    counts = match_counts(pred, gt, np.array([0.5]), max_dist=3.0)
    assert counts.tolist() == [[30, 30, 30, 60]]


def test_ods_and_ois_aggregate_counts_over_images():
    """ODS picks one threshold for all images; OIS one per image, so OIS >= ODS."""
    gt = np.zeros((96, 128), bool)
    gt[10:90, 60] = True
    weak, strong = np.zeros((96, 128)), np.zeros((96, 128))
    weak[10:90, 60], strong[10:90, 60] = 0.3, 0.9
    strong[10:90, 100] = 0.5  # a false positive only above threshold 0.5
    ev = BoundaryEvaluator(nms=False)
    ev.add(weak, gt)
    ev.add(strong, gt)
    res = ev.result()
    assert res["ois_f"] == pytest.approx(1.0)
    assert res["ods_f"] < res["ois_f"]
    # a resample of the images (the gate-noise bootstrap): both is the ODS; either alone has its own threshold
    assert ev.ods_of(np.array([0, 1])) == pytest.approx(res["ods_f"])
    assert ev.ods_of(np.array([0, 0])) == pytest.approx(1.0) == ev.ods_of(np.array([1, 1]))


def test_nms_thins_a_blurred_ridge_to_its_centre():
    """NMS keeps the ridge line of a blurred boundary and suppresses its flanks."""
    x = np.arange(64)
    prob = np.tile(np.exp(-0.5 * ((x - 32) / 2.0) ** 2), (48, 1))
    out = boundary_nms(prob)
    kept_cols = np.unique(np.nonzero(out[10:38] > 0.05)[1])
    assert set(kept_cols) <= {31, 32, 33} and 32 in kept_cols


def test_bad_input_raises():
    """Logits or mismatched shapes are rejected with a message saying what to do."""
    ev = BoundaryEvaluator()
    with pytest.raises(ValueError, match="sigmoid"):
        ev.add(np.full((8, 8), 3.0), np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match="resize"):
        ev.add(np.zeros((8, 8)), np.zeros((8, 9), bool))
    with pytest.raises(ValueError, match="before any add"):
        ev.result()


def _frames(rng):
    """Probability maps of the kinds the protocol meets: noisy ridges, a flat map NMS keeps whole."""
    h, w = 72, 96
    yy, xx = np.mgrid[0:h, 0:w]
    ridge = np.exp(-0.5 * ((xx - 40 - 6 * np.sin(yy / 9)) / 2.0) ** 2)
    noisy = np.clip(0.8 * ridge + 0.3 * rng.random((h, w)) ** 4, 0, 1)
    flat = np.full((h, w), 0.513) + 1e-4 * rng.random((h, w))
    gt = np.abs(xx - 40 - 6 * np.sin(yy / 9)) < 0.6
    return [(noisy, gt), (flat, gt), (rng.random((h, w)), rng.random((h, w)) < 0.05)]


@pytest.mark.parametrize("quantize, jobs", [(True, 1), (False, 1), (True, 2)])
def test_fast_matching_equals_the_first_implementation(rng, quantize, jobs):
    """Thinning each distinct map once, pairing only thinned pixels, in worker processes or not: exact counts."""
    from tests.bsds_reference import reference_match_counts
    thresholds = np.linspace(1, 99, 99) / 100
    for prob, gt in _frames(rng):
        edge_map = boundary_nms(prob)
        edge_map = np.round(edge_map * 255) / 255 if quantize else edge_map
        for max_dist in (1.5, 4.0):
            np.testing.assert_array_equal(match_counts(edge_map, gt, thresholds, max_dist, jobs),
                                          reference_match_counts(edge_map, gt, thresholds, max_dist))


def test_work_list_thinning_equals_the_first_implementation(rng):
    """Solid blobs (hundreds of sub-iterations) and scattered masks thin exactly as before."""
    from tests.bsds_reference import reference_thin
    blob = np.zeros((60, 90), bool)
    blob[5:55, 8:85] = True
    masks = [blob, ~blob] + [rng.random((50, 70)) > rng.uniform(0.05, 0.95) for _ in range(10)]
    for mask in masks:
        np.testing.assert_array_equal(thin(mask), reference_thin(mask))


def test_thinning_by_levels_equals_thinning_each_map(rng):
    """Re-thinning only the components that lost pixels gives every level's full thinning."""
    from modot_ros.evaluation.thinning import thin_levels
    levels = np.array([0.3, 0.01, 0.5, 0.2, 0.7, 0.99, 0.21])  # any order, as callers pass them
    for prob, _ in _frames(rng):
        edge_map = np.round(boundary_nms(prob) * 255) / 255
        for values in (edge_map, prob):
            for t, pixels in zip(levels, thin_levels(values, levels)):
                np.testing.assert_array_equal(pixels, np.flatnonzero(thin(values >= t)))


def test_a_new_job_count_shuts_the_previous_worker_pool_down():
    """--jobs 2 then --jobs 3 in one process leaves one pool, not an idle one beside it."""
    from modot_ros.evaluation import boundary_bsds

    first = boundary_bsds._workers(2)
    assert boundary_bsds._workers(2) is first
    second = boundary_bsds._workers(3)
    assert second is not first
    with pytest.raises(RuntimeError, match="shutdown"):
        first.submit(int)
    second.shutdown()
