"""The network forward through onnxruntime: CPU, CUDA or TensorRT execution provider.

CPU: the input tensor is handed over as numpy (no copy once contiguous) and the outputs come back
as torch tensors sharing onnxruntime's buffers. CUDA/TensorRT: inputs and outputs stay on the GPU
through an I/O binding on torch's buffers, so nothing crosses the bus.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from modot_ros.backends.onnx_cache import cache_dir
from modot_ros.backends.onnx_graph import INPUT_NAME

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
             "tensorrt": "TensorrtExecutionProvider"}


def session_options(threads: int):
    """Settings for a few-core robot: one sequential stream of ops on ``threads`` intra-op threads.

    threads 0 = onnxruntime's default (one per physical core). Spin-waiting is off: the node's
    other threads (DDS, cloud packing) share those cores and a spinning pool would take them.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def provider_list(backend: str, device: torch.device, fp16: bool, cache: str | Path | None) -> list:
    """onnxruntime providers for ``backend`` ('onnxruntime' | 'tensorrt') on ``device``.

    Raises ValueError naming what to install when the provider is missing.
    """
    import onnxruntime

    available = onnxruntime.get_available_providers()
    wanted = "tensorrt" if backend == "tensorrt" else device.type
    if wanted != "cpu" and device.type != "cuda":
        raise ValueError(f"backend {backend} needs a CUDA device, got device={device}; "
                         "use backend onnxruntime or torch on CPU")
    if PROVIDERS[wanted] not in available:
        raise ValueError(f"backend {backend} on {device} needs onnxruntime's {PROVIDERS[wanted]} "
                         f"(available: {', '.join(available)}); install onnxruntime-gpu (and TensorRT "
                         "for tensorrt) as in docs/benchmarks.md 'Backends', or use backend torch")
    gpu = {"device_id": device.index or 0}
    if wanted == "tensorrt":
        trt = gpu | {"trt_fp16_enable": fp16, "trt_engine_cache_enable": True,
                     "trt_engine_cache_path": str(cache_dir(cache) / "tensorrt")}
        return [(PROVIDERS["tensorrt"], trt), (PROVIDERS["cuda"], gpu), PROVIDERS["cpu"]]
    if wanted == "cuda":
        return [(PROVIDERS["cuda"], gpu), PROVIDERS["cpu"]]
    return [PROVIDERS["cpu"]]


class OnnxRuntimeForward:
    """(B, 3, h, w) float tensor on ``device`` -> (depth params, OB logits) fp32 tensors, None if absent."""

    choice = ""  # how backend auto chose it; empty when named explicitly

    def __init__(self, graph: Path, device: torch.device, providers: list, threads: int) -> None:
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(graph), session_options(threads),
                                                    providers=providers)
        self.device = device
        self.outputs = {out.name: out.shape for out in self.session.get_outputs()}
        self.name = f"onnxruntime ({self.session.get_providers()[0]})"

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x = x.float().contiguous()  # the graph reads NCHW; channels_last would be a strided view
        out = self._run_cuda(x) if self.device.type == "cuda" else self._run_cpu(x)
        return out.get("depth_params"), out.get("boundary_logits")

    def _run_cpu(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        got = self.session.run(list(self.outputs), {INPUT_NAME: x.numpy()})
        return {name: torch.from_numpy(value) for name, value in zip(self.outputs, got)}

    def _run_cuda(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        binding = self.session.io_binding()
        index = x.device.index or 0
        binding.bind_input(INPUT_NAME, "cuda", index, np.float32, tuple(x.shape), x.data_ptr())
        out = {}
        for name, shape in self.outputs.items():
            out[name] = torch.empty((x.shape[0], *shape[1:]), dtype=torch.float32, device=x.device)
            binding.bind_output(name, "cuda", index, np.float32, tuple(out[name].shape),
                                out[name].data_ptr())
        torch.cuda.current_stream(x.device).synchronize()  # onnxruntime runs on its own stream
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return out
