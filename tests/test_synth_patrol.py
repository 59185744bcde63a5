"""A robot's patrol of one room (``training.data.synth``): long synthetic recordings for ``modot-adapt`` studies."""
from __future__ import annotations

import numpy as np

from training.data.recording import read_recording
from training.data.synth.bag import write_patrol_bag
from training.data.synth.sample import CLEARANCE_M, _part_radius, sample_patrol_scene

SEED = 2_000_500  # a test-split room: the shipped weights never trained on it


def test_a_patrol_stays_in_its_room_clear_of_every_object_for_minutes():
    """Over ten minutes the camera stays 0.5 m inside the walls, at one height, and no object comes within reach."""
    scene = sample_patrol_scene(SEED)
    patrol = scene.trajectory
    room = np.asarray(scene.parts["params"][0])[:2]  # the ROOM part's half-sizes (x, y)
    times = np.linspace(0, 600, 2401)
    positions = np.stack([patrol.position(t) for t in times])
    assert (np.abs(positions[:, :2]) < room - 0.5).all()
    assert np.ptp(positions[:, 2]) < 1e-9
    objects = [i for i, inst in enumerate(scene.parts["inst"]) if inst >= 2]
    assert len(objects) >= 4
    for i in objects:
        gap = np.linalg.norm(positions - np.asarray(scene.parts["center"][i]), axis=1)
        assert gap.min() - _part_radius(scene.parts["ptype"][i], scene.parts["params"][i]) > CLEARANCE_M
    # the gaze turns (the robot looks around) and loops pass the same places from new directions
    forward = np.stack([patrol.pose(t)[:3, 2] for t in times[:200]])
    assert np.degrees(np.arccos(np.clip(forward @ forward[0], -1, 1))).max() > 60


def test_the_same_seed_is_the_same_patrol():
    a, b = sample_patrol_scene(SEED), sample_patrol_scene(SEED)
    assert np.allclose(a.trajectory.pose(37.0), b.trajectory.pose(37.0))
    assert len(a.parts["center"]) == len(b.parts["center"])
    assert not np.allclose(sample_patrol_scene(SEED + 1).trajectory.pose(37.0), a.trajectory.pose(37.0))


def test_a_patrol_bag_is_a_recording_modot_adapt_reads(tmp_path):
    """Eight seconds at 1 Hz: eight frames a second apart, with registered depth, a lidar's scan and poses."""
    bag = write_patrol_bag(tmp_path / "patrol", minutes=8 / 60, rate_hz=1.0, height=48, width=64)
    recording = read_recording(bag)
    assert recording.supervision == "depth" and len(recording.frames) == 8
    stamps = np.array([f["stamp_s"] for f in recording.frames])
    assert np.allclose(np.diff(stamps), 1.0, atol=1e-3)
    assert all(np.isfinite(f["depth"]).mean() > 0.9 for f in recording.frames)
    scan = read_recording(bag, supervision="scan")
    assert scan.details["scan_pose"]["tf"] == 8  # placed by the bag's /tf_static
    for dense, sparse in zip(recording.frames, scan.frames):
        row = np.nonzero(np.isfinite(sparse["depth"]).any(1))[0]
        assert row.size == 1 and np.isfinite(sparse["depth"][row[0]]).sum() > 30
        hits = np.isfinite(sparse["depth"])
        assert np.allclose(sparse["depth"][hits], dense["depth"][hits], rtol=0.1)  # 2 % range noise
