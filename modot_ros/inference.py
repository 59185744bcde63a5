"""``DepthBoundaryEstimator``: the one inference contract (node, bag evaluation, training eval).

RGB uint8 + intrinsics in; metric depth (dominant mixture mode), mean depth, OB probability,
confidence, ambiguity, within-surface sigma and the mixture parameters out, at the input
resolution (or a requested one) together with the intrinsics of that output grid.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from modot_ros import mixture
from modot_ros.backends import make_forward, split_device
from modot_ros.checkpoint import CheckpointError, build_model, default_weights_path
from modot_ros.config import ModelConfig
from modot_ros.geometry import CameraIntrinsics
from modot_ros.model.canonical import canonical_scale, network_focal
from modot_ros.model.network import DepthBoundaryNet


@dataclass
class Prediction:
    """Per-pixel outputs, float32 (H, W) arrays (leading B for batch input).

    None when the model variant lacks the task. Depths in metres, NaN invalid.

    params: (C, H, W) mixture parameters in *metric* inverse depth (1/m):
        [mu_1, mu_2, sigma_1, sigma_2, w_1] (mixture) or [mu] (regression).
    intrinsics: intrinsics of the output grid (a list for batch input).
    """

    depth: np.ndarray | None
    depth_mean: np.ndarray | None
    boundary: np.ndarray | None
    confidence: np.ndarray | None
    ambiguity: np.ndarray | None
    sigma: np.ndarray | None
    params: np.ndarray | None
    intrinsics: CameraIntrinsics | list[CameraIntrinsics]


@dataclass(frozen=True)
class NetworkResult:
    """What the network returned for one ``infer`` call, before any read-out (see ``read_out``)."""

    params: torch.Tensor | None  # canonical mixture parameters at the network's size
    logits: torch.Tensor | None  # OB logits at the network's size
    scales: torch.Tensor  # (B,) canonical -> metric, per image
    intrinsics: list[CameraIntrinsics]
    batch: bool  # the input was a (B, H, W, 3) batch
    input_size: tuple[int, int]  # (width, height) of the input images


def weights_path(path: str | Path | None = None) -> Path:
    """The checkpoint to load: ``path``, or the packaged default weights when it is None or empty.

    Raises ``CheckpointError`` when the packaged default is asked for but not installed.
    """
    if path:
        return Path(path)
    default = default_weights_path()
    if not default.is_file():
        raise CheckpointError(default, "default weights are not installed yet; train a model "
                              "(python -m training.train) or pass a checkpoint path")
    return default


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> cuda if available else cpu; explicit cuda without CUDA is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device {device!r} not understood; use auto, cpu or cuda[:N]") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA requested but not available; use device=cpu")
    return resolved


def to_network_input(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, height, width) float RGB in [0, 1], antialiased bilinear, channels_last.

    On the CPU the image is resized as uint8 (torch's vectorised uint8 kernel: ~10x faster than
    in float, at most one grey level apart), then scaled to [0, 1] at the network's size.
    Training feeds real frames through this same function (preprocessing parity).
    """
    x = images.permute(0, 3, 1, 2)  # a channels_last view of the NHWC pixels: no copy
    if x.device.type != "cpu":
        x = x.float().div_(255.0)
    if tuple(x.shape[-2:]) != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    if x.dtype == torch.uint8:
        x = x.float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last)


def _check_image(image: np.ndarray, intrinsics: CameraIntrinsics) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise TypeError(f"image must be an RGB uint8 numpy array (H, W, 3), got "
                        f"{type(image).__name__} {getattr(image, 'dtype', '')} {shape}")
    if (intrinsics.width, intrinsics.height) != (image.shape[1], image.shape[0]):
        raise ValueError(f"intrinsics are for {intrinsics.width}x{intrinsics.height} but the image "
                         f"is {image.shape[1]}x{image.shape[0]}; scale them with scaled_to()")


