"""The node's model: loaded on configure, and swapped for another file while it runs (no rclpy here).

``ros2 param set /modot model_path X`` must answer at once and truthfully, so a reload is split in
two. ``ModelReload.start`` runs in the parameter callback: it reads the file and loads its weights
strictly (``build_model``, about 0.5 s for Lite0 on a 2-core CPU), so every bad file (missing,
truncated, not a checkpoint, weights that do not fit their config) is refused there with the
``CheckpointError`` line and the parameter keeps its old value. The estimator is then built on a
thread, because its backend can take far longer (an ONNX export, a TensorRT engine) and the
executor must keep serving; the node swaps the finished estimator in with one assignment, so the
worker thread sees the old estimator or the new one, whole, at the start of a frame.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, Callable

from modot_ros.config import ModelConfig
from modot_ros.ros.node_config import NodeConfig

# Fields that say nothing about what the loaded network computes (the checkpoint's weights
# replace the ImageNet ones either way).
_IGNORED_FIELDS = ("pretrained_encoder",)


@dataclass(frozen=True)
class ModelInfo:
    """What the logs say about a loaded model: its file, network and training steps."""

    model_path: str  # the parameter's value that loaded it
    source: str  # the file, 'the packaged default (...)' or 'random weights'
    config: ModelConfig  # as run: the network input size is the node's when it sets one
    steps: int | None  # training steps in the checkpoint, None when it does not say


@dataclass(frozen=True)
class ReloadOutcome:
    """A finished reload: the new estimator and its info, or why the estimator could not be built."""

    estimator: Any
    info: ModelInfo | None
    path: str  # the model_path asked for
    problem: str = ""


def estimator_options(config: NodeConfig) -> dict[str, Any]:
    """Keyword arguments of ``DepthBoundaryEstimator`` from the node's parameters (start and reload)."""
    return {"device": config.device, "precision": config.precision,
            "input_size": (config.input_width, config.input_height) if config.input_width else None,
            "backend": config.backend, "threads": config.threads, "onnx_cache": config.onnx_cache}


def source_name(model_path: str) -> str:
    """``model_path`` as the logs name it (empty = the packaged default, with its file)."""
    from modot_ros.checkpoint import default_weights_path

    return model_path or f"the packaged default ({default_weights_path()})"


def load_estimator(config: NodeConfig) -> tuple[Any, ModelInfo]:
    """The estimator the config asks for (random weights, the packaged default, or a file) and its info."""
    from modot_ros.inference import DepthBoundaryEstimator  # torch-side imports happen here, on configure

    if config.random_weights:
        estimator = DepthBoundaryEstimator.from_random(ModelConfig(pretrained_encoder=False),
                                                       **estimator_options(config))
        return estimator, ModelInfo(config.model_path, "random weights", estimator.config, None)
    model, checkpoint = _read_model(config.model_path)
    estimator = DepthBoundaryEstimator(model, **estimator_options(config))
    return estimator, _info(config.model_path, estimator, checkpoint)


def _read_model(model_path: str):
    """(network, Checkpoint) of ``model_path`` ('' = the packaged default); CheckpointError when bad."""
    from modot_ros.checkpoint import CheckpointError, build_model
    from modot_ros.inference import weights_path

    path = weights_path(model_path)
    model, checkpoint = build_model(path)
    if checkpoint.model_config.variant == "boundary":  # every frame would fail: refuse the file instead
        raise CheckpointError(path, "variant 'boundary' predicts occlusion boundaries only and the node "
                              "publishes depth; use a modot, joint or depth checkpoint")
    return model, checkpoint


def _info(model_path: str, estimator, checkpoint) -> ModelInfo:
    steps = checkpoint.training_config.get("run_stats", {}).get("steps")
    return ModelInfo(model_path, source_name(model_path), estimator.config, steps if isinstance(steps, int) else None)


def model_change(old: ModelInfo, new: ModelInfo) -> str:
    """One phrase: the new file, the old one, and what differs between the two networks."""
    old_fields, new_fields = dataclasses.asdict(old.config), dataclasses.asdict(new.config)
    changed = [f"{name} {old_fields[name]} -> {new_fields[name]}" for name in old_fields
               if name not in _IGNORED_FIELDS and old_fields[name] != new_fields[name]]
    count = lambda info: "unknown" if info.steps is None else info.steps  # noqa: E731
    steps = f"; trained steps {count(old)} -> {count(new)}" if old.steps != new.steps else ""
    what = "; ".join(changed) if changed else "same network, new weights"
    return f"{new.source} (was {old.source}): {what}{steps}"


class ModelReload:
    """At most one reload at a time; ``done`` is called on the loading thread when it has finished.

    ``done`` should only wake the node (a guard condition), which then ``take``s the outcome on
    its own thread.
    """

    def __init__(self, done: Callable[[], None]) -> None:
        self._done = done
        self._lock = threading.Lock()
        self._loading: str | None = None  # the model_path being built
        self._outcome: ReloadOutcome | None = None

    def start(self, config: NodeConfig) -> str | None:
        """Check ``config.model_path`` now and build its estimator on a thread; why it is refused, or None."""
        path = config.model_path
        if config.random_weights:
            return (f"model_path={path!r} refused: the node runs random_weights (an untrained network) "
                    "and loads no file; restart it without random_weights to load one")
        with self._lock:
            if self._loading is not None:
                return (f"model_path={path!r} refused: {source_name(self._loading)} is still loading; "
                        "set it again once the node logged 'model reloaded'")
            self._loading = path
        try:
            model, checkpoint = _read_model(path)
        except Exception as error:  # noqa: BLE001 - every load problem is one line
            with self._lock:
                self._loading = None
            return f"{_problem(path, error)}; the node keeps its current model"
        threading.Thread(target=self._build, args=(config, model, checkpoint), name="modot_model_reload",
                         daemon=True).start()
        return None

    def _build(self, config: NodeConfig, model, checkpoint) -> None:
        from modot_ros.inference import DepthBoundaryEstimator

        path = config.model_path
        try:
            estimator = DepthBoundaryEstimator(model, **estimator_options(config))
            outcome = ReloadOutcome(estimator, _info(path, estimator, checkpoint), path)
        except Exception as error:  # noqa: BLE001 - a backend or device failure: reported, old model kept
            outcome = ReloadOutcome(None, None, path, _problem(path, error))
        with self._lock:
            self._outcome, self._loading = outcome, None
        self._done()

    def take(self) -> ReloadOutcome | None:
        """The finished reload, once (None when there is none)."""
        with self._lock:
            outcome, self._outcome = self._outcome, None
        return outcome


def _problem(path: str, error: Exception) -> str:
    """One line naming the file and what is wrong (a CheckpointError names both already)."""
    from modot_ros.checkpoint import CheckpointError

    if isinstance(error, CheckpointError):
        return str(error)
    first_line = (str(error).splitlines() or [""])[0]
    return f"cannot load {source_name(path)}: {type(error).__name__}: {first_line}"
