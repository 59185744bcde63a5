"""``modot-adapt``: a recording -> adapted weights + report, held out by time, gated, in one line.

The recording is a small bag written from the engine (a camera moving through one scene): colour,
camera_info, registered depth, a LaserScan (the camera's horizontal plane, pose on /tf_static) and
/tf odometry, so every supervision kind the command detects is in it. The network is the tiny test
model trained two steps; budgets are a few steps, so these tests check the plumbing, the split,
the gate and the files, not accuracy (docs/experiments: entry 16 measures that).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from modot_ros.bags.ground_truth import GroundTruthBagWriter
from modot_ros.checkpoint import load_checkpoint
from modot_ros.geometry import CameraIntrinsics
from tests.train_cases import tiny_caches, write_config  # noqa: F401  (fixture)
from tests.video_cases import PERIOD_NS, SEED, START_NS, _write_tf
from training import adapt
from training.data.frames import DataError
from training.data.recording import read_recording, split_by_time
from training.data.resolution import nearest_surface_resize
from training.losses.common import sample_balanced_weights
from training.losses.mixture import assigned_mixture_loss

N_FRAMES, HEIGHT, WIDTH = 12, 48, 64


@pytest.fixture(scope="module")
def robot_bag(tmp_path_factory):
    from training.data.synth.api import render_seeds

    path = tmp_path_factory.mktemp("adapt") / "robot.mcap"
    out = render_seeds([SEED] * N_FRAMES, HEIGHT, WIDTH, frames=list(range(N_FRAMES)))
    with GroundTruthBagWriter(path, frame_id="camera_optical_frame") as bag:
        _write_tf(bag, N_FRAMES, SEED, static=True)
        bag.write_laser_pose(START_NS)
        for i in range(N_FRAMES):
            k = out["K"][i].double().numpy()
            intr = CameraIntrinsics(k[0, 0], k[1, 1], k[0, 2], k[1, 2], WIDTH, HEIGHT)
            depth = out["depth"][i, 0].numpy()
            stamp = START_NS + i * PERIOD_NS
            bag.write_frame(stamp, out["rgb"][i].permute(1, 2, 0).numpy(), intr, depth)
            bag.write_scan(stamp + 5_000_000, depth, intr, noise=0.0)
    return path


@pytest.fixture(scope="module")
def tiny_init(tmp_path_factory, tiny_caches):  # noqa: F811
    from training.config import load_config
    from training.trainer import train

    root = tmp_path_factory.mktemp("init")
    config = load_config(write_config(root / "c.yaml", tiny_caches, schedule={"max_steps": 2}))
    return train(config, root / "run")


def _run(tmp_path, bag, init, caches, *flags) -> tuple[int, dict]:
    import json

    code = adapt.main([str(bag), "--output", str(tmp_path / "out"), "--init", str(init), "--steps", "2",
                       "--threads", "1", "--replay-cache", str(caches[0]), "--replay-video-cache", str(caches[0]),
                       "--val-cache", str(caches[1]), "--val-frames", "2", "--replay-scenes", "2", *flags])
    report = tmp_path / "out" / "adapt_report.json"
    return code, json.loads(report.read_text()) if report.exists() else {}


def test_adapt_from_a_bag_in_one_line_picks_depth_holds_out_the_tail_and_writes_a_report(
        tmp_path, robot_bag, tiny_init, tiny_caches):  # noqa: F811
    code, report = _run(tmp_path, robot_bag, tiny_init, tiny_caches, "--force", "--gap", "0.15")
    assert code == 0
    assert report["recording"]["supervision"] == "depth" and report["recording"]["depth"] == "dense"
    split = report["split"]
    assert split["heldout_frames"] >= 2 and split["train_frames"] + split["heldout_frames"] < N_FRAMES  # the gap
    assert 0 < split["train_until_s"] < split["heldout_from_s"] < N_FRAMES / 30
    assert report["steps"] == 2 and report["seconds_per_step"] > 0
    held = report["heldout"]["summary"]
    assert {"before", "after", "constant", "row prior"} <= set(held)
    assert (tmp_path / "out" / "heldout" / "real_frames.md").exists()
    assert list((tmp_path / "out" / "heldout").glob("real_*.png"))  # panels beside the numbers
    # --force writes even when the gate says no; the weights record how they were adapted
    weights = load_checkpoint(tmp_path / "out" / "modot_adapted.pt")
    assert weights.training_config["adaptation"]["split"]["heldout_frames"] == split["heldout_frames"]
    # the training part never holds a held-out frame
    trained = {p.stem for p in (tmp_path / "out" / "train_frames" / "rgb").iterdir()}
    assert not trained & set(split["heldout_names"])
    # supervised: the replayed engine frames are supervised anyway; the video-only term stays off
    config = load_checkpoint(tmp_path / "out" / "run" / "final.pt").training_config
    assert config["loss"]["replay_depth_weight"] == 0
    assert config["optim"]["freeze_norm_stats"] is True  # the default since experiment log 22
    folder = [src for src in config["data"]["sources"] if src["kind"] == "folder"][0]
    assert folder["ob"] == "none"  # the recording trains depth; the engine's exact labels teach OB (log 25)


def test_the_gate_keeps_the_old_weights_with_one_line(tmp_path, robot_bag, tiny_init,
                                                      tiny_caches, capsys):  # noqa: F811
    code, report = _run(tmp_path, robot_bag, tiny_init, tiny_caches, "--boundaries-from-depth")
    assert code == 0
    config = load_checkpoint(tmp_path / "out" / "run" / "final.pt").training_config
    # asked for: dense depth labels its own occlusion boundaries too
    assert [src["ob"] for src in config["data"]["sources"] if src["kind"] == "folder"] == ["from_depth"]
    if report["gate"]["passed"]:  # two steps of a tiny model may by chance help; then the file is there
        assert (tmp_path / "out" / "modot_adapted.pt").exists()
    else:
        assert not (tmp_path / "out" / "modot_adapted.pt").exists()
        assert "weights not written" in capsys.readouterr().err


def test_scan_supervision_projects_the_lidar_into_sparse_rows(tmp_path, robot_bag, tiny_init,
                                                              tiny_caches):  # noqa: F811
    code, report = _run(tmp_path, robot_bag, tiny_init, tiny_caches, "--supervision", "scan")
    assert code == 0
    rec = report["recording"]
    assert rec["supervision"] == "scan" and rec["depth"] == "sparse"
    assert rec["scan_pose"]["tf"] > 0  # the scan's pose came from the bag's /tf_static
    depth = np.load(next((tmp_path / "out" / "train_frames" / "depth").glob("*.npy")))
    rows = np.unique(np.nonzero(np.isfinite(depth))[0])
    assert rows.size <= 2 and np.isfinite(depth).sum() > 10  # one row (rounding may split it)


def test_tf_supervision_trains_self_supervised_on_the_training_part(
        tmp_path, robot_bag, tiny_init, tiny_caches):  # noqa: F811
    """Video from the bag's first part, motion from /tf; replay depth, BN statistics, depth pull as asked."""
    code, report = _run(tmp_path, robot_bag, tiny_init, tiny_caches, "--supervision", "tf",
                        "--replay-depth-weight", "0.5", "--no-freeze-norm-stats", "--start-decay-depth", "0")
    assert code == 0
    config = load_checkpoint(tmp_path / "out" / "run" / "final.pt").training_config
    assert config["run"]["supervision"] == "self_supervised"
    assert config["loss"]["replay_depth_weight"] == 0.5 and config["optim"]["freeze_norm_stats"] is False
    assert config["optim"]["start_decay_depth"] == 0
    bag_source = [s for s in config["data"]["sources"] if s["kind"] == "bag"][0]
    assert bag_source["poses"] == "tf"
    # only images before the split: the held-out tail is never a training triplet
    assert bag_source["max_frames"] * bag_source["stride"] <= N_FRAMES * 0.8 + bag_source["stride"]


