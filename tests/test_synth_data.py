"""Synthetic engine: reprojection consistency, determinism, splits, dataset, disk and bag outputs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from modot_ros.geometry import backproject_torch, pixel_grid_to_normalized, project_torch, transform_points_torch
from training.losses.reprojection import relative_pose
from training.data.synth import SPLITS, SyntheticDepthDataset, render_scene, render_sequence
from training.data.synth.sample import sample_scene
from training.data.synth.textures import TEST_PHOTOS, TRAIN_PHOTOS, photo_indices

H, W = 48, 64


def test_reprojection_with_gt_depth_and_pose_reproduces_the_image():
    """The self-supervised loss assumes GT depth + pose warp frame t+k onto frame t."""
    checked = 0
    for seed in (11, 12, 13):
        seq = render_sequence(seed, 96, 128, frames=(0, 5), noise=False)
        tgt_depth, K = seq["depth"][:1], seq["K"][:1]
        T = relative_pose(seq["pose"][:1], seq["pose"][1:])  # source <- target
        pts = transform_points_torch(backproject_torch(torch.nan_to_num(tgt_depth, nan=1.0), K), T)
        uv, z = project_torch(pts, K)
        grid = pixel_grid_to_normalized(uv, 128, 96)
        src_rgb = F.grid_sample(seq["rgb"][1:].float(), grid, align_corners=False, padding_mode="border")
        src_depth = F.grid_sample(torch.nan_to_num(seq["depth"][1:], nan=0.0), grid, mode="nearest",
                                  align_corners=False)
        inside = (grid.abs() < 0.97).all(-1)[:, None]
        visible = inside & torch.isfinite(tgt_depth) & ((src_depth - z).abs() < 0.01 * z)
        near_ob = F.max_pool2d(seq["boundary"][:1].float(), 5, 1, 2) > 0
        ok = visible & ~near_ob
        err = (src_rgb - seq["rgb"][:1].float()).abs().mean(1, keepdim=True)[ok]
        assert ok.sum() > 0.3 * 96 * 128
        unwarped = (seq["rgb"][1:].float() - seq["rgb"][:1].float()).abs().mean(1, keepdim=True)[ok]
        assert err.median() < 3.0 and err.mean() < 6.0, (seed, err.median(), err.mean())
        assert err.mean() < 0.6 * unwarped.mean(), "the camera must really move between the frames"
        checked += 1
    assert checked == 3


def test_same_seed_gives_identical_bytes():
    """Reproducible datasets: a seed must always render the very same frame."""
    a, b = render_scene(7, H, W), render_scene(7, H, W)
    for key in a:
        assert a[key].numpy().tobytes() == b[key].numpy().tobytes(), key
    c = render_scene(8, H, W)
    assert a["rgb"].numpy().tobytes() != c["rgb"].numpy().tobytes()


def test_splits_are_disjoint_and_test_uses_held_out_photos():
    """Test scores are only honest if the test split's photo textures are never trained on."""
    ranges = sorted(SPLITS.values())
    assert all(hi <= lo2 for (lo, hi), (lo2, hi2) in zip(ranges, ranges[1:]))
    assert not set(TRAIN_PHOTOS) & set(TEST_PHOTOS)
    test_ids = set(photo_indices("test"))
    for seed in range(SPLITS["test"][0], SPLITS["test"][0] + 5):
        assert set(sample_scene(seed).parts["photo"]) <= test_ids
    for seed in range(5):
        assert not set(sample_scene(seed).parts["photo"]) & test_ids
    with pytest.raises(ValueError, match="no split"):
        sample_scene(1_500_000)


