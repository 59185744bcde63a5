"""Real training sources: folder, NYU .mat and bag readers, OB labels from depth, mixing, bad data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from modot_ros.geometry import CameraIntrinsics
from tests.bag_cases import case_depth, write_case_bag
from tests.data_cases import FAR, NEAR, step_depth, write_folder, write_nyu_mat
from training.config import SourceConfig
from training.data.folder import FolderReader
from training.data.frames import DataError
from training.data.nyu import NyuReader
from training.data.ob_from_depth import DepthEdgeRule, boundary_from_depth
from training.data.real_frames import fit_frame
from training.data.sources import MixedDataset, evaluation_frames, real_source
from training.losses.compose import compose_loss

SIZE, CROP = (48, 64), (48, 64)


@pytest.mark.parametrize("depth_format", ["png", "npy"])
def test_folder_depth_units_and_invalid_pixels(tmp_path, depth_format):
    """16-bit mm PNGs and float-metre NPYs both read as metres with NaN where depth is missing."""
    frame = FolderReader(write_folder(tmp_path, depth_format=depth_format)).read(1)
    assert np.isnan(frame["depth"][0, 0])
    np.testing.assert_allclose(frame["depth"][1:], step_depth(96, 128)[1:], atol=1e-6)
    assert frame["rgb"][0, 0, 0] == 40 and frame["boundary"] is None
    assert frame["intrinsics"] == CameraIntrinsics(100.0, 100.0, 63.5, 47.5, 128, 96)


def test_folder_reads_camera_info_yaml_and_per_frame_intrinsics(tmp_path):
    """A CameraInfo-style ``k`` works globally; intrinsics/NAME.yaml wins for its own frame."""
    root = write_folder(tmp_path, intrinsics={"width": 128, "height": 96,
                                              "k": [90.0, 0, 60.0, 0, 91.0, 45.0, 0, 0, 1]})
    (root / "intrinsics").mkdir()
    (root / "intrinsics" / "0002.yaml").write_text("fx: 80\nfy: 80\ncx: 64\ncy: 48\n")
    reader = FolderReader(root)
    assert (reader.read(0)["intrinsics"].fx, reader.read(0)["intrinsics"].cy) == (90.0, 45.0)
    assert reader.read(2)["intrinsics"].fx == 80.0


def test_fit_frame_resizes_like_the_runtime_and_keeps_depth_steps(tmp_path):
    """Frames reach the network size with K through scaled_to and no depth between the two sides."""
    frame = FolderReader(write_folder(tmp_path, labels=True)).read(0)
    fitted = fit_frame(frame, *SIZE, "labels", DepthEdgeRule())
    expected = frame["intrinsics"].scaled_to(64, 48).matrix()
    np.testing.assert_allclose(fitted["K"].numpy(), expected, rtol=1e-6)
    values = set(np.unique(np.round(fitted["depth"].numpy()[1:], 4)))
    assert values == {NEAR, FAR}
    assert fitted["boundary"][:, 31].all() and fitted["boundary"].sum() == 48


def test_boundary_from_depth_near_side_holes_and_specks():
    """OBs from depth: near side labelled, pixels beside holes unknown, isolated specks unknown."""
    depth = step_depth(60, 40)
    labels = boundary_from_depth(depth)
    assert (labels[:, 19] == 1).all() and np.nansum(labels) == 60
    depth[30:40, 20:24] = np.nan  # the occlusion shadow of a stereo camera, beside the edge
    depth[50, 5] = NEAR * 1.5  # one noisy pixel: its 8 neighbours form an edge ring
    labels = boundary_from_depth(depth, DepthEdgeRule(hole_margin=2))
    assert np.isnan(labels[30:40, 18:26]).all() and (labels[:27, 19] == 1).all()
    ring = labels[49:52, 4:7].copy()
    assert np.isnan(np.delete(ring.ravel(), 4)).all() and ring[1, 1] == 0
    small = np.full((8, 8), 1.0, np.float32)
    small[:, 4:] = 1.03  # 3 cm at 1 m: below the 5 cm minimum, and below the 10 % jump
    assert np.nansum(boundary_from_depth(small)) == 0


def test_nyu_mat_layout_transposed_cropped_with_toolbox_intrinsics(tmp_path):
    """The labeled .mat's MATLAB layout reads as (426, 560) frames of the eval crop, K moved with it."""
    reader = NyuReader(write_nyu_mat(tmp_path / "nyu.mat"))
    assert len(reader) == 3
    frame = reader.read(2)
    assert frame["rgb"].shape == (426, 560, 3) and frame["depth"].shape == (426, 560)
    assert np.isnan(frame["depth"][0, 0])
    assert frame["depth"][5, 10] == pytest.approx(3.0 + (41 + 10) / 1000.0)
    assert frame["rgb"][0, 0, 0] == 255 and frame["rgb"][-1, 0, 0] == 0  # rows stay rows
    intr = frame["intrinsics"]
    assert (intr.cx, intr.cy) == pytest.approx((325.5824 - 41, 253.7362 - 45))


