"""Offline bag evaluation (``modot-eval-bag``) on constructed rosbag2 files, mcap and sqlite3.

The predictor argument gets an estimator-like object whose output is the ground truth times a
known scale, so every metric has a value computed by hand.
"""
import json
import shutil

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin
from rosbags.typesys import Stores

from modot_ros.evaluation.bag_evaluation import evaluate_bag, main
from modot_ros.bags.io import open_bag
from modot_ros.inference import Prediction
from modot_ros.pipeline.messages import camera_info_to_intrinsics, image_to_depth_metres
from tests.bag_cases import HEIGHT, WIDTH, case_boundary, case_depth, write_case_bag


class ScaledTruth:
    """Predicts depth = scale x ground truth and a perfect boundary map (frame id in pixel (0, 0))."""

    def __init__(self, scale: float = 1.0):
        self.scale, self.calls = scale, []

    def predict_batch(self, images, intrinsics, batch_size=8):
        self.calls.append(len(images))
        out = []
        for image, intr in zip(images, intrinsics):
            depth = case_depth(int(image[0, 0, 0]), *image.shape[:2]) * self.scale
            boundary = (case_boundary(*image.shape[:2]) > 0).astype(np.float32)
            out.append(Prediction(depth, depth, boundary, np.ones_like(depth), np.zeros_like(depth),
                                  None, None, intr))
        return out


@pytest.fixture(params=["mcap", "sqlite3"])
def storage(request):
    return request.param


