"""Synthetic engine throughput (frames/s incl. labels, shadows, textures, camera effects)."""
from __future__ import annotations

import os
import time

import torch

from benchmarks.harness import benchmark, timeit
from training.data.synth.dataset import SyntheticDepthDataset
from training.data.synth.render import render_batch
from training.data.synth.sample import sample_scene


def _one_thread(_worker: int = 0) -> None:
    torch.set_num_threads(1)  # many tiny ops: intra-op threads only add overhead; scale with workers


def _single_frame_rate(height: int, width: int, n_scenes: int, repeat: int) -> float:
    rates = []
    for seed in range(n_scenes):
        scene = [sample_scene(seed)]
        ms = timeit(lambda: render_batch(scene, height, width, seeds=[seed]), warmup=1, repeat=repeat)["median_ms"]
        rates.append(1e3 / ms)
    return sorted(rates)[len(rates) // 2]


def _loader_rate(height: int, width: int, frames: int, workers: int) -> float:
    ds = SyntheticDepthDataset("train", size=(height, width), length=frames + 2 * workers)
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=workers, worker_init_fn=_one_thread)
    it = iter(loader)
    for _ in range(workers):  # warm-up: workers import, build the photo atlas, render once
        next(it)
    start = time.perf_counter()
    for _ in range(frames):
        next(it)
    return frames / (time.perf_counter() - start)


@benchmark("synth.frames_per_second")
def frames_per_second(quick: bool) -> list[dict]:
    """Synthetic frames per second on CPU (and batched on CUDA, if present).

    CPU: one render per frame on one thread (median over mixed indoor/outdoor scenes) and a
    DataLoader with one worker per core (what training sees). CUDA: batched, if present.
    Goals from the issue: >= 20 frames/s on CPU, >= 1000 frames/s batched on a GPU.
    """
    threads = torch.get_num_threads()
    _one_thread()
    rows = []
    sizes = [(96, 128)] if quick else [(240, 320), (192, 256)]
    try:
        for h, w in sizes:
            rate = _single_frame_rate(h, w, 2 if quick else 8, 1 if quick else 3)
            rows.append({"name": f"cpu 1 thread {h}x{w}", "value": round(rate, 1), "unit": "frames/s",
                         "goal": ">= 20", "ok": rate >= 20 or quick})
        workers = os.cpu_count() or 1
        h, w = sizes[0]
        rate = _loader_rate(h, w, 4 if quick else 32, workers)
        rows.append({"name": f"cpu DataLoader {workers} workers {h}x{w}", "value": round(rate, 1),
                     "unit": "frames/s", "goal": ">= 20", "ok": rate >= 20 or quick})
    finally:
        torch.set_num_threads(threads)
    if torch.cuda.is_available():
        batch = 8 if quick else 128
        scenes = [sample_scene(s) for s in range(batch)]
        h, w = sizes[0]

        def run():
            render_batch(scenes, h, w, device="cuda", seeds=list(range(batch)))
            torch.cuda.synchronize()
        ms = timeit(run, warmup=1, repeat=2 if quick else 5)["median_ms"]
        rate = batch / (ms / 1e3)
        rows.append({"name": f"cuda batch {batch} {h}x{w}", "value": round(rate, 1), "unit": "frames/s",
                     "goal": ">= 1000", "ok": rate >= 1000 or quick})
    return rows
