"""Training-loss cost: the K = 2 mixture photometric loss vs the single-depth baseline."""
from __future__ import annotations

import torch

from benchmarks.harness import benchmark, timeit
from training.losses.photometric import depth_photometric_loss, mixture_photometric_loss


def _batch(batch: int, height: int, width: int):
    g = torch.Generator().manual_seed(0)
    target = torch.rand(batch, 3, height, width, generator=g)
    sources = [torch.rand(batch, 3, height, width, generator=g) for _ in range(2)]
    K = torch.tensor([[width * 0.6, 0.0, width / 2 - 0.5], [0.0, width * 0.6, height / 2 - 0.5],
                      [0.0, 0.0, 1.0]]).expand(batch, 3, 3).contiguous()
    poses = []
    for tx in (0.1, -0.1):
        pose = torch.eye(4).expand(batch, 4, 4).clone()
        pose[:, 0, 3] = tx
        poses.append(pose)
    return target, sources, K, poses


@benchmark("losses.photometric_step")
def photometric_step(quick: bool) -> list[dict]:
    """Forward + backward of one scale at the CPU-training size (96x320, batch 4, 2 sources).

    Goal from the cost model of mixture_depth.md §8.C: K = 2 warps per source, so about 2x
    the single-depth loss plus the uncertainty propagation; 4x is the budget we allow.
    """
    batch, height, width = (1, 48, 64) if quick else (4, 96, 320)
    target, sources, K, poses = _batch(batch, height, width)
    mu = (0.2 + 0.3 * torch.rand(batch, 2, height, width)).requires_grad_(True)
    sigma = torch.full((batch, 2, height, width), 0.02, requires_grad=True)
    weight = torch.full((batch, 1, height, width), 0.6, requires_grad=True)

    def mixture():
        mixture_photometric_loss(target, sources, mu, sigma, weight, K, poses)[0].backward()

    def single():
        depth_photometric_loss(target, sources, mu[:, :1], K, poses)[0].backward()

    repeat = 3 if quick else 10
    mix, one = timeit(mixture, repeat=repeat), timeit(single, repeat=repeat)
    ratio = mix["median_ms"] / one["median_ms"]
    size = f"{width}x{height} b{batch}"
    return [
        {"name": f"mixture photometric fwd+bwd {size}", "value": mix["median_ms"], "unit": "ms",
         "ratio": ratio, "ratio_to": "single-depth loss", "goal": "<= 4x", "ok": ratio <= 4.0},
        {"name": f"single-depth photometric fwd+bwd {size}", "value": one["median_ms"],
         "unit": "ms"},
    ]