def test_bad_recordings_get_one_line_and_exit_2(tmp_path, robot_bag, tiny_init, tiny_caches, capsys):  # noqa: F811
    assert adapt.main([str(tmp_path / "missing.mcap")]) == 2
    assert "does not exist" in capsys.readouterr().err
    folder = tmp_path / "frames"
    (folder / "rgb").mkdir(parents=True)
    assert adapt.main([str(folder), "--supervision", "scan"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err


def test_split_by_time_holds_out_the_last_fifth_after_a_gap():
    frames = [{"stamp_s": float(t), "name": str(t)} for t in range(101)]
    split = split_by_time(frames, holdout=0.2, gap=0.05)
    assert [f["stamp_s"] for f in split.heldout] == list(np.arange(80.0, 101.0))
    assert max(f["stamp_s"] for f in split.train) == 74.0  # 75..79 left out
    with pytest.raises(DataError, match="record longer"):
        split_by_time(frames[:1])


def test_folder_recordings_keep_file_order_as_time(tmp_path):
    from tests.data_cases import write_folder

    write_folder(tmp_path / "f", n=5)
    rec = read_recording(tmp_path / "f", max_frames=3)
    assert rec.supervision == "depth" and len(rec.frames) == 3 and rec.images == 5
    assert [f["stamp_s"] for f in rec.frames] == [0.0, 2.0, 4.0]


def test_nearest_surface_resize_keeps_every_sparse_point_and_the_nearer_surface():
    depth = torch.full((480, 640), math.nan)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 480, 400), rng.integers(0, 640, 400)
    depth[rows, cols] = torch.from_numpy(rng.uniform(1, 5, 400)).float()
    small = nearest_surface_resize(depth, 240, 320)
    distinct = len(set(zip(rows // 2, cols // 2)))
    assert int(torch.isfinite(small).sum()) == distinct  # a nearest-neighbour resize kept ~1 in 4
    block = torch.tensor([[2.0, 5.0], [math.nan, 3.0]])
    assert nearest_surface_resize(block, 1, 1).item() == 2.0


def test_balanced_samples_weigh_a_sparse_frame_like_a_dense_one():
    mask = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    mask[0] = True
    mask[1, 0, 3, 3] = True
    weights = sample_balanced_weights(mask)
    assert torch.allclose(weights.flatten(1).sum(1), torch.ones(2))
    # a depth error on the one sparse pixel moves the balanced loss far more than the pooled one
    gt = torch.full((2, 1, 8, 8), math.nan)
    gt[mask] = 2.0
    params = torch.cat([torch.full((2, 2, 8, 8), 0.5), torch.full((2, 2, 8, 8), 0.05),
                        torch.full((2, 1, 8, 8), 0.9)], 1)
    params[1, :2, 3, 3] = 0.25  # the sparse sample predicts 4 m where 2 m was measured
    pooled = assigned_mixture_loss(params, gt)[1]["readout"]
    balanced = assigned_mixture_loss(params, gt, balanced=True)[1]["readout"]
    assert balanced > 3 * pooled


def _versus(metric: str, aligned: str) -> dict:
    verdicts = {"A": "A lower (better)", "B": "B lower (better)", "-": "undecided"}
    return {"abs_rel": {"verdict": verdicts[metric]}, "abs_rel_aligned": {"verdict": verdicts[aligned]}}


@pytest.mark.parametrize("after_val, chosen, why", [
    ({"abs_rel": 0.205, "ods": 0.705}, "after", "fine-tuned: better"),
    ({"abs_rel": 0.215, "ods": 0.710}, "calibrated", "worsened by +0.015 AbsRel"),
    ({"abs_rel": 0.200, "ods": 0.690}, "calibrated", "occlusion boundaries worsened by 0.020 ODS"),
    ({"abs_rel": 0.200}, "after", "fine-tuned: better"),  # a model without an OB head: AbsRel alone
])
def test_the_gate_refuses_a_fine_tune_that_forgets_depth_or_boundaries(after_val, chosen, why):
    """The fine-tune is written only if the engine's frames keep their AbsRel and their OB ODS within 0.01."""
    heldout = {"minus_before": {"calibrated": _versus("A", "-"), "after": _versus("A", "A")}}
    before_val = {"abs_rel": 0.200, "ods": 0.710} if "ods" in after_val else {"abs_rel": 0.200}
    choice, reason = adapt.choose(heldout, {"before": before_val, "after": after_val}, 0.01, 0.01)
    assert choice == chosen and why in reason
