"""``modot-eval-bag --scale-topic``: the scale from a sensor recorded in the bag, paired by stamp.

Bags are written with rosbags (``tests.bag_cases``' scene: a step, left half near, right half far)
plus the sensor's topic: a LaserScan (its pose on /tf_static), a Range, or a depth image.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation

from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.bags.scale_topic import RecordedScaleTopic
from modot_ros.evaluation.bag_evaluation import _parser, evaluate_bag, main
from modot_ros.geometry import CameraIntrinsics
from modot_ros.scale import range_beam
from modot_ros.scale.offline import scale_run
from modot_ros.scale.samples import OPTICAL_FROM_BODY
from tests.bag_cases import HEIGHT, WIDTH, case_boundary, case_depth, case_rgb, write_case_bag
from tests.test_bag_eval import ScaledTruth
from tests.test_scale_offline import _args

INTR = CameraIntrinsics(50.0, 50.0, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT)
LASER_AT = np.array([-0.3, 0.0, 0.0])  # optical frame: the lidar 30 cm left of the camera


def _stamp(i: int) -> int:
    return 100_000_000_000 + i * 100_000_000  # the images' stamps, 10 Hz


def _laser_scan(t, header, i: int):
    """A lidar at LASER_AT in the camera's horizontal plane, looking ahead: the step's two planes."""
    angles = np.linspace(-0.5, 0.5, 201)
    ranges = np.full(angles.size, np.inf, np.float32)  # REP 117: no return
    near, far = 2.0 + 0.1 * i, 4.0 + 0.1 * i
    for k, angle in enumerate(angles):
        d = OPTICAL_FROM_BODY @ np.array([math.cos(angle), math.sin(angle), 0.0])
        for depth, side in ((near, -1), (far, 1)):  # near half left of the optical axis (x < 0)
            s = (depth - LASER_AT[2]) / d[2]
            if side * (LASER_AT[0] + s * d[0]) > 0:
                ranges[k] = s
                break
    return t["sensor_msgs/msg/LaserScan"](header=header, angle_min=-0.5, angle_max=0.5, angle_increment=0.005,
                                          time_increment=0.0, scan_time=0.1, range_min=0.1, range_max=30.0,
                                          ranges=ranges, intensities=np.zeros(0, np.float32))


def _tf_static(t, header):
    """laser -> camera_optical_frame: a lidar frame (x ahead, z up) at LASER_AT."""
    x, y, z, w = Rotation.from_matrix(OPTICAL_FROM_BODY).as_quat()
    transform = t["geometry_msgs/msg/Transform"](translation=t["geometry_msgs/msg/Vector3"](*LASER_AT),
                                                 rotation=t["geometry_msgs/msg/Quaternion"](x, y, z, w))
    return t["tf2_msgs/msg/TFMessage"](transforms=[t["geometry_msgs/msg/TransformStamped"](
        header=header, child_frame_id="laser", transform=transform)])


def write_sensor_bag(path, n: int, sensor, storage: str = "mcap"):
    """``n`` frames of the case scene; ``sensor(t, bag, i)`` writes frame i's sensor messages."""
    with GroundTruthBagWriter(path, storage, get_typestore(Stores.ROS2_JAZZY)) as bag:
        for i in range(n):
            bag.write_frame(_stamp(i), case_rgb(i), INTR, case_depth(i), case_boundary(), log_ns=1_000_000_000 + i)
            sensor(bag.typestore.types, bag, i)
    return path


def laser_sensor(t, bag, i: int) -> None:
    if i == 0:
        bag.write("/tf_static", _tf_static(t, bag.header(0)), 1_000_000_000)
    scan = _laser_scan(t, bag.header(_stamp(i) + 20_000_000), i)  # a scan 20 ms after the image
    scan.header.frame_id = "laser"
    bag.write("/lidar/scan", scan, 1_000_000_100 + i)


def evaluate(tmp_path, bag, *flags):
    args = _parser().parse_args([str(bag), *flags])
    run = scale_run(args)
    depth = evaluate_bag(bag, tmp_path / "out", predictor=ScaledTruth(1.3), write_bag=False, progress=False,
                         scale=run, ob_thresholds=5, jobs=1)["depth"]  # the OB metric is not under test
    return depth, run


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_recorded_laser_scan_posed_by_the_bags_tf_makes_the_depth_metric(tmp_path, storage):
    """A lidar 30 cm beside the camera, its pose only on /tf_static: every frame fitted, AbsRel ~0."""
    bag = write_sensor_bag(tmp_path / "in", 3, laser_sensor, storage)
    depth, run = evaluate(tmp_path, bag, "--scale-source", "laser_scan", "--scale-topic", "/lidar/scan",
                          "--scale-max-age", "0.05")
    assert depth["abs_rel"] == pytest.approx(0.0, abs=1e-4)
    assert [s.mode for s in run.states] == ["fit"] * 3
    scan = RecordedScaleTopic(bag, "/lidar/scan", "laser_scan", 0.05).measurement(_stamp(1), "camera_optical_frame")
    pose = scan.T_optical_laser
    assert np.allclose(pose[:3, 3], LASER_AT) and np.allclose(pose[:3, :3], OPTICAL_FROM_BODY)


