"""Network forward backends: onnxruntime gives torch's outputs; the ONNX cache is checked, not trusted."""
import json
import logging

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from modot_ros.backends import BACKENDS, auto_order, onnx_cache  # noqa: E402
from modot_ros.backends.onnx_graph import ExportError  # noqa: E402
from modot_ros.backends.onnxruntime_forward import session_options  # noqa: E402
from modot_ros.config import ModelConfig  # noqa: E402
from modot_ros.geometry import CameraIntrinsics  # noqa: E402
from modot_ros.inference import DepthBoundaryEstimator  # noqa: E402
from modot_ros.pipeline.edge_points import edge_mask  # noqa: E402
from modot_ros.pipeline.options import OutputOptions  # noqa: E402

TINY = ModelConfig(input_height=64, input_width=96, pretrained_encoder=False)
TIE = 1e-3  # a threshold this close to a value may fall either way between two float paths


def scene(height: int, width: int, seed: int) -> tuple[np.ndarray, CameraIntrinsics]:
    """Boxes over a shaded floor (real occlusion edges for the shipped weights), with sensor noise."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(60, 200, height)[:, None, None]
    rgb = np.broadcast_to(rows, (height, width, 3)).copy()
    for _ in range(4):
        y, x = rng.integers(0, height // 2), rng.integers(0, width - width // 4)
        rgb[y:y + height // 3, x:x + width // 4] = rng.integers(0, 256, 3)
    rgb = np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8)
    return rgb, CameraIntrinsics(0.8 * width, 0.8 * width, width / 2 - 0.5, height / 2 - 0.5, width, height)


FRAMES = [scene(240, 320, 0), scene(180, 300, 1)]


@pytest.fixture(scope="module", params=[(160, 128), (224, 96)], ids=lambda s: f"net{s[0]}x{s[1]}")
def pair(request, tmp_path_factory):
    """Shipped weights at a network input size (the node's input_width/height), torch and onnxruntime."""
    options = dict(device="cpu", warmup=0, input_size=request.param)
    return (DepthBoundaryEstimator.from_checkpoint(None, **options),
            DepthBoundaryEstimator.from_checkpoint(None, backend="onnxruntime", threads=1,
                                                   onnx_cache=tmp_path_factory.mktemp("onnx"), **options))


def assert_same_outputs(ref, got) -> None:
    """Depth 1e-3 relative, boundary 1e-3, same edge pixels, except where a selection is a tie."""
    mode_tie = np.abs(ref.params[4] - 0.5) <= TIE  # the dominant mode may swap there
    np.testing.assert_allclose(got.depth[~mode_tie], ref.depth[~mode_tie], rtol=1e-3)
    np.testing.assert_allclose(got.depth_mean, ref.depth_mean, rtol=1e-3)
    np.testing.assert_allclose(got.boundary, ref.boundary, atol=1e-3)
    opts = OutputOptions()
    edges = [edge_mask(p.ambiguity, p.boundary, opts.ambiguity_threshold, opts.occlusion_threshold)
             for p in (ref, got)]
    ties = (np.abs(ref.boundary - opts.occlusion_threshold) <= TIE) | \
        (np.abs(ref.ambiguity - opts.ambiguity_threshold) <= TIE)
    assert edges[0].any(), "the scene has no edge pixels: the mask comparison would prove nothing"
    assert not ((edges[0] != edges[1]) & ~ties).any()


@pytest.mark.parametrize("frame", range(len(FRAMES)))
def test_onnxruntime_matches_torch(pair, frame):
    """backend onnxruntime gives the node the depth, boundaries and edge pixels torch gives."""
    reference, candidate = pair
    assert candidate.backend == "onnxruntime (CPUExecutionProvider)"
    rgb, intr = FRAMES[frame]
    assert_same_outputs(reference.predict(rgb, intr), candidate.predict(rgb, intr))


def test_onnxruntime_batches_match_torch(pair):
    """Offline evaluation batches several frames through the graph's dynamic batch dimension."""
    reference, candidate = pair
    images, intrs = [f[0] for f in FRAMES], [f[1] for f in FRAMES]
    for ref, got in zip(reference.predict_batch(images, intrs), candidate.predict_batch(images, intrs)):
        assert_same_outputs(ref, got)


def tiny(cache, seed: int = 0, **options) -> DepthBoundaryEstimator:
    return DepthBoundaryEstimator.from_random(TINY, seed=seed, device="cpu", warmup=0, backend="onnxruntime",
                                              onnx_cache=cache, **options)


def graphs(cache) -> list:
    return sorted(cache.glob("*.onnx"))


def test_graph_is_exported_once_then_reused(tmp_path, monkeypatch):
    """The second start loads the cached graph instead of exporting again."""
    tiny(tmp_path)
    assert len(graphs(tmp_path)) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    monkeypatch.setattr(onnx_cache, "export_graph", lambda *a, **k: pytest.fail("exported again"))
    assert tiny(tmp_path).backend.startswith("onnxruntime")


@pytest.mark.parametrize("damage", ["garbage graph", "truncated graph", "stale key", "no sidecar"])
def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    """A corrupt or stale cached graph is exported again, never run."""
    tiny(tmp_path)
    exports, export = [], onnx_cache.export_graph
    monkeypatch.setattr(onnx_cache, "export_graph", lambda *a, **k: exports.append(a) or export(*a, **k))
    graph = graphs(tmp_path)[0]
    sidecar = graph.with_suffix(".json")
    good = graph.read_bytes()
    if damage == "garbage graph":
        graph.write_bytes(b"not an onnx graph")
    elif damage == "truncated graph":
        graph.write_bytes(good[: len(good) // 2])
    elif damage == "stale key":
        sidecar.write_text(json.dumps(json.loads(sidecar.read_text()) | {"key": "0" * 64}))
    else:
        sidecar.unlink()
    estimator = tiny(tmp_path)
    assert len(exports) == 1 and graph.read_bytes() == good and graphs(tmp_path) == [graph]
    rgb, intr = FRAMES[1]
    reference = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0).predict(rgb, intr)
    np.testing.assert_allclose(estimator.predict(rgb, intr).depth_mean, reference.depth_mean, rtol=1e-3)


def test_other_weights_or_size_get_their_own_graph(tmp_path):
    """The cache key holds the weights and the input size: no model runs another's graph."""
    tiny(tmp_path)
    tiny(tmp_path, seed=1)
    tiny(tmp_path, input_size=(128, 96))
    names = [g.name for g in graphs(tmp_path)]
    assert len(names) == 3 and sum("128x96" in n for n in names) == 1


def test_unwritable_cache_is_one_clear_line(tmp_path):
    """A cache folder that cannot be created says where and which setting to change."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match=r"cannot create the ONNX cache folder .*file/sub .*set onnx_cache"):
        tiny(blocker / "sub")


@pytest.mark.parametrize("options, text", [
    ({"backend": "trt"}, "backend 'trt'; allowed: auto, torch, onnxruntime, openvino, tensorrt"),
    ({"backend": "tensorrt"}, "backend tensorrt needs a CUDA device, got device=cpu"),
    ({"backend": "onnxruntime", "compile": True}, "compile applies to backend torch only"),
])
def test_bad_backend_choice_names_the_fix(tmp_path, options, text):
    """An impossible backend choice fails at start with what to do instead."""
    with pytest.raises(ValueError, match=text):
        DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, onnx_cache=tmp_path, **options)


def test_auto_falls_back_to_torch_when_the_graph_cannot_be_made(tmp_path, monkeypatch, caplog):
    """auto still starts when every graph backend fails, saying why once per backend."""
    assert auto_order("cpu") == ["onnxruntime", "openvino", "torch"] and auto_order("cuda") == ["tensorrt", "torch"]
    assert set(auto_order("cpu")) < set(BACKENDS)

    def broken(*args, **kwargs):
        raise ExportError("simulated export failure")

    monkeypatch.setattr(onnx_cache, "cached_graph", broken)
    monkeypatch.setattr("modot_ros.backends.openvino_forward.cached_graph", broken)
    with caplog.at_level(logging.WARNING, logger="modot_ros.backends"):
        fallback = DepthBoundaryEstimator.from_random(TINY, device="cpu", warmup=0, backend="auto",
                                                      onnx_cache=tmp_path)
    assert fallback.backend == "torch" and "unavailable: onnxruntime, openvino" in fallback.backend_choice
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 2 and all("simulated export failure" in line for line in lines), lines


def test_session_runs_sequentially_on_the_requested_threads():
    """threads sets onnxruntime's intra-op pool; ops run one after another (few-core robots)."""
    import onnxruntime

    options = session_options(2)
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
    assert options.execution_mode == onnxruntime.ExecutionMode.ORT_SEQUENTIAL


def test_bag_evaluation_cli_takes_the_backend(tmp_path, monkeypatch, capsys):
    """modot-eval-bag --backend onnxruntime evaluates through the graph; tensorrt on CPU is one error line."""
    from modot_ros.evaluation.bag_evaluation import main
    from tests.bag_cases import write_case_bag

    monkeypatch.setenv(onnx_cache.CACHE_ENV, str(tmp_path / "cache"))
    bag = write_case_bag(tmp_path / "in", n=2)
    assert main([str(bag), "-o", str(tmp_path / "out"), "--no-output-bag", "--device", "cpu",
                 "--backend", "onnxruntime", "--ob-thresholds", "9"]) == 0
    assert len(graphs(tmp_path / "cache")) == 1
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["n_frames"] == 2
    assert main([str(bag), "-o", str(tmp_path / "out2"), "--device", "cpu", "--backend", "tensorrt"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "backend tensorrt needs a CUDA device" in errors[0]
