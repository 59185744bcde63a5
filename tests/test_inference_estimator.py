"""DepthBoundaryEstimator and checkpoint files: the contract the node and evaluations rely on."""
import numpy as np
import pytest
import torch

from modot_ros import DepthBoundaryEstimator
from modot_ros.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from modot_ros.config import ModelConfig
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import resolve_device

CONFIG = ModelConfig(input_height=64, input_width=96, pretrained_encoder=False)


@pytest.fixture(scope="module")
def estimator():
    return DepthBoundaryEstimator.from_random(CONFIG, device="cpu", warmup=0)


@pytest.fixture
def image():
    return (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)


INTR = CameraIntrinsics(fx=70.0, fy=70.0, cx=39.5, cy=29.5, width=80, height=60)


def test_prediction_at_input_resolution(estimator, image):
    """Every output is per pixel of the input image, float32, with the intrinsics of that grid."""
    p = estimator.predict(image, INTR)
    for name in ("depth", "depth_mean", "boundary", "confidence", "ambiguity", "sigma"):
        arr = getattr(p, name)
        assert arr.shape == (60, 80) and arr.dtype == np.float32, name
    assert p.params.shape == (5, 60, 80)
    assert p.intrinsics == INTR
    assert np.isfinite(p.depth).all() and (p.depth > 0).all()
    assert ((p.boundary > 0) & (p.boundary < 1)).all()
    dominant = np.where(p.params[4] >= 0.5, p.params[0], p.params[1])
    np.testing.assert_allclose(p.depth, 1.0 / dominant, rtol=1e-5)


def test_requested_output_size_scales_intrinsics(estimator, image):
    """Outputs at another resolution come with intrinsics that match them exactly."""
    p = estimator.predict(image, INTR, output_size=(160, 120))
    assert p.depth.shape == (120, 160) and p.intrinsics == INTR.scaled_to(160, 120)


def test_depth_scales_with_focal_length(estimator, image):
    """Canonical camera: the same picture from a longer lens means proportionally farther."""
    near = estimator.predict(image, INTR)
    far = estimator.predict(image, CameraIntrinsics(140.0, 140.0, 39.5, 29.5, 80, 60))
    np.testing.assert_allclose(far.depth, 2 * near.depth, rtol=1e-5)
    np.testing.assert_allclose(far.sigma, 2 * near.sigma, rtol=1e-5)
    np.testing.assert_allclose(far.boundary, near.boundary)


def test_batch_and_predict_batch_agree_with_single(estimator, image):
    """Offline evaluation paths give the same numbers as the per-frame path."""
    single = estimator.predict(image, INTR)
    batch = estimator.predict(np.stack([image, image[::-1].copy()]), INTR)
    assert batch.depth.shape == (2, 60, 80) and len(batch.intrinsics) == 2
    np.testing.assert_allclose(batch.depth[0], single.depth, rtol=1e-4)
    crop = image[:40, :64].copy()
    listed = estimator.predict_batch([image, crop], [INTR, INTR.cropped(0, 0, 64, 40)], batch_size=2)
    np.testing.assert_allclose(listed[0].depth, single.depth, rtol=1e-4)
    assert listed[1].depth.shape == (40, 64)


def test_bad_inputs_are_clear_errors(estimator, image):
    """Wrong dtype / shape / intrinsics size name the problem and the fix."""
    with pytest.raises(TypeError, match="uint8"):
        estimator.predict(image.astype(np.float32), INTR)
    with pytest.raises(ValueError, match="scaled_to"):
        estimator.predict(image, INTR.scaled_to(40, 30))


def test_device_resolution():
    """Explicit CUDA on a machine without it fails with a message saying what to do."""
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA requested but not available; use device=cpu"):
            resolve_device("cuda:0")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device("tpu!")


def test_checkpoint_round_trip_fp16(tmp_path, estimator, image):
    """A saved model reloads strictly with weights_only and predicts the same (fp16 storage)."""
    path = save_checkpoint(tmp_path / "m.pt", estimator.model, CONFIG, half=True,
                           training_config={"lr": 1e-3}, data={"name": "synth"}, metrics={"absrel": 0.1})
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == CONFIG and ckpt.metrics == {"absrel": 0.1}
    assert all(v.dtype != torch.float16 for v in ckpt.state_dict.values())
    reloaded = DepthBoundaryEstimator.from_checkpoint(path, device="cpu", warmup=0)
    # Compare smooth outputs: untrained weights sit near w=0.5, where fp16 rounding may flip
    # the dominant component of a pixel.
    new, old = reloaded.predict(image, INTR), estimator.predict(image, INTR)
    np.testing.assert_allclose(new.params, old.params, rtol=2e-2, atol=1e-3)
    np.testing.assert_allclose(new.boundary, old.boundary, atol=1e-2)


def test_bad_checkpoints_give_one_clear_error(tmp_path, estimator):
    """Missing, truncated, foreign or mismatched files all raise CheckpointError naming the file."""
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    good = save_checkpoint(tmp_path / "good.pt", estimator.model, CONFIG)
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="trunc.pt.*truncated or corrupt"):
        load_checkpoint(truncated)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="bare state_dict"):
        load_checkpoint(tmp_path / "foreign.pt")
    other = ModelConfig(**{**CONFIG.to_dict(), "variant": "joint"})
    save_checkpoint(tmp_path / "mismatch.pt", estimator.model, other)
    with pytest.raises(CheckpointError, match="unexpected keys.*casms"):
        DepthBoundaryEstimator.from_checkpoint(tmp_path / "mismatch.pt", device="cpu", warmup=0)


def test_refuses_to_run_without_weights(monkeypatch, tmp_path):
    """Without installed weights, loading the default says so instead of running random weights."""
    weights = tmp_path / "weights"
    weights.mkdir()  # an install whose weights folder is empty
    monkeypatch.setattr("modot_ros.inference.default_weights_path", lambda: weights / "modot_lite0.pt")
    with pytest.raises(CheckpointError, match="default weights are not installed"):
        DepthBoundaryEstimator.from_checkpoint()


def test_checkpoint_rejects_non_plain_payload(tmp_path, estimator):
    """Anything weights_only=True could not load is refused at save time."""
    with pytest.raises(TypeError, match="not a plain type"):
        save_checkpoint(tmp_path / "x.pt", estimator.model, CONFIG, metrics={"f": object()})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_and_cuda_agree(image):
    """Same weights give the same outputs on CPU (fp32) and CUDA (fp32: 1e-3, fp16 autocast: 3%)."""
    cpu = DepthBoundaryEstimator.from_random(CONFIG, device="cpu", warmup=0)
    ref = cpu.predict(image, INTR)
    for precision, rtol, atol in (("fp32", 1e-3, 1e-3), ("fp16", 3e-2, 2e-2)):
        gpu = DepthBoundaryEstimator.from_random(CONFIG, device="cuda", precision=precision)
        out = gpu.predict(image, INTR)
        np.testing.assert_allclose(out.params, ref.params, rtol=rtol, atol=atol)
        np.testing.assert_allclose(out.depth_mean, ref.depth_mean, rtol=rtol)
        np.testing.assert_allclose(out.boundary, ref.boundary, atol=atol)
        clear = ref.ambiguity < 0.4  # away from w = 0.5 the dominant mode cannot flip
        np.testing.assert_allclose(out.depth[clear], ref.depth[clear], rtol=rtol)