class DepthBoundaryEstimator:
    """Runs a ``DepthBoundaryNet`` on RGB images; construct with ``from_checkpoint`` or ``from_random``.

    device: 'auto' | 'cpu' | 'cuda[:N]', or an Intel 'gpu[.N]' | 'npu' for backend openvino (the
    rest then runs on the CPU). precision: 'auto' (fp16 autocast on CUDA, fp32 on CPU), 'fp32' or
    'fp16'. compile: wrap the network in ``torch.compile`` (torch backend). warmup: dummy
    forwards now, so the first real frame is not slow. input_size: (width, height) network input
    instead of the model's own (multiples of 16; the network is fully convolutional).
    backend: 'torch' | 'onnxruntime' | 'openvino' | 'tensorrt' | 'auto' (``modot_ros.backends``):
    what runs the network forward; everything before and after it is the same code. threads: CPU
    threads of the forward, 0 = library default. onnx_cache: folder of exported graphs (default:
    the user cache). ``backend`` names what runs; ``backend_choice`` how auto chose it ('' otherwise).
    """

    def __init__(self, model: DepthBoundaryNet, *, device: str = "auto", precision: str = "auto",
                 compile: bool = False, warmup: int = 1, input_size: tuple[int, int] | None = None,
                 backend: str = "torch", threads: int = 0, onnx_cache: str | Path | None = None) -> None:
        if input_size:
            model.config = dataclasses.replace(model.config, input_width=input_size[0],
                                               input_height=input_size[1])
        self.config: ModelConfig = model.config
        host, accelerator = split_device(device)
        self.device = resolve_device(host)
        if precision not in ("auto", "fp32", "fp16"):
            raise ValueError(f"precision {precision!r}; allowed: auto, fp32, fp16")
        if precision == "fp16" and self.device.type != "cuda" and not accelerator:
            raise ValueError("precision fp16 needs a CUDA device (or an OpenVINO gpu/npu); use precision=fp32 on CPU")
        self.model = model.eval()
        self._network = make_forward(backend, self.model, self.device, precision, threads=threads,
                                     compile=compile, cache=onnx_cache, accelerator=accelerator)
        self.backend: str = self._network.name
        self.backend_choice: str = self._network.choice
        for _ in range(warmup):
            self._run(torch.zeros(1, self.config.input_height, self.config.input_width, 3,
                                  dtype=torch.uint8, device=self.device))

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, **kwargs) -> "DepthBoundaryEstimator":
        """Load weights + config from ``path`` (default: the packaged weights, ``weights_path()``)."""
        model, _ = build_model(weights_path(path))
        return cls(model, **kwargs)

    @classmethod
    def from_random(cls, config: ModelConfig | None = None, seed: int = 0,
                    **kwargs) -> "DepthBoundaryEstimator":
        """Untrained network (ImageNet encoder if configured): for tests and benchmarks only."""
        torch.manual_seed(seed)
        return cls(DepthBoundaryNet(config or ModelConfig()), **kwargs)

    def _run(self, images: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(B, H, W, 3) uint8 on device -> (canonical params fp32, OB logits fp32) at net size."""
        return self._network(to_network_input(images, self.config.input_height, self.config.input_width))

    def _scales(self, intrinsics: Sequence[CameraIntrinsics]) -> torch.Tensor:
        fx = [network_focal(i, self.config.input_width, self.config.input_height) for i in intrinsics]
        return torch.tensor([canonical_scale(f, self.config.canonical_focal) for f in fx],
                            device=self.device)

    def _outputs(self, params, logits, scales, size: tuple[int, int]) -> dict[str, np.ndarray | None]:
        """Resample parameters (never read-outs) to ``size`` = (H, W), then read out.

        The camera's scale is applied at the network's size, before resampling (they commute):
        a quarter of the pixels of a 2x camera grid, and the read-outs then need no scale.
        """
        numpy = lambda t: t[:, 0].cpu().numpy()  # noqa: E731 (B,1,H,W) -> (B,H,W)
        result = {"boundary": None if logits is None else numpy(torch.sigmoid(mixture.resize_params(logits, size)))}
        if params is None:
            return result | dict.fromkeys(("depth", "depth_mean", "confidence", "ambiguity",
                                           "sigma", "params"))
        metric = mixture.resize_params(mixture.to_metric(params, scales), size)
        read = mixture.readout(metric)
        return result | {"depth": numpy(read.depth), "depth_mean": numpy(read.depth_mean),
                         "confidence": numpy(read.confidence), "ambiguity": numpy(read.ambiguity),
                         "sigma": numpy(read.sigma), "params": metric.cpu().numpy()}

    def predict(self, image: np.ndarray, intrinsics: CameraIntrinsics | Sequence[CameraIntrinsics],
                output_size: tuple[int, int] | None = None) -> Prediction:
        """Estimate depth and OBs for an image (H, W, 3) or a same-size batch (B, H, W, 3).

        output_size: (width, height) of the outputs; default the input size.
        """
        return self.read_out(self.infer(image, intrinsics), output_size)

    def infer(self, image: np.ndarray, intrinsics: CameraIntrinsics | Sequence[CameraIntrinsics]) -> "NetworkResult":
        """``predict()``'s first half: the checks and the network.

        The node runs it on one thread and ``read_out`` on another, so the next frame's network
        overlaps this frame's outputs.
        """
        batch = image.ndim == 4
        images = list(image) if batch else [image]
        intrs = list(intrinsics) if batch and not isinstance(intrinsics, CameraIntrinsics) \
            else [intrinsics] * len(images)
        for img, intr in zip(images, intrs, strict=True):
            _check_image(img, intr)
        tensor = torch.from_numpy(np.ascontiguousarray(np.stack(images))).to(self.device)
        params, logits = self._run(tensor)
        size = (images[0].shape[1], images[0].shape[0])
        return NetworkResult(params, logits, self._scales(intrs), intrs, batch, size)

    def read_out(self, raw: "NetworkResult", output_size: tuple[int, int] | None = None) -> Prediction:
        """``predict()``'s second half: resampling and read-outs at ``output_size`` (default the input size)."""
        width, height = output_size or raw.input_size
        out = self._outputs(raw.params, raw.logits, raw.scales, (height, width))
        out_intrs = [i.scaled_to(width, height) for i in raw.intrinsics]
        if not raw.batch:
            out = {k: None if v is None else v[0] for k, v in out.items()}
        return Prediction(**out, intrinsics=out_intrs if raw.batch else out_intrs[0])

    def predict_batch(self, images: Sequence[np.ndarray], intrinsics: Sequence[CameraIntrinsics],
                      batch_size: int = 8) -> list[Prediction]:
        """Offline evaluation: images of any sizes, run ``batch_size`` at a time through the network.

        Each prediction is at its own image's resolution.
        """
        if len(images) != len(intrinsics):
            raise ValueError(f"{len(images)} images but {len(intrinsics)} intrinsics")
        results = []
        for start in range(0, len(images), batch_size):
            chunk = list(zip(images[start:start + batch_size], intrinsics[start:start + batch_size]))
            for img, intr in chunk:
                _check_image(img, intr)
            inputs = [torch.from_numpy(np.require(img, requirements=("C", "W"))).to(self.device)[None]
                      for img, _ in chunk]
            params, logits = self._network(torch.cat(
                [to_network_input(t, self.config.input_height, self.config.input_width) for t in inputs]))
            scales = self._scales([intr for _, intr in chunk])
            for i, (img, intr) in enumerate(chunk):
                res = self._outputs(None if params is None else params[i:i + 1],
                                    None if logits is None else logits[i:i + 1], scales[i:i + 1], img.shape[:2])
                results.append(Prediction(**{k: None if v is None else v[0] for k, v in res.items()},
                                          intrinsics=intr))
        return results
