"""``modot_node``: image + camera_info in; depth, occlusion boundaries and sharp clouds out.

Wiring only: sync (``modot_ros.pipeline.stamp_sync``), estimator (``modot_ros.inference``), what is
done with each frame (``modot_ros.ros.frame_processing``). A lifecycle node: configure loads the
model and creates the publishers, activate subscribes, deactivate/cleanup release. With
``use_lifecycle`` false (default) ``main`` configures and activates it at once. With
``image_transport`` compressed the input is ``image/compressed`` (jpeg/png), decoded on the worker
thread. Inference runs on a worker thread that always takes the freshest frame, so latency stays
bounded when input is faster than the model. Setting ``model_path`` on a configured node loads that
file and swaps it in between frames (``modot_ros.ros.model_loading``); a bad file is refused.
"""
from __future__ import annotations

import signal
import sys
import time
from typing import Any

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rcl_interfaces.msg import SetParametersResult
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from modot_ros.pipeline.topics import TOPICS
from modot_ros.ros.node_config import FIELDS, NodeConfig, check_value
from modot_ros.ros.diagnostics import FrameStats, diagnostics_message
from modot_ros.ros.frame_processing import finish_frame, infer_pair, input_problem, process_pair, subscribed_topics
from modot_ros.ros.image_input import image_input
from modot_ros.ros.message_types import rclpy_message_types
from modot_ros.ros.model_loading import ModelReload, load_estimator, model_change
from modot_ros.ros.params import apply_changes, declare_all
from modot_ros.ros.qos import parse_qos
from modot_ros.ros.scale_input import ScaleInput
from modot_ros.ros.silent_input import SilentInputWatchdog
from modot_ros.ros.temporal_input import TemporalInput
from modot_ros.ros.worker import FreshestWorker
from modot_ros.pipeline.stamp_sync import StampSync, stamp_ns

THROTTLE_S = 5.0


