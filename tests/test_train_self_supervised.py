"""Self-supervised fine-tuning from a robot's video bag: /tf odometry, the pose network, and bad bags."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from modot_ros.checkpoint import load_checkpoint, read_plain
from modot_ros.geometry import invert_rigid
from tests.train_cases import tiny_caches, write_config  # noqa: F401 (fixture)
from tests.video_cases import camera_pose, write_video_bag
from training.config import PoseConfig, SourceConfig, load_config
from training.data.sources import real_source
from training.losses.compose import compose_loss
from training.pose_net import PoseNet, fill_unknown_poses
from training.train import main as train_main
from training.trainer import build_model

SIZE = (48, 64)


def _config(tmp_path, caches, source: dict, steps: int, **data):
    values = {"sources": [{"kind": "bag", "stride": 3} | source], "batch_size": 4} | data
    return write_config(tmp_path / "c.yaml", caches, data=values, run={"supervision": "self_supervised"},
                        schedule={"max_steps": steps, "checkpoint_every": 1000, "log_every": 5},
                        optim={"amp": False})


def _photometric(model, config, batch) -> float:
    with torch.no_grad():
        out = model(batch["rgb"], with_boundary=False)
        _, terms = compose_loss(out, batch, config.model, config.loss, "self_supervised", 0)
    return terms["photo_photo"].item()


def test_tf_poses_are_the_engine_motion_and_fine_tuning_lowers_the_photometric_loss(
        tmp_path, tiny_caches):  # noqa: F811
    """Triplets carry the exact relative motion from /tf; 12 steps lower the loss on a fixed batch."""
    bag = write_video_bag(tmp_path / "bag", n_frames=10)
    config_path = _config(tmp_path, tiny_caches, {"path": str(bag)}, steps=12)
    config = load_config(config_path)
    dataset, described = real_source(config.data.sources[0], SIZE, SIZE, False, 0, sequence=True)
    assert (described["poses"], described["odom_frame"], described["frames"], described["triplets"]) == (
        "tf", "odom", 4, 2)
    target, *sources = dataset.triplets[0]
    sample = dataset[0]
    for k, source in enumerate(sources):
        exact = invert_rigid(camera_pose(3 * source)) @ camera_pose(3 * target)
        np.testing.assert_allclose(sample["T_source_from_target"][k].numpy(), exact, atol=3e-3)
    batch = torch.utils.data.default_collate([dataset[d] for d in range(4)])
    before = _photometric(build_model(config, torch.device("cpu")), config, batch)
    assert train_main(["--config", str(config_path), "--output", str(tmp_path / "run")]) == 0
    model = build_model(config, torch.device("cpu"))
    model.load_state_dict(read_plain(tmp_path / "run" / "last.pt")["model"])
    after = _photometric(model, config, batch)
    assert after < 0.8 * before, (before, after)
    assert load_checkpoint(tmp_path / "run" / "final.pt").data["sources"][0]["poses"] == "tf"


def _direction_errors(pose_net: PoseNet, dataset, stride: int) -> np.ndarray:
    """Angle (degrees) between predicted and exact translation for every (target, source) pair."""
    errors = []
    with torch.no_grad():
        for triplet in dataset.triplets:
            frames = dataset.cache["rgb"][triplet, 0].float() / 255.0
            for k, source in enumerate(triplet[1:], start=1):
                t = pose_net.eval()(frames[:1], frames[k:k + 1])[0, :3, 3].double().numpy()
                exact = (invert_rigid(camera_pose(stride * source)) @ camera_pose(stride * triplet[0]))[:3, 3]
                cos = t @ exact / np.linalg.norm(t) / np.linalg.norm(exact)
                errors.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(errors)


@pytest.mark.slow
def test_pose_network_learns_the_translation_direction_without_tf(tmp_path, tiny_caches):  # noqa: F811
    """Video only: the jointly trained pose net finds the engine's motion direction within 10 degrees.

    Its weights are in the resumable state (last.pt), never in the runtime checkpoint the node loads.
    """
    bag = write_video_bag(tmp_path / "bag", n_frames=10, tf=False)
    config_path = _config(tmp_path, tiny_caches, {"path": str(bag)}, steps=60)
    dataset, described = real_source(load_config(config_path).data.sources[0], SIZE, SIZE, False, 0, sequence=True)
    assert described["poses"] == "pose_net"
    pose_net = PoseNet(PoseConfig())
    assert np.median(_direction_errors(pose_net, dataset, 3)) > 30  # untrained: no idea of the motion
    assert train_main(["--config", str(config_path), "--output", str(tmp_path / "run")]) == 0
    pose_net.load_state_dict(read_plain(tmp_path / "run" / "last.pt")["pose_net"])
    errors = _direction_errors(pose_net, dataset, 3)
    assert errors.max() < 10.0, errors
    final = load_checkpoint(tmp_path / "run" / "final.pt")
    assert not any(k.startswith("pose") for k in final.state_dict)


@pytest.mark.parametrize("case, expected", [
    ("no_tf", ["has no /tf or /tf_static", "poses: pose_net"]),
    ("no_camera_edge", ["frame camera_optical_frame is not in /tf", "record the chain", "odom_frame"]),
])
def test_a_bag_without_camera_motion_stops_training_with_one_line(tmp_path, tiny_caches, capsys, case,  # noqa: F811
                                                                  expected):
    """poses: tf on a bag without /tf, or a /tf that never reaches the camera: exit 2, one line, what to do."""
    bag = write_video_bag(tmp_path / "bag", n_frames=3, height=32, width=48, tf=case != "no_tf", static=False)
    config_path = _config(tmp_path, tiny_caches, {"path": str(bag), "poses": "tf" if case == "no_tf" else "auto",
                                                  "stride": 1}, steps=1)
    capsys.readouterr()
    assert train_main(["--config", str(config_path), "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bag) in err, err
    for text in expected:
        assert text in err, err


def test_self_supervised_needs_video_sources():
    """Folders and .mat files are single frames: self-supervised training refuses them at config time."""
    from training.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match="kind folder train supervised only"):
        config_from_dict({"data": {"sources": [{"kind": "folder", "path": "x"}]},
                          "run": {"supervision": "self_supervised"}})
    assert SourceConfig(kind="bag", path="x", poses="pose_net").poses == "pose_net"


def test_known_poses_are_kept_and_unknown_ones_predicted():
    """A batch mixing engine frames (exact poses) and video without /tf: only the NaN poses are predicted."""
    torch.manual_seed(0)
    known = torch.eye(4).repeat(2, 1, 1)
    known[:, 0, 3] = 0.3
    batch = {"rgb": torch.rand(2, 3, 32, 32), "sources": torch.rand(2, 2, 3, 32, 32),
             "T_source_from_target": torch.stack([known, torch.full((2, 4, 4), torch.nan)])}
    pose_net = PoseNet(PoseConfig(pretrained=False))
    poses = fill_unknown_poses(batch, pose_net)["T_source_from_target"]
    assert torch.equal(poses[0], known) and torch.isfinite(poses[1]).all()
    poses[1, :, :3, 3].sum().backward()
    assert all(p.grad is not None for p in pose_net.head.parameters())
    with pytest.raises(ValueError, match="no pose network"):
        fill_unknown_poses(batch, None)


def test_a_pose_network_run_resumes_with_its_pose_network(tmp_path, tiny_caches, capsys):  # noqa: F811
    """--resume continues the pose network from last.pt; a run without one cannot take that state."""
    bag = write_video_bag(tmp_path / "bag", n_frames=7, height=32, width=48, tf=False)
    config_path = _config(tmp_path, tiny_caches, {"path": str(bag), "stride": 2}, steps=2)
    assert train_main(["--config", str(config_path), "--output", str(tmp_path / "run")]) == 0
    first = read_plain(tmp_path / "run" / "last.pt")["pose_net"]
    assert train_main(["--config", str(config_path), "--output", str(tmp_path / "run"), "--resume"]) == 0
    state = read_plain(tmp_path / "run" / "last.pt")  # nothing left to train: saved again as loaded
    assert state["step"] == 2 and all(torch.equal(state["pose_net"][k], v) for k, v in first.items())
    tf_bag = write_video_bag(tmp_path / "tf_bag", n_frames=7, height=32, width=48)
    assert train_main(["--config", str(config_path), "--output", str(tmp_path / "run"), "--resume",
                       "--set", f"data.sources=[{{kind: bag, path: {tf_bag}, stride: 2}}]"]) == 2
    assert "was trained with a pose network" in capsys.readouterr().err
