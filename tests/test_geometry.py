"""Camera geometry: intrinsics scaling must agree with how images are actually resized."""
import cv2
import numpy as np
import pytest
import torch

from modot_ros.geometry import (
    CameraIntrinsics,
    backproject,
    backproject_torch,
    intrinsics_tensor,
    pixel_grid_to_normalized,
    project_torch,
    transform_points_torch,
)

INTR = CameraIntrinsics(fx=300.0, fy=310.0, cx=155.3, cy=118.7, width=320, height=240)


@pytest.mark.parametrize("size", [(640, 480), (160, 120), (213, 97)])
def test_scaled_intrinsics_land_on_resized_pixels(size):
    """A 3D point projects onto the same image content before and after cv2.resize."""
    width, height = size
    u_ramp = np.tile(np.arange(INTR.width, dtype=np.float32), (INTR.height, 1))
    resized = cv2.resize(u_ramp, (width, height), interpolation=cv2.INTER_LINEAR)
    scaled = INTR.scaled_to(width, height)
    point = np.array([0.21, -0.1, 2.0])
    u_old = INTR.fx * point[0] / point[2] + INTR.cx
    u_new = scaled.fx * point[0] / point[2] + scaled.cx
    j = int(np.floor(u_new))
    sampled = resized[height // 2, j] + (u_new - j) * (resized[height // 2, j + 1] - resized[height // 2, j])
    assert sampled == pytest.approx(u_old, abs=1e-3)


def test_scaling_round_trip_and_crop():
    """Scaling there and back restores the intrinsics; cropping shifts the principal point."""
    back = INTR.scaled_to(97, 61).scaled_to(INTR.width, INTR.height)
    np.testing.assert_allclose(back.matrix(), INTR.matrix(), atol=1e-9)
    crop = INTR.cropped(10, 20, 100, 50)
    assert (crop.cx, crop.cy, crop.width, crop.height) == (INTR.cx - 10, INTR.cy - 20, 100, 50)
    with pytest.raises(ValueError, match="leaves"):
        INTR.cropped(300, 0, 100, 10)


@pytest.mark.parametrize("bad", [dict(fx=0.0), dict(fy=float("nan")), dict(width=0)])
def test_invalid_intrinsics_rejected(bad):
    """Zero/NaN focal lengths or empty sizes fail at construction with the field named."""
    fields = dict(fx=1.0, fy=1.0, cx=0.0, cy=0.0, width=4, height=4) | bad
    with pytest.raises(ValueError):
        CameraIntrinsics(**fields)


def test_backproject_numpy_matches_torch_and_projects_back():
    """Back-projected points re-project to their pixels; numpy and torch agree; NaN stays NaN."""
    depth = np.random.default_rng(0).uniform(0.5, 10, (INTR.height, INTR.width)).astype(np.float32)
    depth[3, 4] = np.nan
    xyz = backproject(depth, INTR)
    assert np.isnan(xyz[3, 4]).all() and np.isfinite(xyz[5, 5]).all()
    K = intrinsics_tensor(INTR)
    depth_t = torch.from_numpy(np.nan_to_num(depth, nan=1.0))[None, None]
    points = backproject_torch(depth_t, K)
    finite = np.isfinite(depth)
    np.testing.assert_allclose(points[0].permute(1, 2, 0).numpy()[finite], xyz[finite], rtol=1e-5, atol=1e-5)
    uv, z = project_torch(points, K)
    v, u = np.mgrid[: INTR.height, : INTR.width]
    np.testing.assert_allclose(uv[0, 0].numpy(), u, atol=1e-3)
    np.testing.assert_allclose(uv[0, 1].numpy(), v, atol=1e-3)
    np.testing.assert_allclose(z[0, 0].numpy(), depth_t[0, 0].numpy(), rtol=1e-6)


def test_warp_with_identity_pose_is_identity_sampling():
    """grid_sample at projected pixels under the identity pose returns the image unchanged."""
    image = torch.rand(1, 3, 24, 32)
    K = intrinsics_tensor(INTR.scaled_to(32, 24))
    points = transform_points_torch(backproject_torch(torch.full((1, 1, 24, 32), 3.0), K), torch.eye(4)[None])
    uv, _ = project_torch(points, K)
    warped = torch.nn.functional.grid_sample(image, pixel_grid_to_normalized(uv, 32, 24), align_corners=False)
    torch.testing.assert_close(warped, image, atol=1e-4, rtol=0)
