"""Deploy without a restart: ``ros2 param set /modot model_path X`` swaps the model of a running node."""
import threading
from pathlib import Path

import numpy as np
import pytest

from modot_ros.config import ModelConfig
from modot_ros.ros.model_loading import ModelInfo, ModelReload, ReloadOutcome, model_change, source_name
from modot_ros.ros.node_config import NodeConfig
from tests.ros_helpers.node_run import run_scenario

NODE = ["--ros-args", "-p", "device:=cpu", "-p", "input_width:=128", "-p", "input_height:=96", "-p", "backend:=torch"]


@pytest.mark.parametrize("new, text", [
    (ModelInfo("b.pt", "b.pt", ModelConfig(), 20),
     "b.pt (was a.pt): same network, new weights; trained steps 10 -> 20"),
    (ModelInfo("b.pt", "b.pt", ModelConfig(input_width=640, pretrained_encoder=False), 10),
     "b.pt (was a.pt): input_width 320 -> 640"),
    (ModelInfo("b.pt", "b.pt", ModelConfig(max_depth=80.0), None),
     "b.pt (was a.pt): max_depth 20.0 -> 80.0; trained steps 10 -> unknown"),
])
def test_reload_line_says_what_changed(new, text):
    """The reload log line names both files and the network fields that differ, nothing else."""
    assert model_change(ModelInfo("a.pt", "a.pt", ModelConfig(), 10), new) == text


def _reload(config: NodeConfig) -> tuple[str | None, ReloadOutcome | None]:
    """(refusal, outcome) of one ModelReload, waiting for its thread when it started one."""
    done = threading.Event()
    reload = ModelReload(done.set)
    refusal = reload.start(config)
    if refusal is None:
        assert done.wait(120), "the loading thread never finished"
    return refusal, reload.take()


def test_reload_refuses_a_boundary_only_checkpoint(tmp_path):
    """A network without depth would fail every frame: the file is refused at once, naming the fix."""
    from modot_ros.checkpoint import save_checkpoint
    from modot_ros.model.network import DepthBoundaryNet

    config = ModelConfig(variant="boundary", pretrained_encoder=False, decoder_channels=(16, 16, 16, 16))
    path = save_checkpoint(tmp_path / "ob.pt", DepthBoundaryNet(config, pretrained=False), config)
    refusal, outcome = _reload(NodeConfig(model_path=str(path), device="cpu"))
    assert refusal == (f"checkpoint {path}: variant 'boundary' predicts occlusion boundaries only and the node "
                       "publishes depth; use a modot, joint or depth checkpoint; the node keeps its current model")
    assert outcome is None


def test_reload_refuses_while_running_random_weights():
    """A node on random_weights loads no file, so a model_path change cannot take effect: refused."""
    refusal, _ = _reload(NodeConfig(random_weights=True, model_path="x.pt"))
    assert refusal.startswith("model_path='x.pt' refused: the node runs random_weights")


def test_reload_that_cannot_build_its_estimator_reports_one_line():
    """A file that reads but whose estimator cannot be built (CUDA asked for, none here) comes back as a problem."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    refusal, outcome = _reload(NodeConfig(device="cuda"))
    assert refusal is None and outcome.estimator is None and outcome.path == ""
    assert outcome.problem == (f"cannot load {source_name('')}: ValueError: CUDA requested but not available; "
                               "use device=cpu")


def _variant(path: Path) -> Path:
    """The packaged weights, each scaled by 1 +- 5 % noise: the same network with other depth."""
    import torch

    from modot_ros.checkpoint import build_model, default_weights_path, save_checkpoint

    model, checkpoint = build_model(default_weights_path())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in model.parameters():
            weight.mul_(1 + 0.05 * torch.randn(weight.shape, generator=generator))
    return save_checkpoint(path, model, checkpoint.model_config, training_config={"run_stats": {"steps": 7}})


def _published_depth(checkpoint: Path | None, rgb: np.ndarray) -> np.ndarray:
    """depth/image for ``rgb`` as the node publishes it with ``checkpoint`` and the default outputs."""
    import torch

    from modot_ros.depth_units import invalidate_out_of_range
    from modot_ros.inference import DepthBoundaryEstimator
    from modot_ros.pipeline.options import OutputOptions
    from tests.ros_helpers.node_peer import INTR, W, H

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the node runs (OMP_NUM_THREADS=1): the same sums, the same floats
    try:
        estimator = DepthBoundaryEstimator.from_checkpoint(checkpoint, device="cpu", input_size=(W, H))
        depth = estimator.predict(rgb, INTR).depth
    finally:
        torch.set_num_threads(threads)
    options = OutputOptions()
    return invalidate_out_of_range(depth, options.min_depth, options.max_depth)


def _same(published: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.array_equal(np.isnan(published), np.isnan(expected))
                and np.allclose(published, expected, rtol=1e-4, atol=1e-5, equal_nan=True))


@pytest.mark.ros
def test_model_path_set_reloads_and_a_bad_file_is_refused(tmp_path):
    """A new checkpoint serves the next frames; a corrupt or missing one is refused in one line, the model kept."""
    from modot_ros.checkpoint import default_weights_path
    from tests.ros_helpers.reload_scenarios import RGB

    new = _variant(tmp_path / "new.pt")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(default_weights_path().read_bytes()[:100_000])  # a copy that stopped early
    missing = tmp_path / "missing.pt"
    run = run_scenario(tmp_path, "reload", NODE, ["--new", str(new), "--bad", str(bad), "--missing", str(missing)],
                       seconds=300, module="tests.ros_helpers.reload_scenarios")
    result, depth = run.result, np.load(tmp_path / "reload.npz")
    old_depth, new_depth = _published_depth(None, RGB), _published_depth(new, RGB)
    assert not _same(old_depth, new_depth)
    assert all(_same(depth[str(stamp)], old_depth) for stamp in result["before"])

    assert result["set_new"] == {"successful": True, "reason": ""} and result["reloaded"], run.log
    reloaded = [line for line in result["rosout"] if "model reloaded" in line]
    assert len(reloaded) == 1 and reloaded[0].startswith(
        f"model reloaded: {new} (was the packaged default ({default_weights_path()})): same network, new weights; "
        "trained steps ") and reloaded[0].endswith(" -> 7"), reloaded
    assert all(_same(depth[str(stamp)], new_depth) for stamp in result["after"] + result["kept"])

    for key, path, problem in (("set_bad", bad, "truncated or corrupt"), ("set_missing", missing, "check the path")):
        reason = result[key]["reason"]
        assert result[key]["successful"] is False and f"checkpoint {path}: " in reason and problem in reason, reason
        assert "keeps its current model" in reason
        assert sum(str(path) in line for line in result["rosout"]) == 1, result["rosout"]
    assert result["model_path"] == str(new)  # `ros2 param get` names the model still running
    assert run.alive_after