def test_without_tf_the_laser_extrinsic_flag_places_the_lidar(tmp_path, capsys):
    """No /tf in the bag: one line says so, and --laser-extrinsic (body frame: y left) gives the pose."""
    def no_tf(t, bag, i):
        scan = _laser_scan(t, bag.header(_stamp(i)), i)
        bag.write("/lidar/scan", scan, 1_000_000_100 + i)

    bag = write_sensor_bag(tmp_path / "in", 2, no_tf)
    depth, run = evaluate(tmp_path, bag, "--scale-source", "laser_scan", "--scale-topic", "/lidar/scan",
                          "--laser-extrinsic", "0", "0.3", "0", "0", "0", "0")
    assert depth["abs_rel"] == pytest.approx(0.0, abs=1e-4)
    assert capsys.readouterr().err.count("has no /tf or /tf_static; the lidar pose comes from --laser-extrinsic") == 1


def test_recorded_ranges_pair_by_stamp_and_silent_frames_hold_the_scale(tmp_path, capsys):
    """Ranges 30 ms after frames 0-1 fit; frame 2's is malformed (one line), frame 3's 300 ms late: held."""
    beam = range_beam(1.0, 0.0, 0.25, 0.5, np.zeros(3), INTR)  # beam.z = 1 / |ray|: range = depth / beam.z

    def sonar(t, bag, i):
        late = 300_000_000 if i == 3 else 30_000_000
        bag.write("/sonar", t["sensor_msgs/msg/Range"](
            header=bag.header(_stamp(i) + late), radiation_type=0, field_of_view=float("nan") if i == 2 else 0.1,
            min_range=0.05, max_range=10.0, range=float(case_depth(i)[24, 16] / beam.z), variance=0.0),
            1_000_000_100 + i)

    bag = write_sensor_bag(tmp_path / "in", 4, sonar)
    depth, run = evaluate(tmp_path, bag, "--scale-source", "range", "--scale-topic", "/sonar",
                          "--range-pixel", "0.25", "0.5", "--scale-max-age", "0.05")
    assert depth["abs_rel"] == pytest.approx(0.0, abs=1e-4)
    assert [s.mode for s in run.states] == ["fit", "fit", "held", "held"]
    err = capsys.readouterr().err
    assert err.count("scale topic /sonar (range): field_of_view=nan must be the cone's full angle") == 1
    assert err.count("no message within --scale-max-age 0.05 s of image stamp 100300000000 (nearest 0.300 s") == 1


def test_a_recorded_depth_image_is_a_sparse_depth_source(tmp_path):
    """A registered depth image recorded next to the ground truth (auto-detection keeps the GT)."""
    bag = write_case_bag(tmp_path / "in", n=3, extra_topics=("/stereo/depth",))
    depth, run = evaluate(tmp_path, bag, "--scale-source", "sparse_depth", "--scale-topic", "/stereo/depth")
    assert depth["abs_rel"] == pytest.approx(0.0, abs=1e-4)
    assert [s.mode for s in run.states] == ["fit"] * 3


@pytest.mark.parametrize("flags, message", [
    (["--scale-source", "range", "--scale-topic", "/nope"],
     "--scale-topic /nope: topic /nope (--scale-topic, --scale-source range) is not in the bag; it has: "),
    (["--scale-source", "laser_scan", "--scale-topic", "/camera/image_raw"],
     "is sensor_msgs/msg/Image, expected sensor_msgs/msg/LaserScan"),
    (["--scale-source", "camera_height", "--camera-height", "1", "--scale-topic", "/camera/image_raw"],
     "--scale-topic needs --scale-source sparse_depth, laser_scan, range, not camera_height"),
    (["--scale-source", "range", "--range-offset", "0", "0", "-0.1"],
     "--range-offset is for a recorded Range (--scale-topic)"),
])
def test_bad_scale_topic_flags_are_one_line(tmp_path, capsys, flags, message):
    bag = write_case_bag(tmp_path / "in", n=1)
    assert main([str(bag), "--output", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_training_evaluation_has_no_bag_topic_to_read():
    """training.evaluate takes the same flags, but there is no bag: the flag says what to use instead."""
    with pytest.raises(ValueError, match="--scale-topic reads a topic of the evaluated bag .* --scale-sample"):
        scale_run(_args("--scale-source", "range", "--scale-topic", "/sonar"), independent=True)