def test_perfect_prediction_scores_perfect_and_writes_node_topics(tmp_path, storage):
    """A prediction equal to the ground truth scores perfectly, in batches, in both storage formats."""
    bag = write_case_bag(tmp_path / "in", n=5, storage=storage)
    predictor = ScaledTruth(1.0)
    summary = evaluate_bag(bag, tmp_path / "out", predictor=predictor, batch_size=2, progress=False)
    assert predictor.calls == [2, 2, 1]
    depth = summary["depth"]
    assert depth["abs_rel"] == 0 and depth["rmse"] == 0 and depth["delta1"] == 1 and depth["coverage"] == 1
    assert depth["flying_rate"] == 0 and depth["dbe_acc"] == 0
    # NMS leaves the top/bottom border rows out, hence not exactly 1
    assert summary["boundary"]["ods_f"] > 0.95 and summary["n_frames"] == 5
    json.loads((tmp_path / "out" / "metrics.json").read_text(), parse_constant=pytest.fail)
    with open_bag(tmp_path / "out" / "output_bag") as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        con = next(c for c in reader.connections if c.topic == "/depth/image")
        first = next(reader.messages(connections=[con]))
        depth0 = image_to_depth_metres(reader.deserialize(first[2], con.msgtype))
    assert {t: counts.get(t) for t in ("/depth/image", "/depth/camera_info", "/occlusion/boundary",
                                       "/occlusion/mask", "/depth/confidence", "/points", "/camera/image_raw",
                                       "/camera/camera_info", "/depth_boundary")} == dict.fromkeys(
        ("/depth/image", "/depth/camera_info", "/occlusion/boundary", "/occlusion/mask", "/depth/confidence",
         "/points", "/camera/image_raw", "/camera/camera_info", "/depth_boundary"), 5)
    assert np.nanmax(np.abs(depth0 - case_depth(0))) == 0 or np.isnan(depth0).any()
    for name in ("report.md", "report.html", "plots/pr_curve.png", "plots/error_vs_distance.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert len(list((tmp_path / "out" / "panels").glob("*.png"))) == 4


def test_constant_scale_error_gives_the_hand_computed_metrics(tmp_path):
    """Depth 1.3 x truth: AbsRel 0.3, RMSE 0.3 x RMS(gt) per frame, delta1 0, delta2 1; median alignment: 0."""
    bag = write_case_bag(tmp_path / "in", n=3)
    depth = evaluate_bag(bag, tmp_path / "out", predictor=ScaledTruth(1.3), write_bag=False,
                         progress=False)["depth"]
    expected_rmse = np.mean([0.3 * np.sqrt(np.mean(case_depth(i).astype(np.float64) ** 2)) for i in range(3)])
    assert depth["abs_rel"] == pytest.approx(0.3, abs=1e-6)
    assert depth["rmse"] == pytest.approx(expected_rmse, rel=1e-5)
    assert depth["delta1"] == pytest.approx(0.0) and depth["delta2"] == 1.0
    aligned = evaluate_bag(bag, tmp_path / "aligned", predictor=ScaledTruth(1.3), align="median",
                           write_bag=False, progress=False)["depth"]
    assert aligned["abs_rel"] == pytest.approx(0.0, abs=1e-6)


def test_millimetre_ground_truth_and_humble_sqlite_bag(tmp_path):
    """16UC1 millimetre ground truth in a Humble-typestore sqlite3 bag is read as metres."""
    bag = write_case_bag(tmp_path / "in", n=2, storage="sqlite3", distro=Stores.ROS2_HUMBLE, depth_encoding="16UC1")
    summary = evaluate_bag(bag, tmp_path / "out", predictor=ScaledTruth(1.0), write_bag=False, progress=False)
    assert summary["depth"]["abs_rel"] == pytest.approx(0.0, abs=1e-6)
    assert summary["run"]["topics"]["gt_depth"] == "/camera/depth/ground_truth"


def test_real_estimator_runs_through_the_cli_with_ply_export(tmp_path, monkeypatch):
    """The real estimator (random weights) goes through the CLI; a PLY of the chosen frame appears."""
    from modot_ros.evaluation import bag_evaluation as bag_eval
    from modot_ros.config import ModelConfig
    from modot_ros.inference import DepthBoundaryEstimator

    config = ModelConfig(pretrained_encoder=False, input_height=48, input_width=64)
    estimator = DepthBoundaryEstimator.from_random(config, device="cpu")
    monkeypatch.setattr(bag_eval, "load_predictor", lambda *a, **k: estimator)
    bag = write_case_bag(tmp_path / "in", n=2)
    assert main([str(bag), "-o", str(tmp_path / "out"), "--ply", "1", "--no-output-bag"]) == 0
    header = (tmp_path / "out" / "ply" / "frame_00001.ply").read_bytes().split(b"end_header")[0].decode()
    assert "format binary_little_endian" in header
    count = int(header.split("element vertex ")[1].split()[0])
    assert 0 < count <= HEIGHT * WIDTH
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["n_frames"] == 2


def _cli_error(capsys, args) -> str:
    assert main([str(a) for a in args]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(lines) == 1
    return lines[0]


def test_missing_and_ambiguous_topics_are_named(tmp_path, capsys):
    """A missing topic or two candidate ground truths: one line naming them and the flag to use."""
    bag = write_case_bag(tmp_path / "in", n=1, extra_topics=("/other/depth/ground_truth",))
    out = tmp_path / "out"
    line = _cli_error(capsys, [bag, "-o", out, "--image", "/nope"])
    assert "/nope" in line and "--image" in line
    line = _cli_error(capsys, [bag, "-o", out])
    assert "/camera/depth/ground_truth" in line and "/other/depth/ground_truth" in line and "--gt-depth" in line


def test_no_camera_info_needs_intrinsics(tmp_path, capsys):
    """Without camera_info the user is told to pass --intrinsics, which then works."""
    bag = write_case_bag(tmp_path / "in", n=2, camera_info=False)
    assert "camera_info" in _cli_error(capsys, [bag, "-o", tmp_path / "a", "--no-output-bag"])
    summary = evaluate_bag(bag, tmp_path / "b", predictor=ScaledTruth(), intrinsics=(50.0, 50.0, 31.5, 23.5),
                           progress=False)
    assert summary["n_frames"] == 2
    with open_bag(tmp_path / "b" / "output_bag") as reader:
        con = next(c for c in reader.connections if c.topic == "/depth/camera_info")
        info = reader.deserialize(next(reader.messages(connections=[con]))[2], con.msgtype)
    assert camera_info_to_intrinsics(info).cx == 31.5


def test_unsupported_image_encoding_is_named(tmp_path, capsys):
    """An image topic in a depth encoding is refused with the encoding in the message."""
    bag = write_case_bag(tmp_path / "in", n=1, image_encoding="16UC1", depth_encoding=None)
    line = _cli_error(capsys, [bag, "-o", tmp_path / "a", "--image", "/camera/image_raw", "--no-output-bag"])
    assert "16UC1" in line and "frame 0" in line


def test_size_mismatch_midway_keeps_earlier_frames(tmp_path, capsys):
    """Ground truth of the wrong size at frame 3: exit 2 naming it, frames 0-2 stay in the report."""
    bag = write_case_bag(tmp_path / "in", n=5, bad_from=3)
    from modot_ros.evaluation import bag_evaluation as bag_eval

    real = bag_eval.load_predictor
    bag_eval.load_predictor = lambda *a, **k: ScaledTruth()
    try:
        line = _cli_error(capsys, [bag, "-o", tmp_path / "out", "--batch-size", "2"])
    finally:
        bag_eval.load_predictor = real
    assert "32x24" in line and "64x48" in line
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["n_frames"] == 3 and report["run"]["error"] and report["depth"]["abs_rel"] == 0


def _cut(bag, fraction: float) -> None:
    """Keep the first ``fraction`` of the bag's storage file, as a recorder that lost power leaves it."""
    data = next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))
    data.write_bytes(data.read_bytes()[: int(data.stat().st_size * fraction)])