def test_dataset_items_have_documented_shapes_and_sources():
    """The trainer relies on these keys, dtypes and shapes (incl. source frames with poses)."""
    ds = SyntheticDepthDataset("val", size=(H, W), length=3, sequence=True)
    item = ds[1]
    assert len(ds) == 3 and int(item["seed"]) == SPLITS["val"][0] + 1
    assert item["rgb"].shape == (3, H, W) and item["rgb"].dtype == torch.uint8
    assert item["depth"].shape == (1, H, W) and item["depth"].dtype == torch.float32
    assert item["boundary"].shape == (1, H, W) and set(item["boundary"].unique().tolist()) <= {0, 1}
    assert item["normal"].shape == (3, H, W) and item["K"].shape == (3, 3)
    assert item["pose"].shape == (4, 4) and item["pose"].dtype == torch.float64
    assert item["source_rgb"].shape == (2, 3, H, W) and item["source_pose"].shape == (2, 4, 4)
    assert not torch.allclose(item["source_pose"][0], item["pose"])
    d = item["depth"][torch.isfinite(item["depth"])]
    assert d.min() >= 0.3 and d.max() <= 20.0
    batch = ds.get_batch([1, 2])
    assert torch.equal(batch["rgb"][0], item["rgb"]) and torch.equal(batch["source_pose"][0], item["source_pose"])
    assert batch["source_rgb"].shape == (2, 2, 3, H, W)
    with pytest.raises(ValueError, match="unknown split"):
        SyntheticDepthDataset("training")
    with pytest.raises(IndexError):
        ds[3]


