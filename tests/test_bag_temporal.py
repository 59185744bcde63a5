"""``modot-eval-bag --temporal-filter`` and the flicker measure on a constructed bag with /tf."""
from __future__ import annotations

import numpy as np
import pytest

from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.evaluation.bag_evaluation import evaluate_bag, main
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import Prediction
from modot_ros.temporal.settings import TemporalSettings

INTR = CameraIntrinsics(fx=60.0, fy=60.0, cx=39.5, cy=29.5, width=80, height=60)
FRAMES, NOISE = 20, 0.03


def _pose(i: int) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (0.02 * i, 0.0, 0.04 * i)  # forward and sideways: a robot at ~1.3 m/s, 30 Hz
    return T


def _gt(i: int) -> np.ndarray:
    """A wall at z = 4 m (odom) seen from frame i's camera."""
    return np.full((INTR.height, INTR.width), 4.0 - _pose(i)[2, 3], np.float32)


class NoisyTruth:
    """The GT with fresh 3 % noise per frame (frame index in pixel (0, 0)), claiming 5x that as the network does."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def predict_batch(self, images, intrinsics, batch_size=8):
        out = []
        for image, intr in zip(images, intrinsics):
            depth = (_gt(int(image[0, 0, 0])) * np.exp(self.rng.normal(0, NOISE, (INTR.height, INTR.width))))
            depth = depth.astype(np.float32)
            out.append(Prediction(depth, depth, np.zeros_like(depth), np.full_like(depth, 0.9), np.zeros_like(depth),
                                  5 * NOISE * depth, None, intr))
        return out


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("temporal") / "bag"
    with GroundTruthBagWriter(path) as writer:
        for i in range(FRAMES):
            rgb = np.zeros((INTR.height, INTR.width, 3), np.uint8)
            rgb[0, 0, 0] = i
            writer.write_frame(1_700_000_000_000_000_000 + i * 33_333_333, rgb, INTR, _gt(i), pose=_pose(i))
    return path


def test_flicker_is_reported_and_odometry_fusion_cuts_it(bag, tmp_path):
    """The bag's /tf gives the flicker measure; odometry fusion cuts it 3x; static lags a moving camera."""
    runs = {mode: evaluate_bag(bag, tmp_path / mode, predictor=NoisyTruth(), write_bag=False, ob_thresholds=3,
                               temporal=TemporalSettings(temporal_filter=mode), progress=False)
            for mode in ("off", "static", "odometry")}
    flicker = {mode: run["flicker"]["flicker"] for mode, run in runs.items()}
    abs_rel = {mode: run["depth"]["abs_rel"] for mode, run in runs.items()}
    assert all(run["flicker"]["flicker_pairs"] == FRAMES - 1 for run in runs.values())
    assert 0.025 < flicker["off"] < 0.045  # E|N(0, 0.03 sqrt 2)| = 0.034
    assert flicker["odometry"] < flicker["off"] / 3 and abs_rel["odometry"] < 0.8 * abs_rel["off"]
    assert runs["odometry"]["run"]["temporal"]["frames_fused"] == FRAMES - 1
    # the still-camera filter on a camera closing in on a wall 1 % a frame (below its gate) lags behind:
    # the documented reason to use odometry (or off) on a moving robot
    assert abs_rel["static"] > 1.2 * abs_rel["off"]
    assert "Flicker" in (tmp_path / "odometry" / "report.md").read_text()


def test_cli_flag_and_a_bad_value(bag, tmp_path, capsys):
    """--temporal-filter reaches the run; an unknown mode is refused by argparse with one line."""
    with pytest.raises(SystemExit):
        main([str(bag), "--temporal-filter", "kalman", "--output", str(tmp_path / "x")])
    assert "invalid choice: 'kalman'" in capsys.readouterr().err