class ModotNode(LifecycleNode):
    """See the module docstring; parameters are ``modot_ros.ros.node_config.NodeConfig``."""

    def __init__(self, name: str = "modot", **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.config = declare_all(self)
        reasons = self.config.validate()
        if reasons:
            raise ValueError("invalid parameters: " + "; ".join(reasons))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if hasattr(self, "add_pre_set_parameters_callback"):  # Iron+: see range refusals too
            self.add_pre_set_parameters_callback(self._log_refused_values)
        self.types = rclpy_message_types()
        self.stats = FrameStats()
        self.estimator = None
        self.model_info = None
        # the loading thread only wakes the executor, which swaps the estimator in (_finish_reload)
        reload_done = self.create_guard_condition(self._finish_reload)
        self.reload = ModelReload(done=reload_done.trigger)
        self._reverting = False
        self.publishers_: dict[str, Any] = {}
        self.subscriptions_: list[Any] = []
        self.worker: FreshestWorker | None = None  # the network (and, with pipeline_threads 1, the outputs)
        self.output_worker: FreshestWorker | None = None  # pipeline_threads 2: read-outs to publishing
        self.sync: StampSync | None = None
        self.scale_input: ScaleInput | None = None
        self.temporal_input: TemporalInput | None = None
        self.last_stamp = -1
        self.image_topic = self.resolve_topic_name("image")
        self.watchdog = SilentInputWatchdog()
        self._throttle: dict[str, float] = {}
        self._warned: set[str] = set()
        self.state_name = "unconfigured"
        self.diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(self.config.diagnostics_period, self._publish_diagnostics,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))

    # ---- parameters, logging ---------------------------------------------------------------
    def _on_set_parameters(self, params):
        candidate, result = apply_changes(self.config, params)
        if candidate is not None and any(p.name == "model_path" for p in params):
            candidate, result = self._reload_model(candidate, result)
        if candidate is not None:
            self.config = candidate
        else:
            self.warn_once(f"parameter:{result.reason}", f"parameter change refused: {result.reason}")
        return result

    def _reload_model(self, candidate: NodeConfig, accepted):
        """Start loading ``candidate.model_path``: (candidate, result), or (None, the refusal)."""
        if self.estimator is None or self._reverting:  # unconfigured: configure will load it
            return candidate, accepted
        if reason := self.reload.start(candidate):
            return None, SetParametersResult(successful=False, reason=reason)
        return candidate, accepted

    def _report_backend(self) -> None:
        """The running backend (and ``auto``'s choice) in /diagnostics and, for auto, one log line."""
        self.stats.backend = {"backend": self.estimator.backend, "backend_choice": self.estimator.backend_choice}
        if self.estimator.backend_choice:
            self.get_logger().info(f"backend {self.estimator.backend_choice}")

    def _finish_reload(self) -> None:
        """Swap the reloaded estimator in, or set model_path back when it could not be built."""
        outcome = self.reload.take()
        if outcome is None or self.estimator is None:  # cleaned up meanwhile: configure loads model_path
            return
        if outcome.estimator is not None:
            old, self.model_info = self.model_info, outcome.info
            self.estimator = outcome.estimator  # one assignment: the worker reads it once per frame
            self.get_logger().info(f"model reloaded: {model_change(old, outcome.info)}")
            self._report_backend()
            return
        self._reverting = True  # `ros2 param get` must name the model still running
        try:
            self.set_parameters([Parameter("model_path", value=self.model_info.model_path)])
        finally:
            self._reverting = False
        self.warn_once(f"reload:{outcome.problem}", f"model reload failed: {outcome.problem}; "
                       f"model_path is set back to the model still running, {self.model_info.source}")

    def _log_refused_values(self, params):
        """rclpy refuses out-of-range values before ``_on_set_parameters``: log them here."""
        for param in params:
            if param.name in FIELDS and (reason := check_value(param.name, param.value)):
                self.warn_once(f"parameter:{reason}", f"parameter change refused: {reason}")
        return params

    def warn_once(self, key: str, text: str) -> None:
        """Log ``text`` at most every THROTTLE_S per ``key`` (each kind of problem gets its line)."""
        now = time.monotonic()
        self.stats.error(text)
        if now - self._throttle.get(key, -1e9) >= THROTTLE_S:
            self._throttle[key] = now
            self.get_logger().warning(text)

    def warn_first(self, key: str, text: str) -> None:
        """Log ``text`` the first time ``key`` happens: a property of the source, not of one frame."""
        if key not in self._warned:
            self._warned.add(key)
            self.stats.error(text)
            self.get_logger().warning(text)

    # ---- lifecycle ---------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.estimator, self.model_info = load_estimator(self.config)
        except Exception as error:  # noqa: BLE001 - any load problem is reported as one line
            self.get_logger().error(f"cannot load the model: {error}")
            self.stats.error(f"model: {error}")
            return TransitionCallbackReturn.FAILURE
        qos = parse_qos(self.config.output_qos, self.config.output_qos_depth)
        for topic, type_name in TOPICS.items():
            msg_type = getattr(self.types, type_name.rsplit("/", 1)[1])
            self.publishers_[topic] = self.create_publisher(msg_type, topic, qos)
        self.state_name = "inactive"
        net = self.estimator
        self.get_logger().info(f"model loaded from {self.model_info.source} on {net.device}, {net.backend} "
                               f"(network input {net.config.input_width}x{net.config.input_height})")
        self._report_backend()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        mode = "cache" if self.config.camera_info_cache else ("approx" if self.config.approx_sync else "exact")
        self.sync = StampSync(mode, self.config.approx_sync_slop)
        self.last_stamp = -1
        if self.config.pipeline_threads == 2:
            self.output_worker = FreshestWorker(lambda frame: finish_frame(self, frame), name="modot_outputs")
            self.worker = FreshestWorker(self._infer_and_hand_over, name="modot_network")
        else:
            self.worker = FreshestWorker(lambda pair: process_pair(self, pair))
        qos = parse_qos(self.config.input_qos, self.config.input_qos_depth)
        image_type, self.image_topic = image_input(self, self.config.image_transport)
        self.subscriptions_ = [self.create_subscription(image_type, self.image_topic, self._on_image, qos),
                               self.create_subscription(CameraInfo, "camera_info", self._on_info, qos)]
        self.scale_input = ScaleInput(self, self.config, qos)
        if self.scale_input.subscription is not None:
            self.subscriptions_.append(self.scale_input.subscription)
        self.temporal_input = TemporalInput(self, self.config, qos)
        if self.temporal_input.subscription is not None:
            self.subscriptions_.append(self.temporal_input.subscription)
        self.watchdog.restart(qos)
        self.state_name = "active"
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        for sub in self.subscriptions_:
            self.destroy_subscription(sub)
        self.subscriptions_ = []
        self._stop_workers()
        self.state_name = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        for pub in self.publishers_.values():
            self.destroy_publisher(pub)
        self.publishers_ = {}
        self.estimator = self.model_info = None
        try:
            import torch
            if torch.cuda.is_available():
                torch.cuda.empty_cache()  # give the GPU memory back while unconfigured
        except ImportError:  # pragma: no cover
            pass
        self.state_name = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        if self.state_name == "active":
            self.on_deactivate(state)
        if self.state_name == "inactive":
            self.on_cleanup(state)
        self.state_name = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def _infer_and_hand_over(self, pair) -> None:
        """The network, then the outputs, on this thread or handed to the output thread.

        Here when the camera is slower than the network (no newer frame waits and the output thread
        is idle: least latency); else handed over, so the next frame's network overlaps this frame's
        outputs on the second core.
        """
        if (frame := infer_pair(self, pair)) is None:
            return
        if self.output_worker.idle and not self.worker.pending:  # only this thread feeds output_worker
            finish_frame(self, frame)
        else:
            self.output_worker.put(frame)

    def _stop_workers(self) -> None:
        """The network's worker first (it feeds the outputs' one), each finishing its frame in progress."""
        for worker in (self.worker, self.output_worker):
            if worker is not None:
                worker.stop()
        self.output_worker = None

    def _dropped(self) -> int:
        """Frames given up on: replaced in either hand-over, or never paired with a camera_info."""
        return sum(w.dropped for w in (self.worker, self.output_worker) if w is not None) + \
            (self.sync.unmatched_images if self.sync else 0)

    # ---- input --------------------------------------------------------------------------------
    def _on_info(self, msg: CameraInfo) -> None:
        if self.sync is not None:
            self._feed(self.sync.add_info, msg)

    def _feed(self, add, msg) -> None:
        """Give ``msg`` to the synchroniser, queue completed pairs, report images given up on."""
        unmatched = self.sync.unmatched_images
        for pair in add(stamp_ns(msg.header), msg):
            self.worker.put(pair)
        if self.sync.unmatched_images > unmatched:
            self.warn_once("sync", "image without camera_info: no camera_info " +
                           ("received yet on " if not self.sync.infos_received else "with a matching stamp on ")
                           + f"'{self.resolve_topic_name('camera_info')}' (set approx_sync or "
                           "camera_info_cache for unsynchronised sources)")

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self.stats.count("input")
        self.watchdog.heard()
        problem = input_problem(msg, self.config.max_input_pixels, self.last_stamp)
        if problem:
            self.stats.count("rejected")
            self.warn_once(*problem)
            return
        self.last_stamp = max(self.last_stamp, stamp_ns(msg.header))
        if self.config.lazy and not subscribed_topics(self.publishers_):
            self.stats.count("lazy_skipped")
            return
        self._feed(self.sync.add_image, msg)

    def _check_silent_input(self) -> None:
        """Warn when the image topic has publishers but nothing arrived (``silent_input``)."""
        if self.state_name != "active":
            return
        publishers = self.get_publishers_info_by_topic(self.image_topic)  # the graph: unmatched ones too
        if line := self.watchdog.check(self.image_topic, publishers):
            self.warn_once("silent", line)

    def _publish_diagnostics(self) -> None:
        self._check_silent_input()
        device = str(self.estimator.device) if self.estimator is not None else "none"
        self.diagnostics.publish(diagnostics_message(
            self.get_name(), device, self.stats, self._dropped(), self.state_name, self.config.expected_rate,
            self.get_clock().now().to_msg()))


def main(args: list[str] | None = None) -> None:
    """Entry point of ``modot_node``; ``--lifecycle`` forces use_lifecycle (managed by a client)."""
    try:
        code = _run(list(sys.argv if args is None else args))
    except KeyboardInterrupt:  # Ctrl-C before spinning began (rclpy.init, the node's constructor)
        code = 0
    sys.exit(code)


def _run(argv: list[str]) -> int:
    """Start, spin until shutdown, clean up; the exit code."""
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.parameter import Parameter

    lifecycle_flag = "--lifecycle" in argv
    argv = [a for a in argv if a != "--lifecycle"]
    rclpy.init(args=argv)
    overrides = [Parameter("use_lifecycle", value=True)] if lifecycle_flag else []
    try:
        node = ModotNode(parameter_overrides=overrides)
    except Exception as error:  # noqa: BLE001 - bad parameters: one line, non-zero exit
        print(f"modot_node: {error}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        if not node.config.use_lifecycle:
            node.trigger_configure()
            if node.state_name != "inactive":
                return 1
            node.trigger_activate()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # launch and the terminal each send SIGINT to the process group: a second one must not
        # cut the clean-up short with a KeyboardInterrupt traceback (SIGTERM still ends a hang)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node._stop_workers()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    main()