def test_bag_source_with_registered_16bit_depth_and_stride(tmp_path):
    """A RealSense-style bag: colour, camera_info, 16UC1 mm depth; stride thins it, OBs from depth."""
    bag = write_case_bag(tmp_path / "rs", n=6, depth_encoding="16UC1", boundary=False)
    spec = SourceConfig(kind="bag", path=str(bag), stride=2)
    dataset, described = real_source(spec, SIZE, CROP, False, 0)
    assert described["frames"] == 3 and described["ob"] == "from_depth"
    sample = dataset[0]
    assert set(sample) == {"rgb", "depth", "boundary", "K"} and sample["rgb"].shape == (3, 48, 64)
    i = round(float(np.nanmedian(sample["depth"][0, :, :20])) * 10 - 20)
    assert i in (0, 2, 4)
    np.testing.assert_allclose(sample["depth"][0].numpy(), case_depth(i), atol=2e-3)


def test_bag_source_reads_jpeg_colour_and_compressed_depth(tmp_path):
    """A bag as robots record it (image_raw/compressed jpeg, compressedDepth 16UC1) trains like a raw one."""
    bag = write_case_bag(tmp_path / "robot", n=2, image_codec="jpeg", depth_encoding="16UC1",
                         compressed_depth=True, boundary=False)
    dataset, described = real_source(SourceConfig(kind="bag", path=str(bag)), SIZE, CROP, False, 0)
    assert described["frames"] == 2
    sample = dataset[0]
    assert sample["rgb"].shape == (3, 48, 64)
    i = round(float(np.nanmedian(sample["depth"][0, :, :20])) * 10 - 20)
    np.testing.assert_allclose(sample["depth"][0].numpy(), case_depth(i), atol=2e-3)


def test_bag_picks_the_colour_registered_depth_topic(tmp_path):
    """With raw and aligned depth recorded, the aligned (pixel-registered) topic is the one used."""
    bag = write_case_bag(tmp_path / "two", n=2, depth_encoding=None, boundary=False,
                         extra_topics=("/camera/depth/image_rect_raw", "/camera/aligned_depth_to_color/image_raw"))
    frames = evaluation_frames("bag", str(bag), 5)
    assert len(frames) == 2 and frames[0]["boundary"].dtype == np.uint8


def test_corrupt_frame_mid_run_is_skipped_and_counted(tmp_path):
    """A frame that stops reading after start is skipped (the next one is used) and recorded."""
    root = write_folder(tmp_path, n=3, depth_format="npy")
    dataset, _ = real_source(SourceConfig(kind="folder", path=str(root)), SIZE, CROP, False, 0)
    (root / "depth" / "0001.npy").write_bytes(b"not a numpy file")
    samples = [dataset[d] for d in range(6)]
    assert all(s["rgb"].shape == (3, 48, 64) for s in samples)
    assert list(dataset.skipped) == [str(root / "rgb" / "0001.png")]


