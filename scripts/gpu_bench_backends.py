"""GPU benchmark of the inference backends, one command for the GPU machine of shared/ENVIRONMENT.md.

    there: run(command="python3 -m scripts.gpu_bench_backends $OUT")      (about 5 min, budget 7)
    here:  .venv/bin/python -m scripts.gpu_bench_backends OUT --smoke   (CPU, 64x48: what CI runs)

Side by side in one run, random weights, same input: the network forward of lite0 and lite2 at
320x240 and 640x480 through torch (fp16 autocast, channels_last, cudnn.benchmark), onnxruntime's
CUDA provider (fp32) and its TensorRT provider (fp16 engine); then the estimator end to end at
640x480 (uint8 upload, forward, read-out, outputs back on the host): frames/s, p50 latency and the
share of the time outside the forward. A backend the machine lacks gets a row with the reason.
Writes OUT/gpu_backends.json and prints one line per row.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from modot_ros.backends import make_forward
from modot_ros.config import ModelConfig
from modot_ros.geometry import CameraIntrinsics
from modot_ros.inference import DepthBoundaryEstimator
from modot_ros.model.network import DepthBoundaryNet

BACKENDS = ("torch", "onnxruntime", "tensorrt")
FULL = {"encoders": ("efficientnet_lite0", "efficientnet_lite2"), "sizes": ((320, 240), (640, 480)),
        "image": (640, 480), "repeat": 50, "device": "cuda", "budget_s": 420}
SMOKE = {"encoders": ("efficientnet_lite0",), "sizes": ((64, 48),), "image": (96, 64), "repeat": 2,
         "device": "cpu", "budget_s": 120}


def _timed(fn, device: torch.device, repeat: int) -> np.ndarray:
    """Wall times (ms) of ``fn()`` after 3 warm-up calls, synchronising the GPU each time."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(3):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return np.asarray(times)


def _network(encoder: str, size: tuple[int, int]) -> DepthBoundaryNet:
    torch.manual_seed(0)
    config = ModelConfig(encoder=encoder, input_width=size[0], input_height=size[1], pretrained_encoder=False)
    return DepthBoundaryNet(config, pretrained=False).eval()


def forward_rows(settings: dict, device: torch.device, cache: Path) -> list[dict]:
    rows = []
    for encoder in settings["encoders"]:
        for size in settings["sizes"]:
            model = _network(encoder, size)
            x = torch.rand(1, 3, size[1], size[0], device=device).contiguous(memory_format=torch.channels_last)
            case = {"what": "forward", "encoder": encoder, "size": f"{size[0]}x{size[1]}"}
            for backend in BACKENDS:
                try:
                    forward = make_forward(backend, copy.deepcopy(model), device, "auto", cache=cache)
                except Exception as error:  # noqa: BLE001 - a missing provider is a result, not a failure
                    rows.append(case | {"backend": backend, "unavailable": str(error).splitlines()[0]})
                    continue
                ms = _timed(lambda: forward(x), device, settings["repeat"])
                rows.append(case | {"backend": forward.name, "p50_ms": float(np.median(ms)),
                                    "p95_ms": float(np.percentile(ms, 95))})
    return rows


def estimator_rows(settings: dict, device: torch.device, cache: Path) -> list[dict]:
    """Estimator end to end on a full camera image, net at the first size."""
    width, height = settings["image"]
    rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    intr = CameraIntrinsics(0.9 * width, 0.9 * width, width / 2 - 0.5, height / 2 - 0.5, width, height)
    rows = []
    for backend in BACKENDS:
        case = {"what": "estimator", "encoder": settings["encoders"][0], "image": f"{width}x{height}"}
        try:
            estimator = DepthBoundaryEstimator(_network(settings["encoders"][0], settings["sizes"][0]),
                                               device=str(device), backend=backend, onnx_cache=cache)
        except Exception as error:  # noqa: BLE001
            rows.append(case | {"backend": backend, "unavailable": str(error).splitlines()[0]})
            continue
        x = torch.rand(1, 3, settings["sizes"][0][1], settings["sizes"][0][0], device=device)
        forward = np.median(_timed(lambda: estimator._network(x), device, settings["repeat"]))
        total = _timed(lambda: estimator.predict(rgb, intr), device, settings["repeat"])
        rows.append(case | {"backend": estimator.backend, "p50_ms": float(np.median(total)),
                            "hz": float(1e3 / total.mean()), "outside_forward": float(1 - forward / np.median(total))})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder for gpu_backends.json (and the ONNX/TensorRT caches)")
    parser.add_argument("--smoke", action="store_true", help="tiny CPU run (CI)")
    args = parser.parse_args(argv)
    settings = SMOKE if args.smoke else FULL
    device = torch.device(settings["device"])
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_bench_backends: no CUDA device here; use --smoke on a CPU machine", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start, rows = time.monotonic(), []
    for stage in (forward_rows, estimator_rows):
        over = time.monotonic() - start > settings["budget_s"]
        new = [{"what": stage.__name__, "skipped": "time budget spent"}] if over else \
            stage(settings, device, out / "cache")
        for row in new:
            print("gpu_bench_backends:", json.dumps(row), flush=True)
        rows += new
    (out / "gpu_backends.json").write_text(json.dumps(
        {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
         "torch": torch.__version__, "smoke": args.smoke, "seconds": round(time.monotonic() - start, 1),
         "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
