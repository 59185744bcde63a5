"""Network forward latency: our lite0/lite2 MoDOT networks beside two anchors.

The anchors are built in the same run with random weights: a network of the official MoDOT cost
(Swin-L + a dense conv decoder, ~770 GFLOPs at 480x640, reference/modot.md §1.11) and the
Depth-Anything-V2-Small architecture.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.harness import benchmark, timeit
from modot_ros.config import ModelConfig
from modot_ros.model.network import DepthBoundaryNet
from modot_ros.model.timm_import import import_timm

SIZES = {"320x240": (240, 320), "640x480": (480, 640)}


class ModotCostAnchor(nn.Module):
    """Swin-L (timm, window 12) + dense 3x3 conv decoder sized so the total is ~MoDOT's cost."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        timm = import_timm()
        self.backbone = timm.create_model("swin_large_patch4_window12_384", pretrained=False,
                                          features_only=True, img_size=(height, width))
        channels = self.backbone.feature_info.channels()  # 192, 384, 768, 1536
        widths = (1024, 512, 512, 320)  # coarse to fine; total ~780 GFLOPs at 480x640
        previous = (0, *widths[:-1])
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c + p, w, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1))
            for c, p, w in zip(channels[::-1], previous, widths))
        self.head = nn.Conv2d(widths[-1], 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [f.permute(0, 3, 1, 2) for f in self.backbone(x)][::-1]  # NHWC -> NCHW
        y = None
        for stage, f in zip(self.stages, features):
            inp = f if y is None else torch.cat([f, F.interpolate(y, size=f.shape[-2:])], 1)
            y = stage(inp)
        return F.interpolate(self.head(y), size=x.shape[-2:], mode="bilinear")


def depth_anything_v2_small() -> nn.Module:
    """DA-V2-Small architecture (dinov2-small backbone, DPT head), random init, no download."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                            intermediate_size=1536, patch_size=14, image_size=518,
                            out_features=["stage3", "stage6", "stage9", "stage12"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, neck_hidden_sizes=[48, 96, 192, 384],
                                 fusion_hidden_size=64, reassemble_hidden_size=384, patch_size=14)
    return DepthAnythingForDepthEstimation(config)


def _gflops(model: nn.Module, x: torch.Tensor) -> float:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 1e9


def _measure(name: str, model: nn.Module, shape: tuple[int, int], repeat: int) -> dict:
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, *shape).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        t = timeit(lambda: model(x), warmup=1, repeat=repeat)
    return {"name": name, "value": t["median_ms"], "unit": "ms", "gflops": _gflops(model, x)}


def _ours(encoder: str) -> nn.Module:
    return DepthBoundaryNet(ModelConfig(encoder=encoder), pretrained=False)


def _one_thread_lite0(repeat: int) -> dict:
    """lite0 at 320x240 on one thread.

    Robust to a busy shared CPU, where 2 OpenMP threads stall on each other; a 2-core robot gets
    at least this rate.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        row = _measure("lite0 320x240 modot 1 thread", _ours("efficientnet_lite0"), (240, 320), repeat)
    finally:
        torch.set_num_threads(threads)
    return row | {"goal": "<= 100 ms (10 fps)", "ok": row["value"] <= 100.0}


@benchmark("model.forward_latency")
def forward_latency(quick: bool) -> list[dict]:
    """Batch-1 CPU/GPU-agnostic forward latency (runs on the current default device: CPU)."""
    rows = [_one_thread_lite0(repeat=3 if quick else 10)]
    if quick:
        return rows
    for size, shape in SIZES.items():
        lite0 = _measure(f"lite0 {size}", _ours("efficientnet_lite0"), shape, 10)
        lite2 = _measure(f"lite2 {size}", _ours("efficientnet_lite2"), shape, 10)
        da_shape = (shape[0] // 14 * 14, -(-shape[1] // 14) * 14)  # DA needs multiples of 14
        da = _measure(f"DA-V2-S {da_shape[1]}x{da_shape[0]}", depth_anything_v2_small(), da_shape, 3)
        modot = _measure(f"MoDOT-cost Swin-L {size}", ModotCostAnchor(*shape), shape, 1)
        lite0 |= {"ratio": lite0["value"] / da["value"], "ratio_to": da["name"], "goal": "< 1",
                  "ok": lite0["value"] < da["value"]}
        lite2 |= {"ratio": modot["value"] / lite2["value"], "ratio_to": "speed-up vs MoDOT-cost",
                  "goal": ">= 10", "ok": modot["value"] >= 10 * lite2["value"]}
        if size == "320x240":
            lite0 |= {"note": f"10 fps goal: {'ok' if lite0['value'] <= 100 else 'MISSED'}"}
        rows += [lite0, lite2, da, modot]
    for row in rows:
        row["note"] = (row.get("note", "") + f" {row.pop('gflops'):.1f} GFLOPs").strip()
    return rows