@pytest.mark.parametrize("damage, words", [
    ("no_intrinsics", "no intrinsics.yaml"),
    ("size_mismatch", "depth is 64x48 but rgb is 128x96"),
    ("unreadable_rgb", "0000.png: unreadable image"),
    ("missing_depth", "has no depth/0000.png"),
    ("empty_bag", "no depth topic"),
    ("not_a_mat", "not a readable MATLAB v7.3"),
])
def test_bad_data_fails_at_start_with_one_line_naming_the_file(tmp_path, damage, words):
    """Bad data stops the run before training with one line that names the file and the problem."""
    root = write_folder(tmp_path / "f", n=2)
    kind, path = "folder", root
    if damage == "no_intrinsics":
        (root / "intrinsics.yaml").unlink()
    elif damage == "size_mismatch":
        np.save(root / "depth" / "0000.npy", step_depth(48, 64))
        (root / "depth" / "0000.png").unlink()
    elif damage == "unreadable_rgb":
        (root / "rgb" / "0000.png").write_bytes(b"\x89PNG broken")
    elif damage == "missing_depth":
        (root / "depth" / "0000.png").unlink()
    elif damage == "empty_bag":
        kind, path = "bag", write_case_bag(tmp_path / "b", n=2, depth_encoding=None, boundary=False)
    else:
        kind, path = "nyu_mat", tmp_path / "x.mat"
        path.write_bytes(b"MATLAB 5.0 MAT-file")
    with pytest.raises(DataError) as error:
        real_source(SourceConfig(kind=kind, path=str(path)), SIZE, CROP, False, 0)
    message = str(error.value)
    assert words in message and "\n" not in message and str(path.name) in message


@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.25, 0.75), (1 / 3, 2 / 3)])
def test_mixing_gives_every_batch_its_share(weights):
    """Each batch holds floor(B * w) samples of every source, the remainder drawn, reproducibly."""
    mixed = MixedDataset([None, None], list(weights), 8, seed=0)
    for batch in range(20):
        counts = np.bincount(mixed.plan(batch), minlength=2)
        assert counts.sum() == 8 and all(abs(c - 8 * w) < 1 for c, w in zip(counts, weights))
    again = MixedDataset([None, None], list(weights), 8, seed=0)
    assert all((mixed.plan(b) == again.plan(b)).all() for b in (3, 0, 7))


def test_unlabelled_samples_leave_the_ob_loss_unchanged():
    """ob: none samples (NaN labels) change neither the BCE nor OBDCL of the labelled ones."""
    from modot_ros.config import ModelConfig
    from modot_ros.model.network import NetworkOutput
    from training.losses import LossConfig

    g = torch.Generator().manual_seed(0)
    logits = [torch.randn(2, 1, 8, 8, generator=g) for _ in range(5)]
    depth = torch.rand(2, 5, 8, 8, generator=g) * 0.8 + 0.1
    boundary = (torch.rand(2, 1, 8, 8, generator=g) > 0.8).float()
    boundary[1] = torch.nan
    batch = {"rgb": torch.rand(2, 3, 8, 8, generator=g), "depth": torch.rand(2, 1, 8, 8) + 1,
             "boundary": boundary, "K": torch.eye(3).expand(2, 3, 3) * 50}
    model, loss = ModelConfig(), LossConfig(obdcl_weight=1.0, obdcl_start_step=0)
    both = compose_loss(NetworkOutput(logits[-1], logits[:-1], depth), batch, model, loss, "supervised", 10)[1]
    one = {k: v[:1] for k, v in batch.items()}
    first = compose_loss(NetworkOutput(logits[-1][:1], [z[:1] for z in logits[:-1]], depth[:1]), one, model,
                         loss, "supervised", 10)[1]
    assert torch.isfinite(both["ob_bce"]) and both["ob_bce"] == pytest.approx(first["ob_bce"].item())
    assert both["obdcl"] == pytest.approx(first["obdcl"].item())
