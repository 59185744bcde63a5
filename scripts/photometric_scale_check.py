"""Where the photometric loss of a video bag is lowest: its GT depth x s, warped with the bag's /tf motion.

    python -m scripts.photometric_scale_check BAG [--depth-topic /camera/depth/ground_truth] [--stride 3]
        [--checkpoint modot_ros/weights/modot_lite0.pt]

Reads the bag as ``modot-adapt``'s ``tf`` supervision does (``data.bag_video``: every kept image,
triplets t-k, t, t+k, the motion from /tf) with the GT depth topic, and prints the photometric
loss (``losses.photometric``, single-depth form) of 24 triplets spread over the bag for the depth
scaled by each factor. With exact depth, intrinsics and motion the minimum is at 1; the loss at
the other factors shows how wide the basin is that training has to stay in. With ``--checkpoint``
the same for the network's own prediction (its mixture x s) under the loss ``modot-adapt``
trains with (``losses.compose``, the checkpoint's photometric options): where the minimum lies
for depth whose structure is not exact (experiment log 21).
"""
from __future__ import annotations

import argparse
import sys

import torch

from modot_ros.checkpoint import build_model
from training.config import SourceConfig, config_from_dict
from training.losses.compose import compose_loss
from training.data.sources import real_source
from training.losses.photometric import PhotometricConfig, multiscale_photometric_loss

FACTORS = (0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bag")
    p.add_argument("--depth-topic", default="/camera/depth/ground_truth")
    p.add_argument("--stride", type=int, default=3, help="triplet gap in images (modot-adapt's default)")
    p.add_argument("--triplets", type=int, default=24)
    p.add_argument("--checkpoint", help="also the network's prediction x s under the training loss")
    args = p.parse_args(argv)
    spec = SourceConfig(kind="bag", path=args.bag, weight=1.0, ob="auto", stride=args.stride, poses="tf",
                        depth=args.depth_topic)
    dataset, described = real_source(spec, (240, 320), (240, 320), False, 0, sequence=True)
    picks = torch.linspace(0, len(dataset) - 1, min(args.triplets, len(dataset))).round().long().tolist()
    batch = torch.utils.data.default_collate([dataset[i] for i in picks])
    depth = batch["depth"]
    if not torch.isfinite(depth).any():
        print(f"error: {args.bag}: no depth on {args.depth_topic}; name the GT depth topic with --depth-topic",
              file=sys.stderr)
        return 2
    depth = torch.where(torch.isfinite(depth) & (depth > 0), depth, torch.nanmedian(depth))
    sources = list(batch["sources"].unbind(1))
    poses = list(batch["T_source_from_target"].float().unbind(1))
    moved = torch.stack([pose[:, :3, 3].norm(dim=1) for pose in poses]).mean().item()
    print(f"{len(picks)} triplets of {described['triplets']}, mean camera motion to a source {moved:.3f} m")
    for factor in FACTORS:
        _, terms = multiscale_photometric_loss(batch["rgb"], sources, [1.0 / (depth * factor)], batch["K"].float(),
                                               poses, PhotometricConfig())
        print(f"GT depth x {factor:<4}: photometric {float(terms['pixel']):.5f}")
    if args.checkpoint:
        _network_scales(args.checkpoint, batch)
    return 0


def _network_scales(checkpoint_path: str, batch: dict) -> None:
    """The training loss of the network's own mixture with its inverse depths divided by each factor."""
    model, checkpoint = build_model(checkpoint_path)
    values = {k: v for k, v in checkpoint.training_config.items() if k in ("model", "loss")}
    config = config_from_dict(values | {"run": {"supervision": "self_supervised"}})
    with torch.no_grad():
        out = model.eval()(batch["rgb"], with_boundary=False)
        for factor in FACTORS:
            params = out.depth_params.clone()
            params[:, 0:4] /= factor  # inverse-depth means and spreads: depth x factor
            scaled = type(out)(None, [], params)
            _, terms = compose_loss(scaled, batch, config.model, config.loss, "self_supervised", 0)
            print(f"network depth x {factor:<4}: training photometric {float(terms['photo_photo']):.5f}")


if __name__ == "__main__":
    sys.exit(main())
