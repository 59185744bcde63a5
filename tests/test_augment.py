"""Training-time augmentations (training/data/augment.py) and their config group."""
import math
from pathlib import Path

import pytest
import torch

from modot_ros.checkpoint import load_checkpoint
from modot_ros.config import ConfigError
from tests.train_cases import tiny_caches, write_config  # noqa: F401 (fixture)
from training.config import AugmentConfig, TrainConfig, config_from_dict
from training.data.augment import augment_batch, rolled
from training.train import main as train_main, parse_overrides

H, W = 12, 16
SHIPPED = Path(__file__).resolve().parents[1] / "modot_ros" / "weights" / "modot_lite0.pt"
ALL_ON = AugmentConfig(greyscale_prob=0.5, color_jitter=0.4, gamma_jitter=0.5, blur_prob=0.5,
                       noise_std=0.05, randconv_prob=0.5, roll_deg=20.0)


def make_batch(n: int = 2, cx: float = (W - 1) / 2, cy: float = (H - 1) / 2, sequence: bool = False) -> dict:
    g = torch.Generator().manual_seed(0)
    K = torch.tensor([[20.0, 0.0, cx], [0.0, 22.0, cy], [0.0, 0.0, 1.0]]).expand(n, 3, 3).clone()
    batch = {"rgb": torch.rand(n, 3, H, W, generator=g),
             "depth": torch.arange(1.0, n * H * W + 1).view(n, 1, H, W),
             "boundary": (torch.rand(n, 1, H, W, generator=g) > 0.8).float(), "K": K}
    if sequence:
        batch |= {"sources": torch.rand(n, 2, 3, H, W, generator=g),
                  "T_source_from_target": torch.eye(4).expand(n, 2, 4, 4).clone()}
    return batch


def test_greyscale_makes_the_three_channels_equal():
    """greyscale_prob=1 gives every image equal R, G and B, as a mono camera's driver sends them."""
    out = augment_batch(make_batch(), AugmentConfig(greyscale_prob=1.0, color_jitter=0.3, noise_std=0.05), (0, 3, 0))
    assert torch.equal(out["rgb"][:, 0], out["rgb"][:, 1]) and torch.equal(out["rgb"][:, 1], out["rgb"][:, 2])


def test_roll_by_zero_is_identity():
    """A zero roll changes no pixel of any map."""
    batch = make_batch(cx=5.3, cy=4.0)
    out = rolled(batch, torch.zeros(2))
    assert torch.equal(out["depth"], batch["depth"]) and torch.equal(out["boundary"], batch["boundary"])
    torch.testing.assert_close(out["rgb"], batch["rgb"])
    assert torch.equal(out["K"], batch["K"])


def test_roll_keeps_depth_values_and_leaves_corners_unknown():
    """A roll only moves depth values (nearest, never blended), and pixels turned in from outside are NaN."""
    batch = make_batch()
    out = rolled(batch, torch.tensor([math.radians(30), math.radians(-25)]))
    depth, boundary = out["depth"], out["boundary"]
    known = depth[~depth.isnan()]
    assert set(known.tolist()) <= set(batch["depth"].flatten().tolist())
    for corner in ((0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)):
        assert depth[:, 0][(slice(None), *corner)].isnan().all()
        assert boundary[:, 0][(slice(None), *corner)].isnan().all()
    assert not torch.isnan(out["rgb"]).any()


def test_roll_turns_about_the_principal_point():
    """The pixel at (cx, cy) stays where it is, also when the principal point is off centre."""
    batch = make_batch(n=1, cx=4.0, cy=3.0)
    batch["depth"][0, 0, 3, 4] = -7.0
    out = rolled(batch, torch.tensor([math.radians(37)]))
    assert out["depth"][0, 0, 3, 4] == -7.0
    torch.testing.assert_close(out["rgb"][0, :, 3, 4], batch["rgb"][0, :, 3, 4])
    assert (out["depth"] == -7.0).sum() == 1


def test_default_config_leaves_the_batch_alone():
    """With the default (all off) config the trainer's batch is returned as it came."""
    batch = make_batch()
    assert not AugmentConfig().active
    assert augment_batch(batch, AugmentConfig(), (0, 0, 0)) is batch


def test_augmentations_are_seeded_by_step():
    """The same (seed, step, rank) gives the same batch (resume); another step another one."""
    rng = torch.get_rng_state()
    one, two = (augment_batch(make_batch(), ALL_ON, (0, 5, 0)) for _ in range(2))
    assert torch.equal(torch.get_rng_state(), rng)  # the global RNG that last.pt saves is untouched
    other = augment_batch(make_batch(), ALL_ON, (0, 6, 0))
    torch.testing.assert_close(one, two, rtol=0, atol=0, equal_nan=True)
    assert not torch.equal(one["rgb"], other["rgb"])
    assert one["rgb"].min() >= 0 and one["rgb"].max() <= 1


def test_self_supervised_batches_are_not_rolled_and_sources_share_the_look():
    """Batches with source frames keep their geometry, and a target and its sources go grey together."""
    batch = make_batch(sequence=True)
    out = augment_batch(batch, AugmentConfig(greyscale_prob=1.0, roll_deg=30.0), (1, 2, 0))
    assert torch.equal(out["depth"], batch["depth"])
    for frames in (out["rgb"], out["sources"][:, 0], out["sources"][:, 1]):
        assert torch.equal(frames[:, 0], frames[:, 2])


@pytest.mark.parametrize("key, value", [("greyscale_prob", 1.5), ("roll_deg", -1.0), ("noise_std", float("nan")),
                                        ("color_jitter", 1.0), ("blur_max_sigma", 0.0), ("randconv_prob", "often")])
def test_config_rejects_bad_values(key, value):
    """Out-of-range or non-numeric augment values stop the run with a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=f"augment.{key}"):
        config_from_dict({"augment": {key: value}})


def test_set_override_reaches_the_augment_group():
    """--set augment.greyscale_prob=0.5 sets the field."""
    assert config_from_dict(parse_overrides(["augment.greyscale_prob=0.5"])).augment.greyscale_prob == 0.5


def test_checkpoint_config_without_augment_loads():
    """A config stored by a checkpoint from before the augment group loads, with augmentation off."""
    stored = TrainConfig().to_dict()
    del stored["augment"]
    assert config_from_dict(stored).augment == AugmentConfig()
    shipped = load_checkpoint(SHIPPED).training_config  # leg 4's config; legs 2-3 had no augment group
    run_config = {k: v for k, v in shipped.items() if k not in ("run_stats", "provenance", "augment")}
    assert config_from_dict(run_config).augment == AugmentConfig()


@pytest.mark.parametrize("supervision", ["supervised", "self_supervised"])
def test_training_runs_with_every_augmentation(tmp_path, tiny_caches, supervision):  # noqa: F811
    """A short run with all augmentations on trains and stores the augment group in its checkpoint."""
    config = write_config(tmp_path / "c.yaml", tiny_caches, augment=ALL_ON.__dict__ | {"roll_deg": 10.0},
                          run={"supervision": supervision}, schedule={"max_steps": 2, "checkpoint_every": 1000},
                          optim={"amp": False})
    assert train_main(["--config", str(config), "--output", str(tmp_path / "run")]) == 0
    assert load_checkpoint(tmp_path / "run" / "final.pt").training_config["augment"]["roll_deg"] == 10.0
