"""Where one ``DepthBoundaryEstimator.predict()`` spends its time, stage by stage, per backend.

Each backend runs in its own process (two engines' thread pools in one process slow each other)
on the same synthetic frame. ``staged_predict`` repeats ``predict()``'s steps for one frame with a
clock between them, and each process first checks that its outputs equal ``predict()``'s, so the
profile cannot drift from the code it times. ``predict`` (untimed inside) is reported beside the
stages' sum. Group: ``python -m benchmarks --only stages``; one backend: ``python -m
benchmarks.bench_stages --backend openvino [--net 320x240] [--image 640x480] [--threads 1]``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.harness import benchmark
from modot_ros import mixture
from modot_ros.geometry import CameraIntrinsics

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "onnxruntime", "openvino")


class Laps:
    """Wall time since the previous lap, per stage name (ms); waits for the GPU before each lap."""

    def __init__(self, device: torch.device) -> None:
        self.cuda, self.ms, self._last = device.type == "cuda", {}, time.perf_counter()

    def __call__(self, stage: str) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        now = time.perf_counter()
        self.ms[stage] = self.ms.get(stage, 0.0) + (now - self._last) * 1e3
        self._last = now


def staged_predict(estimator, rgb: np.ndarray, intr: CameraIntrinsics) -> tuple[dict, dict[str, float]]:
    """``estimator.predict(rgb, intr)``'s arrays for one mixture frame, and each stage's time (ms)."""
    cfg, lap = estimator.config, Laps(estimator.device)
    images = torch.from_numpy(np.ascontiguousarray(rgb[None])).to(estimator.device)
    lap("to tensor")
    x = F.interpolate(images.permute(0, 3, 1, 2), size=(cfg.input_height, cfg.input_width), mode="bilinear",
                      align_corners=False, antialias=True)  # to_network_input, step by step (CPU)
    lap("resize (antialiased bilinear, uint8)")
    x = x.float().div_(255.0)
    lap("normalise (uint8 -> float / 255, network size)")
    x = x.contiguous(memory_format=torch.channels_last)
    if not estimator.backend.startswith("torch"):
        x = x.float().contiguous()  # the graph engines read NCHW: their forward makes this copy itself
    lap("layout (channels_last; NCHW again for graph engines)")
    params, logits = estimator._network(x)
    lap("engine call")
    height, width = rgb.shape[:2]
    boundary = torch.sigmoid(mixture.resize_params(logits, (height, width)))
    lap("OB (resize logits, sigmoid)")
    metric = mixture.to_metric(params, estimator._scales([intr]))
    lap("canonical -> metric camera (network size)")
    metric = mixture.resize_params(metric, (height, width))
    lap("resample mixture parameters")
    read = mixture.readout(metric)
    depth, depth_mean, sigma, amb, confidence = read.depth, read.depth_mean, read.sigma, read.ambiguity, read.confidence
    lap("read-outs (dominant mode, mean, sigma, ambiguity, confidence)")
    out = {name: t[0, 0].cpu().numpy() for name, t in (("depth", depth), ("depth_mean", depth_mean),
           ("boundary", boundary), ("confidence", confidence), ("ambiguity", amb), ("sigma", sigma))}
    out["params"] = metric[0].cpu().numpy()
    lap("to numpy")
    return out, lap.ms


def frame(width: int, height: int) -> tuple[np.ndarray, CameraIntrinsics]:
    """A smooth image with sensor noise (the engines' cost does not depend on content)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(40, 220, width)[None, :, None] + np.linspace(0, 30, height)[:, None, None]
    rgb = np.clip(ramp + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
    return rgb, CameraIntrinsics(0.9 * width, 0.9 * width, width / 2 - 0.5, height / 2 - 0.5, width, height)


def profile(backend: str, net: tuple[int, int], image: tuple[int, int], threads: int, repeat: int,
            cache: str, torch_threads: int = 0) -> dict:
    """Median ms per stage of ``repeat`` frames through ``backend`` (this process only), after a parity check."""
    from modot_ros.config import ModelConfig
    from modot_ros.inference import DepthBoundaryEstimator

    if torch_threads:  # the node leaves torch's pool at its default for the graph engines
        torch.set_num_threads(torch_threads)
    config = ModelConfig(input_width=net[0], input_height=net[1], pretrained_encoder=False)
    estimator = DepthBoundaryEstimator.from_random(config, device="cpu", backend=backend, threads=threads,
                                                   onnx_cache=cache, warmup=2)
    rgb, intr = frame(*image)
    expected, (staged, _) = estimator.predict(rgb, intr), staged_predict(estimator, rgb, intr)
    for name, value in staged.items():
        np.testing.assert_allclose(value, getattr(expected, name), rtol=1e-5, atol=1e-6, err_msg=name)
    laps, whole = [], []
    for _ in range(repeat):
        laps.append(staged_predict(estimator, rgb, intr)[1])
        start = time.perf_counter()
        estimator.predict(rgb, intr)
        whole.append((time.perf_counter() - start) * 1e3)
    stages = {stage: float(np.median([ms[stage] for ms in laps])) for stage in laps[0]}
    return {"backend": estimator.backend, "torch_threads": torch.get_num_threads(), "stages": stages,
            "stages_sum": float(np.median([sum(ms.values()) for ms in laps])), "predict": float(np.median(whole))}


def in_process(backend: str, net, image, threads: int, repeat: int, cache: str) -> dict:
    """``profile`` in a fresh Python process (its own thread pools), returned through a JSON file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stages.json"
        subprocess.run([sys.executable, "-m", "benchmarks.bench_stages", "--backend", backend,
                        "--net", f"{net[0]}x{net[1]}", "--image", f"{image[0]}x{image[1]}", "--threads",
                        str(threads), "--repeat", str(repeat), "--cache", cache, "--json", str(out)],
                       cwd=REPO, check=True, timeout=600, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


@benchmark("stages")
def stages(quick: bool) -> list[dict]:
    """predict() per stage for each CPU backend, net 320x240, camera image 640x480 (quick: 320x240)."""
    net, image = (320, 240), (320, 240) if quick else (640, 480)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for threads in (1,) if quick else (1, 2):
            for backend in BACKENDS:
                result = in_process(backend, net, image, threads, 3 if quick else 30, cache)
                label = (f"stages {result['backend']}, {threads} thread{'s' * (threads > 1)}, "
                         f"image {image[0]}x{image[1]}")
                rows.append({"name": f"{label}: predict()", "value": result["predict"], "unit": "ms",
                             "note": f"stages sum {result['stages_sum']:.1f} ms"})
                rows += [{"name": f"  {stage}", "value": ms, "unit": "ms"} for stage, ms in result["stages"].items()]
    return rows


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="openvino")
    parser.add_argument("--net", type=_size, default=(320, 240), help="network input, WxH")
    parser.add_argument("--image", type=_size, default=(640, 480), help="camera image, WxH")
    parser.add_argument("--threads", type=int, default=1, help="the engine's threads (the node's `threads`)")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch's pool for pre/post; 0 = its default")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cache", default="", help="ONNX/IR cache folder (default: a temporary one)")
    parser.add_argument("--json", default="", help="write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = profile(args.backend, args.net, args.image, args.threads, args.repeat, args.cache or tmp,
                         args.torch_threads)
    print(f"{result['backend']}, engine threads {args.threads}, torch threads {result['torch_threads']}, "
          f"net {args.net[0]}x{args.net[1]}, image {args.image[0]}x{args.image[1]}, median of {args.repeat}")
    for stage, ms in result["stages"].items():
        print(f"  {stage:<52} {ms:8.2f} ms")
    print(f"  {'sum of stages':<52} {result['stages_sum']:8.2f} ms\n  {'predict()':<52} {result['predict']:8.2f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
