"""The node's metric scale in offline evaluation: ``modot-eval-bag`` and ``training.evaluate`` flags."""
import argparse

import numpy as np
import pytest

from modot_ros.evaluation.bag_evaluation import evaluate_bag, main
from modot_ros.inference import Prediction
from modot_ros.scale.offline import add_scale_arguments, scale_run
from tests.bag_cases import write_case_bag
from tests.test_bag_eval import ScaledTruth
from tests.test_scale import INTR, _floor


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_scale_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("sample", ["points:50", "lidar_row"])
def test_a_bag_evaluated_with_sparse_depth_from_its_ground_truth_is_metric(tmp_path, sample):
    """A prediction 1.3x too far scores AbsRel 0.3 alone and ~0 with sparse GT samples (no noise)."""
    bag = write_case_bag(tmp_path / "in", n=3)
    run = scale_run(_args("--scale-source", "sparse_depth", "--scale-sample", sample, "--scale-noise", "0"))
    depth = evaluate_bag(bag, tmp_path / "out", predictor=ScaledTruth(1.3), write_bag=False, progress=False,
                         scale=run)["depth"]
    assert depth["abs_rel"] == pytest.approx(0.0, abs=1e-4)
    assert [s.mode for s in run.states] == ["fit"] * 3


def test_a_range_beam_from_the_ground_truth(tmp_path):
    bag = write_case_bag(tmp_path / "in", n=2)
    """A beam off the case's occlusion boundary (the centre column) sets the scale alone."""
    run = scale_run(_args("--scale-source", "range", "--range-pixel", "0.25", "0.5", "--scale-noise", "0"))
    depth = evaluate_bag(bag, tmp_path / "out", predictor=ScaledTruth(0.5), write_bag=False, progress=False,
                         scale=run)["depth"]
    assert depth["abs_rel"] == pytest.approx(0.0, abs=1e-4)


def test_the_cli_refuses_camera_height_without_a_height(tmp_path, capsys):
    """Bags carry no camera height: one line naming the flag, exit 2."""
    bag = write_case_bag(tmp_path / "in", n=1)
    assert main([str(bag), "--output", str(tmp_path / "o"), "--scale-source", "camera_height"]) == 2
    assert "--camera-height" in capsys.readouterr().err
    assert main([str(bag), "--output", str(tmp_path / "o"), "--scale-source", "sparse_depth",
                 "--scale-sample", "rows"]) == 2
    assert "allowed: beam, lidar_row, points:N" in capsys.readouterr().err


def test_independent_frames_use_each_frames_own_camera_height():
    """training.evaluate: synthetic frames know their height; each gets a fresh engine with it."""
    run = scale_run(_args("--scale-source", "camera_height"), independent=True)
    for height in (0.5, 1.1):
        gt = _floor(height, 0.0)
        pred = Prediction(gt * 2, gt * 2, None, None, None, None, None, INTR)
        out = run.apply(pred, gt, 0.0, 0, height=height, up=(0.0, -1.0, 0.0))
        assert np.nanmedian(out.depth / gt) == pytest.approx(1.0, abs=0.01)
    assert [s.mode for s in run.states] == ["fit", "fit"]