def test_disk_writer_round_trips(tmp_path):
    """Frames written to disk must read back identical to what was rendered."""
    from training.data.synth.io import FrameFolder, write_dataset
    write_dataset(tmp_path, "test", 2, H, W)
    folder = FrameFolder(tmp_path)
    ref = render_scene(SPLITS["test"][0] + 1, H, W)
    item = folder[1]
    assert len(folder) == 2
    assert torch.equal(item["rgb"], ref["rgb"]) and torch.equal(item["boundary"], ref["boundary"])
    assert torch.allclose(item["depth"], ref["depth"], equal_nan=True)
    assert torch.equal(item["pose"], ref["pose"])


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_reads_back_with_rosbags(tmp_path, storage):
    """The bag evaluation and the demo replay these bags: topics, encodings, stamps and /tf must be right."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    from modot_ros.pipeline.messages import image_to_depth_metres
    from training.data.synth.bag import TOPICS, write_bag
    path = write_bag(tmp_path / "b", 3, 24, 32, storage=storage, seed=2_000_000)
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        msgs = {}
        for conn, t, raw in reader.messages():
            msgs.setdefault(conn.topic, []).append((t, reader.deserialize(raw, conn.msgtype)))
    assert set(msgs) == set(TOPICS.values()) | {"/tf"} and all(len(v) == 3 for v in msgs.values())
    imgs = msgs["/camera/image_raw"]
    tf = msgs["/tf"][0][1].transforms[0]  # the camera's pose, as odometry gives it (temporal filter, flicker)
    assert tf.header.frame_id == "odom" and tf.child_frame_id == "camera_optical_frame"
    assert tf.header.stamp == imgs[0][1].header.stamp
    assert imgs[0][1].encoding == "rgb8" and imgs[0][1].header.frame_id == "camera_optical_frame"
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in imgs]
    assert np.allclose(np.diff(stamps), 1e9 / 30, atol=1) and [t for t, _ in imgs] == stamps
    depth = image_to_depth_metres(msgs["/camera/depth/ground_truth"][0][1])
    ob = msgs["/camera/occlusion/ground_truth"][0][1]
    assert ob.encoding == "mono8" and set(np.unique(ob.data)) <= {0, 255}
    assert depth.shape == (24, 32) and msgs["/camera/camera_info"][0][1].k[0] > 0


def test_scenes_vary_intrinsics_content_and_include_outdoor_sky():
    """Training must see many focal lengths, principal points, object counts and open skies."""
    scenes = [sample_scene(s) for s in range(40)]
    Ks = np.stack([s.intrinsics(240, 320) for s in scenes])
    assert np.ptp(Ks[:, 0, 0]) > 50 and np.ptp(Ks[:, 0, 2]) > 10 and np.ptp(Ks[:, 1, 2]) > 10
    counts = [len(set(s.parts["inst"])) for s in scenes]
    assert min(counts) <= 7 and max(counts) >= 14  # instances incl. room, doors, table-top items
    outdoor = [s for s in scenes if s.outdoor]
    assert 5 <= len(outdoor) <= 30
    sky = render_scene(next(i for i, s in enumerate(scenes) if s.outdoor), H, W)
    assert torch.isnan(sky["depth"]).any() and (sky["instance"] == 0).any()


def test_bad_size_is_rejected_with_a_clear_error():
    """A zero-sized request must fail loudly instead of returning empty tensors."""
    from training.data.synth.render import render_batch
    with pytest.raises(ValueError, match="at least 2x2"):
        render_batch([sample_scene(0)], 0, 10)


def test_camera_profiles_set_the_camera_height_and_refuse_bad_specs():
    """A narrow custom mount profile puts every key-frame camera at its height; typos fail loudly."""
    from training.data.synth.profiles import ProfileError, parse_profile
    spec = "custom:height=0.30-0.40,pitch=-10-0,indoor=1"
    scenes = [sample_scene(s, (spec,)) for s in range(12)]
    heights = [s.trajectory.p0[2] for s in scenes]
    assert all(0.30 <= h <= 0.40 for h in heights) and not any(s.outdoor for s in scenes)
    assert parse_profile("vehicle").indoor_share == 0.0
    for bad in ("vehicel", "custom:height=0.4-0.3,pitch=0-1,indoor=1", "custom:height=1-2"):
        with pytest.raises(ProfileError):
            parse_profile(bad)


def test_object_classes_have_real_sizes():
    """Metric scale is learnable only if a class keeps its size: chairs, tables, doors, mugs."""
    from training.data.synth import objects
    from training.data.synth.objects import Placer
    from training.data.synth.scene import Scene

    def height(builder, seed):
        scene = Scene()
        builder(Placer(scene, (0, 0), 0.0, 2, _mat), np.random.default_rng(seed))
        # top of each part: box half extents (x, y, z), sphere (r), cylinder (r, half h), torus (R, r)
        up = {0: lambda p: p[2], 1: lambda p: p[0], 2: lambda p: p[1], 3: lambda p: p[0] + p[1]}
        return max(c[2] + up[int(t)](p) for t, c, p in
                   zip(scene.parts["ptype"], scene.parts["center"], scene.parts["params"]))

    def _mat():
        return {"tex": 0, "c1": np.ones(3, np.float32), "c2": np.ones(3, np.float32),
                "tex_scale": np.float32(1), "tex_off": np.zeros(3, np.float32), "photo": 0,
                "spec": np.float32(0)}

    for builder, lo, hi in ((objects.table, 0.72, 0.76), (objects.door, 2.0, 2.2),
                            (objects.chair, 0.75, 1.05), (objects.mug, 0.08, 0.12)):
        assert all(lo <= height(builder, s) <= hi for s in range(10)), builder.__name__


def test_furnished_rooms_have_corridors_plain_walls_and_furniture_against_walls():
    """The furnished style (real-room realism) keeps its promises; the classic style is untouched."""
    from training.data.synth import sample
    from training.data.synth.scene import FLAT, ROOM
    spec = "custom:height=0.3-1.5,pitch=-20-5,indoor=1"
    rooms = [sample_scene(s, (spec,), "furnished") for s in range(40)]
    sizes = [np.asarray(r.parts["params"][r.parts["ptype"].index(ROOM)]) * 2 for r in rooms]
    assert sum(min(L[:2]) < 2.3 for L in sizes) >= 5  # corridors, 1.3-2.2 m wide
    walls = [r.parts["tex"][r.parts["ptype"].index(ROOM)] for r in rooms]
    assert sum(t == FLAT for t in walls) >= 20  # mostly plain paint
    against = 0
    for scene, L in zip(rooms, sizes):
        directions = [np.eye(3)[axis] * sign for axis in (0, 1) for sign in (-1.0, 1.0)]
        limits = [L[axis] / 2 for axis in (0, 1) for _ in (0, 1)]
        for inst in set(scene.parts["inst"]) - {0, 1}:
            parts = [i for i, k in enumerate(scene.parts["inst"]) if k == inst]
            reach = np.array([[sample._reach(scene, i, d) for d in directions] for i in parts]).max(0)
            if np.any(np.abs(reach - (np.array(limits) - sample.WALL_GAP_M)) < 1e-4):
                against += 1  # standing against a wall: inside the room in every direction
                assert np.all(reach <= np.array(limits) + 1e-4), (inst, reach, limits)
    assert against >= 40
    classic = sample_scene(7, (spec,))
    assert np.array_equal(classic.parts["center"][0], sample_scene(7, (spec,), "classic").parts["center"][0])
    with pytest.raises(ValueError, match="room style"):
        sample_scene(7, rooms="furnishd")
