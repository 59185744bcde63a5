"""Half-size training steps (schedule.half_res_fraction): the batch halved without inventing depth."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from modot_ros.config import ConfigError
from training.config import TrainConfig, config_from_dict
from training.data.resolution import halved
from training.trainer import Progress, at_half_resolution, progress


def _batch() -> dict:
    depth = torch.full((1, 1, 4, 6), 4.0)
    depth[..., 1] = 1.0  # a near column inside the blocks of columns 0-1: the near surface wins
    depth[..., 2:4, 4:6] = math.nan  # a block with no depth at all
    depth[..., 0, 4] = math.nan  # a block with one valid sample keeps it
    boundary = torch.zeros(1, 1, 4, 6)
    boundary[..., 3, 2] = 1.0  # a one-pixel boundary survives halving
    boundary[..., 0:2, 0:2] = math.nan  # unknown labels stay unknown
    K = torch.tensor([[[100.0, 0.0, 2.5], [0.0, 90.0, 1.5], [0.0, 0.0, 1.0]]])
    return {"rgb": torch.rand(1, 3, 4, 6), "depth": depth, "boundary": boundary, "K": K}


def test_halved_keeps_the_nearest_surface_thin_boundaries_and_unknowns():
    batch = _batch()
    out = halved(batch)
    assert out["rgb"].shape == (1, 3, 2, 3)
    assert torch.allclose(out["rgb"][0, :, 1, 2], batch["rgb"][0, :, 2:4, 4:6].mean((1, 2)))
    assert out["depth"][0, 0, :, 0].tolist() == [1.0, 1.0]  # near wins, never 2.5 between
    assert out["depth"][0, 0, 0, 2].item() == 4.0 and math.isnan(out["depth"][0, 0, 1, 2].item())
    assert out["boundary"][0, 0, 1, 1].item() == 1.0 and math.isnan(out["boundary"][0, 0, 0, 0].item())
    assert out["boundary"][0, 0, 1, 0].item() == 0.0


def test_halved_intrinsics_project_a_point_onto_its_block_centre():
    batch = _batch()
    K, K2 = batch["K"][0], halved(batch)["K"][0]
    point = torch.tensor([0.3, -0.2, 2.0])
    u, v = (K @ point)[:2] / point[2]
    u2, v2 = (K2 @ point)[:2] / point[2]
    # the block of pixels 2i and 2i+1 is centred at 2i + 0.5 in full-size pixels
    assert (2 * u2 + 0.5).item() == pytest.approx(u.item()) and (2 * v2 + 0.5).item() == pytest.approx(v.item())


def _config(**schedule) -> TrainConfig:
    base = TrainConfig()
    return dataclasses.replace(base, schedule=dataclasses.replace(base.schedule, **schedule))


def test_half_size_phase_is_the_first_fraction_of_the_leg():
    """By steps from scratch, and by the time budget of a leg continuing another run's clock."""
    config = _config(max_steps=100, half_res_fraction=0.25)
    assert at_half_resolution(config, Progress(step=24)) and not at_half_resolution(config, Progress(step=25))
    assert not at_half_resolution(_config(max_steps=100), Progress(step=0))
    # a leg from --init at step 1000 after 600 s, 10 more minutes: half size for its first 150 s
    leg = _config(max_steps=10**6, time_budget_minutes=20.0, half_res_fraction=0.25)
    anchor = (progress(leg, 1000, 600.0), 1e-4)
    assert at_half_resolution(leg, Progress(step=1000, elapsed=600.0, anchor=anchor))
    assert at_half_resolution(leg, Progress(step=1300, elapsed=749.0, anchor=anchor))
    assert not at_half_resolution(leg, Progress(step=1301, elapsed=751.0, anchor=anchor))


def test_half_res_fraction_outside_0_1_is_a_config_error():
    with pytest.raises(ConfigError, match="half_res_fraction"):
        config_from_dict({"schedule": {"half_res_fraction": 1.5}})
