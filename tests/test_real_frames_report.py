"""The real-frame report: baselines, bootstrap verdicts and the row-prior crop test."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from modot_ros.geometry import CameraIntrinsics, backproject
from tests.data_cases import write_folder
from training.real_frames_report import (RealFramesReport, crop_frame, paired_bootstrap, real_frames,
                                         row_prior_depth, row_profile, write_report)

H, W = 48, 64


def _frame(depth: np.ndarray, rgb: np.ndarray | None = None) -> dict:
    rgb = rgb if rgb is not None else np.zeros(depth.shape + (3,), np.uint8)
    return {"rgb": rgb, "depth": depth.astype(np.float32), "boundary": np.zeros(depth.shape, np.uint8),
            "intrinsics": CameraIntrinsics(50.0, 50.0, 31.5, 23.5, W, H)}


def _row_frames(n: int = 3) -> list[dict]:
    """Frames whose depth depends on the image row only (far at the top)."""
    rows = np.linspace(5.0, 1.0, H)[:, None].repeat(W, axis=1)
    return [_frame(rows * (1 + 0.1 * i)) for i in range(n)]


class ContentModel:
    """Reads depth from pixel content only (red channel), as a model that ignores rows would."""

    def predict(self, rgb: np.ndarray, intrinsics: CameraIntrinsics) -> SimpleNamespace:
        return SimpleNamespace(depth=1.0 + rgb[..., 0].astype(np.float32) / 50.0)


def _content_frames(n: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(n):
        red = np.kron(rng.integers(0, 255, (6, 8)), np.ones((8, 8))).astype(np.uint8)
        rgb = np.stack([red, red, red], axis=-1)
        frames.append(_frame(1.0 + red / 50.0, rgb))
    return frames


def test_bootstrap_says_undecided_when_the_interval_holds_zero():
    """Two models whose per-frame differences change sign are not ranked."""
    boot = paired_bootstrap(np.array([0.2, 0.3, 0.25, 0.1]), np.array([0.25, 0.2, 0.3, 0.12]))
    assert boot.low < 0 < boot.high and boot.verdict.startswith("undecided")


def test_bootstrap_ranks_a_model_better_on_every_frame():
    """A model lower on every frame gets an interval below zero."""
    boot = paired_bootstrap(np.array([0.1, 0.12, 0.09, 0.11]), np.array([0.2, 0.25, 0.22, 0.3]))
    assert boot.high < 0 and boot.verdict.startswith("A lower")
    assert paired_bootstrap(np.array([0.1]), np.array([0.2])).verdict.startswith("one frame")


def test_bootstrap_calls_a_difference_below_the_noise_floor_undecided():
    """Four frames that all differ by 0.005 exclude 0, but the GT cannot resolve 0.005."""
    a, b = np.array([0.200, 0.150, 0.300, 0.250]), np.array([0.205, 0.155, 0.305, 0.255])
    assert paired_bootstrap(a, b).verdict.startswith("A lower")
    assert "noise" in paired_bootstrap(a, b, noise_floor=0.02).verdict


def test_row_prior_reproduces_row_only_depth():
    """On depth that depends on the row alone, the row prior is exact after median alignment."""
    frames = _row_frames()
    depth = row_prior_depth(row_profile(frames), H, W)
    ratio = frames[0]["depth"] / depth
    assert np.allclose(ratio, np.median(ratio), rtol=0.05)


def test_crop_keeps_the_aspect_and_the_geometry():
    """A crop keeps 4:3, and a pixel back-projects to the same 3-D point in both images."""
    frame = _row_frames(1)[0]
    crop, window = crop_frame(frame, "top")
    h, w = crop["depth"].shape
    assert (h, w) == (36, 48) and crop["intrinsics"].width == w and crop["intrinsics"].height == h
    full_xyz = backproject(frame["depth"], frame["intrinsics"])[window]
    assert np.allclose(backproject(crop["depth"], crop["intrinsics"]), full_xyz, atol=1e-5)
    bottom, window = crop_frame(frame, "bottom")
    assert window[0].start == 0 and np.array_equal(bottom["depth"], frame["depth"][window])


def test_diagnostics_separate_a_row_prior_from_a_content_model():
    """A content model keeps its error under crops; the row prior's row share is 1, the content model's is not."""
    frames = _content_frames()
    summary = RealFramesReport(frames, {"content": ContentModel()}).run().summary()
    assert summary["content"]["abs_rel_aligned"] < 1e-6
    assert summary["row prior"]["row_share"] == pytest.approx(1.0)
    assert summary["content"]["row_share"] == pytest.approx(summary["content"]["gt_row_share"], abs=1e-6)
    assert summary["content"]["row_share"] < 0.9
    assert np.isnan(summary["constant"]["abs_rel"]) and summary["constant"]["abs_rel_aligned"] > 0.1


def test_crop_ratio_exposes_a_prior_that_needs_the_rows():
    """On depth that depends on rows only, a row prior fitted to full frames fails the crop test."""
    rows = np.linspace(5.0, 1.0, H)[:, None].repeat(W, axis=1) ** 2
    frames = [_frame(rows * (1 + 0.05 * i)) for i in range(2)]
    frames[0]["depth"][0, 0] = 30.0  # one outlier keeps the uncropped error above 0
    summary = RealFramesReport(frames, {}).run().summary()
    assert summary["row prior"]["crop_ratio"] > 1.5


def test_report_files_and_folder_source(tmp_path):
    """A folder source gives named per-frame rows, a JSON with bootstrap rows, and one panel per frame."""
    folder = write_folder(tmp_path / "folder", n=3, height=H, width=W)
    frames, names = real_frames(f"folder:{folder}")
    assert len(frames) == 3 and names[0].endswith("0000.png")
    text = write_report(frames, names, {"content": ContentModel()}, tmp_path / "out")
    assert "| 0002 |" in text and ("undecided" in text or "lower" in text)
    data = json.loads((tmp_path / "out" / "real_frames.json").read_text())
    assert data["frames"] == ["0000", "0001", "0002"] and len(data["bootstrap"]) == 2
    assert len(list((tmp_path / "out").glob("real_*.png"))) == 3


def test_greyscale_folder_images_load_as_rgb(tmp_path):
    """8-bit grey PNGs (mono robot cameras, the OAK-D dev frames) load as three equal channels."""
    import cv2
    folder = write_folder(tmp_path / "folder", n=1, height=H, width=W)
    grey = np.tile(np.arange(W, dtype=np.uint8) * 3, (H, 1))
    cv2.imwrite(str(folder / "rgb" / "0000.png"), grey)
    (frame,), _ = real_frames(f"folder:{folder}")
    assert frame["rgb"].shape == (H, W, 3)
    assert np.array_equal(frame["rgb"][..., 0], grey) and np.array_equal(frame["rgb"][..., 2], grey)


def test_no_frames_is_one_clear_error():
    """An empty frame list is a DataError, not a crash deep in numpy."""
    from training.data.frames import DataError
    with pytest.raises(DataError, match="no frames"):
        RealFramesReport([], {})


def test_cli_compares_every_model_with_the_reference(tmp_path, capsys, monkeypatch):
    """--reference pairs each model with it; an unknown label exits 2 with one line."""
    import training.real_frames_report as module
    folder = write_folder(tmp_path / "folder", n=2, height=H, width=W)
    monkeypatch.setattr(module, "load_models", lambda specs: {s.split("=")[0]: ContentModel() for s in specs})
    argv = ["--source", f"folder:{folder}", "--output", str(tmp_path / "out"), "--checkpoint", "a=x.pt",
            "--checkpoint", "b=y.pt", "--checkpoint", "c=z.pt"]
    assert module.main(argv + ["--reference", "a"]) == 0
    pairs = [(r["a"], r["b"]) for r in json.loads((tmp_path / "out" / "real_frames.json").read_text())["bootstrap"]]
    assert ("b", "a") in pairs and ("c", "a") in pairs and ("c", "b") not in pairs
    capsys.readouterr()
    assert module.main(argv + ["--reference", "nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
