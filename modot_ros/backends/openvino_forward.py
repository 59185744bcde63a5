"""The network forward through OpenVINO (Intel CPU, GPU or NPU), converted from the checked ONNX graph.

The ONNX graph of ``onnx_cache`` is converted once to OpenVINO IR (``.xml`` + ``.bin``, fp32
weights) and kept under ``<onnx_cache>/openvino/``. A JSON sidecar holds the key (the ONNX
graph's sha256 and the OpenVINO version) and both files' sha256, so a stale or corrupt IR is
converted again, never run; every new conversion is compared with torch on the CPU before use.
Only the runtime is used: ``Core.read_model`` reads ONNX itself, whereas the converter
``openvino.convert_model`` reports usage over the network (telemetry).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from modot_ros.backends.onnx_cache import cache_dir, cached_graph, record_matches, write_record
from modot_ros.backends.onnx_graph import INPUT_NAME, parity_errors

log = logging.getLogger("modot_ros.backends")


def check_device(name: str, available: list[str]) -> None:
    """ValueError naming what OpenVINO sees when ``name`` ('CPU', 'GPU', 'GPU.1', 'NPU') is not there."""
    # one GPU is listed as 'GPU'; several as 'GPU.0', 'GPU.1', ... and a bare 'GPU' means GPU.0
    if name in available or ("." not in name and any(d.startswith(f"{name}.") for d in available)):
        return
    raise ValueError(f"backend openvino: device {name.lower()} is not available to OpenVINO (it sees "
                     f"{', '.join(available) or 'nothing'}); use device cpu, or install that device's driver")


def compile_properties(device_name: str, precision: str, threads: int, cache: str | Path | None) -> dict:
    """OpenVINO settings: lowest latency for one stream of frames on ``device_name``.

    CPU: fp32 always (bf16, which OpenVINO picks by itself on some CPUs, is outside the torch
    parity the cache checks), ``threads`` inference threads (0 = OpenVINO's default) and no
    pinning, so the OS can move them off a core the node's DDS and cloud threads are using.
    GPU/NPU: the device's own precision (fp16) unless precision is fp32, and compiled kernels
    cached on disk because compiling for them takes seconds to minutes.
    """
    import openvino
    import openvino.properties as props
    import openvino.properties.hint as hints

    settings = {hints.performance_mode: hints.PerformanceMode.LATENCY}
    if device_name == "CPU":
        settings |= {hints.inference_precision: openvino.Type.f32, hints.enable_cpu_pinning: False}
        if threads:
            settings[props.inference_num_threads] = threads
        return settings
    settings[props.cache_dir] = str(cache_dir(cache) / "openvino" / "compiled")
    if precision == "fp32":
        settings[hints.inference_precision] = openvino.Type.f32
    return settings


def _cpu_runner(core, xml: Path):
    compiled = core.compile_model(str(xml), "CPU", compile_properties("CPU", "fp32", 0, None))
    return lambda image: [compiled(image)[out] for out in compiled.outputs]


def _convert(model: torch.nn.Module, graph: Path, xml: Path, sidecar: Path, key: str,
             input_size: tuple[int, int]) -> None:
    import openvino

    tmp = xml.with_name(f".{xml.stem}.{os.getpid()}.tmp.xml")
    try:
        core = openvino.Core()
        # fp32 weights: the graph's numbers; a device's fp16 is chosen when compiling, not stored
        openvino.save_model(core.read_model(str(graph)), str(tmp), compress_to_fp16=False)
        errors = parity_errors(model, tmp, input_size, engine=_cpu_runner(core, tmp), engine_name="openvino")
        os.replace(tmp.with_suffix(".bin"), xml.with_suffix(".bin"))
        os.replace(tmp, xml)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_suffix(".bin").unlink(missing_ok=True)
    write_record(sidecar, {"key": key, "openvino": openvino.__version__, "onnx_graph": graph.name,
                           "parity_max_abs": errors}, {"xml_sha256": xml, "bin_sha256": xml.with_suffix(".bin")})


def cached_ir(model: torch.nn.Module, input_size: tuple[int, int], folder: str | Path | None = None) -> Path:
    """Path of a checked OpenVINO IR (``.xml``; its ``.bin`` beside it) of ``model`` at (width, height)."""
    import openvino

    graph = cached_graph(model, input_size, folder)
    onnx_sha = json.loads(graph.with_suffix(".json").read_text())["sha256"]  # checked by cached_graph
    key = hashlib.sha256(f"{onnx_sha}|openvino {openvino.__version__}|fp32 ir".encode()).hexdigest()
    target = graph.parent / "openvino"
    xml = target / f"{graph.stem}-ov{openvino.__version__.split('-')[0]}.xml"
    sidecar = xml.with_suffix(".json")
    if xml.is_file() and record_matches(sidecar, key, {"xml_sha256": xml, "bin_sha256": xml.with_suffix(".bin")}):
        return xml
    if xml.exists() or sidecar.exists():
        log.warning("OpenVINO cache %s is stale or corrupt: converting it again", xml)
    try:
        target.mkdir(exist_ok=True)
        _convert(model, graph, xml, sidecar, key, input_size)
    except OSError as error:
        raise OSError(f"cannot write the OpenVINO graph {xml} ({error.strerror or error}); "
                      "set onnx_cache or $MODOT_ROS_CACHE to a writable folder") from error
    return xml


class OpenVinoForward:
    """(B, 3, h, w) float CPU tensor -> (depth params, OB logits) fp32 tensors, None if absent.

    One compiled model per batch size seen (static shapes: the CPU plugin plans its memory once,
    and NPUs accept nothing else); the node only ever uses batch 1.
    """

    choice = ""  # how backend auto chose it; empty when named explicitly

    def __init__(self, xml: Path, device_name: str, input_size: tuple[int, int], properties: dict) -> None:
        import openvino

        self.core = openvino.Core()
        check_device(device_name, self.core.available_devices)
        self.network = self.core.read_model(str(xml))
        self.device_name, self.size, self.properties = device_name, input_size, properties
        self._requests: dict[int, object] = {}
        self._request(1)  # compile now: an unsupported device or op fails at start, not on the first frame
        self.name = f"openvino ({device_name})"

    def _request(self, batch: int):
        if batch not in self._requests:
            network = self.network.clone()
            network.reshape({INPUT_NAME: [batch, 3, self.size[1], self.size[0]]})
            compiled = self.core.compile_model(network, self.device_name, self.properties)
            self._requests[batch] = compiled.create_infer_request()
        return self._requests[batch]

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x = x.float().contiguous()  # the graph reads NCHW; channels_last would be a strided view
        # outputs are copied out of the request's buffers, which the next frame overwrites
        got = self._request(x.shape[0]).infer({INPUT_NAME: x.numpy()}, share_inputs=True)
        out = {port.get_any_name(): torch.from_numpy(value) for port, value in got.items()}
        return out.get("depth_params"), out.get("boundary_logits")
