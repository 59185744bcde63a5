"""Synthetic engine throughput: frames/s at 240x320 (CPU single frame, batched; CUDA batched if present)."""
from __future__ import annotations

import torch

from benchmarks.harness import benchmark, timeit
from training.synth.render import render_batch
from training.synth.sample import sample_scene


def _rate(scenes, height, width, device, repeat):
    stats = timeit(lambda: render_batch(scenes, height, width, device=device, seeds=list(range(len(scenes)))),
                   warmup=1, repeat=repeat)
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return len(scenes) / (stats["median_ms"] / 1e3), stats


@benchmark("synth.frames_per_second")
def frames_per_second(quick: bool) -> list[dict]:
    """Rendering rate incl. labels, shadows, textures and camera effects (mixed indoor/outdoor seeds).

    Goals from the issue: >= 20 frames/s on CPU, >= 1000 frames/s batched on a GPU.
    """
    height, width = (96, 128) if quick else (240, 320)
    scenes = [sample_scene(s) for s in range(16)]
    rows = []
    cpu_rates = []
    for s in scenes[: 2 if quick else 8]:
        rate, _ = _rate([s], height, width, "cpu", 1 if quick else 3)
        cpu_rates.append(rate)
    rate = sorted(cpu_rates)[len(cpu_rates) // 2]
    rows.append({"name": f"cpu 1 frame {height}x{width} (median over scenes)", "value": round(rate, 1),
                 "unit": "frames/s", "goal": ">= 20", "ok": rate >= 20 or quick,
                 "note": f"torch threads={torch.get_num_threads()}"})
    rate, _ = _rate(scenes[:8], height, width, "cpu", 1 if quick else 2)
    rows.append({"name": f"cpu batch 8 {height}x{width}", "value": round(rate, 1), "unit": "frames/s",
                 "goal": ">= 20", "ok": rate >= 20 or quick})
    if torch.cuda.is_available():
        batch = 8 if quick else 64
        many = [sample_scene(s) for s in range(batch)]
        rate, _ = _rate(many, height, width, "cuda", 2 if quick else 5)
        rows.append({"name": f"cuda batch {batch} {height}x{width}", "value": round(rate, 1),
                     "unit": "frames/s", "goal": ">= 1000", "ok": rate >= 1000 or quick})
    return rows