@pytest.mark.parametrize("damage", ["header_only", "missing"])
def test_unreadable_or_missing_bag_is_one_line(tmp_path, capsys, storage, damage):
    """A storage file cut before its first message, or a wrong path: one line naming the bag, exit 2."""
    bag = write_case_bag(tmp_path / "in", n=3, storage=storage)
    if damage == "header_only":
        _cut(bag, 0.001)
    else:
        shutil.rmtree(bag)
    line = _cli_error(capsys, [bag, "-o", tmp_path / "out"])
    assert str(bag) in line
    assert ("no message could be recovered" if damage == "header_only" else "does not exist") in line


def test_truncated_bag_keeps_its_readable_frames(tmp_path, capsys, storage, monkeypatch):
    """A bag cut at 60 % is evaluated up to the cut: the report says so, one warning line, exit 0."""
    bag = write_case_bag(tmp_path / "in", n=20, storage=storage)
    _cut(bag, 0.6)
    monkeypatch.setattr("modot_ros.evaluation.bag_evaluation.load_predictor", lambda *a, **k: ScaledTruth())
    out = tmp_path / "out"
    assert main([str(bag), "-o", str(out), "--ob-thresholds", "9"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("modot-eval-bag")]
    report = json.loads((out / "metrics.json").read_text())
    n = report["n_frames"]
    assert 9 <= n <= 12, n  # 60 % of 20 frames, less the frame the cut went through
    assert warnings == [f"modot-eval-bag: warning: {report['run']['damaged']}"]
    assert f"bag {bag} cannot be opened (truncated or corrupt?)" in warnings[0]
    assert f"{n} frames evaluated from its readable part" in warnings[0]
    assert report["depth"]["abs_rel"] == 0  # the recovered frames are whole, ground truth included
    assert "damaged bag" in (out / "report.md").read_text()
    with open_bag(out / "output_bag") as reader:
        assert {c.topic: c.msgcount for c in reader.connections}["/depth/image"] == n


def test_truncated_compressed_mcap_reads_into_its_cut_chunk(tmp_path):
    """zstd chunks, as ros2 bag record writes them: messages of the chunk the cut went through are kept."""
    from rosbags.rosbag2 import CompressionFormat, CompressionMode, Writer
    from rosbags.typesys import get_typestore

    from modot_ros.bags.recovery import recover_bag

    typestore = get_typestore(Stores.ROS2_JAZZY)
    rng = np.random.default_rng(0)
    writer = Writer(tmp_path / "zstd", version=8, storage_plugin=StoragePlugin.MCAP)
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        con = writer.add_connection("/raw", "std_msgs/msg/UInt8MultiArray", typestore=typestore)
        msg = typestore.types["std_msgs/msg/UInt8MultiArray"]
        layout = typestore.types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
        for i in range(20):  # 600 kB: one chunk (rosbags closes chunks at 1 MiB)
            noise = rng.integers(0, 256, 30_000, dtype=np.uint8)  # incompressible: the cut lands mid-chunk
            writer.write(con, i, typestore.serialize_cdr(msg(layout=layout, data=noise), msg.__msgtype__))
    _cut(tmp_path / "zstd", 0.6)
    recovered = recover_bag(tmp_path / "zstd", tmp_path / "rebuilt", "cut")
    assert 8 <= recovered.messages <= 12, recovered.messages


def test_compressed_bag_evaluates_and_replays_its_compressed_image(tmp_path):
    """png colour + compressedDepth 32FC1 GT: scored within the GT's quantisation, output bag keeps the input."""
    bag = write_case_bag(tmp_path / "in", n=3, image_codec="png", compressed_depth=True)
    summary = evaluate_bag(bag, tmp_path / "out", predictor=ScaledTruth(1.0), progress=False)
    assert summary["n_frames"] == 3 and summary["run"]["topics"]["image"] == "/camera/image_raw/compressed"
    assert summary["depth"]["abs_rel"] < 5e-4 and summary["depth"]["delta1"] == 1
    with open_bag(tmp_path / "out" / "output_bag") as reader:
        types = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
    assert types["/camera/image_raw/compressed"] == ("sensor_msgs/msg/CompressedImage", 3)
    assert types["/depth/image"] == ("sensor_msgs/msg/Image", 3)
