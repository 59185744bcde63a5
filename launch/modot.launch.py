"""Start modot_node on a camera: ros2 launch modot_ros modot.launch.py image_topic:=... camera_info_topic:=...

Arguments (also in the README): namespace, image_topic, camera_info_topic, params_file, model_path,
device, backend, use_sim_time, log_level, rviz, rviz_config, use_lifecycle, autostart, dds_profile.
Runs on Humble, Jazzy (any patch) and Kilted: autostart uses launch's lifecycle events, not the
``LifecycleNode(autostart=)`` keyword that only launch_ros >= 0.26.7 has.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration as Config
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from modot_ros.ros.launch_actions import dds_profile_environment, lifecycle_autostart

SHARE = get_package_share_directory("modot_ros")
# name -> (default, description). A literal dict on purpose, repeated in part in replay.launch.py:
# each launch file stands alone, and the docs test reads the names from this literal.
ARGUMENTS = {
    "namespace": ("", "Namespace of the node and its outputs (e.g. the camera name)."),
    "image_topic": ("/camera/color/image_rect", "Input colour image (remaps 'image')."),
    "camera_info_topic": ("/camera/color/camera_info", "Input CameraInfo (remaps 'camera_info')."),
    "params_file": (os.path.join(SHARE, "config", "modot.yaml"), "Parameter YAML file."),
    "model_path": ("", "Checkpoint; empty = packaged default weights."),
    "device": ("auto", "Torch device: auto, cpu, cuda, cuda:N; gpu, gpu.N, npu with backend openvino."),
    "backend": ("auto", "Network forward: auto (the fastest that starts), torch, onnxruntime, openvino or "
                "tensorrt (docs/benchmarks.md: Backends)."),
    "use_sim_time": ("false", "Use /clock (bag replay)."),
    "log_level": ("info", "Logger level: debug, info, warn, error."),
    "rviz": ("false", "Also start RViz with the shipped config."),
    "rviz_config": (os.path.join(SHARE, "config", "modot.rviz"), "RViz config file."),
    "use_lifecycle": ("false", "Start as a managed lifecycle node."),
    "autostart": ("true", "With use_lifecycle: configure, then activate once inactive (any distro)."),
    "dds_profile": (os.path.join(SHARE, "config", "fastdds_shm.xml"),
                    "Fast DDS profile of every process started here (both variables); none = the environment's."),
}


def node_kwargs(lifecycle: bool):
    """Everything the plain and the lifecycle node share."""
    return dict(
        package="modot_ros", executable="modot_node", name="modot", namespace=Config("namespace"),
        output="screen",
        parameters=[Config("params_file"), {"model_path": ParameterValue(Config("model_path"), value_type=str),
                                            "device": ParameterValue(Config("device"), value_type=str),
                                            "backend": ParameterValue(Config("backend"), value_type=str),
                                            "use_sim_time": ParameterValue(Config("use_sim_time"), value_type=bool),
                                            "use_lifecycle": lifecycle}],
        remappings=[("image", Config("image_topic")), ("camera_info", Config("camera_info_topic"))],
        arguments=["--ros-args", "--log-level", Config("log_level")],
    )


def generate_launch_description():
    lifecycle = Config("use_lifecycle")
    managed = LifecycleNode(**node_kwargs(True), condition=IfCondition(lifecycle))
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text) in ARGUMENTS.items()],
        dds_profile_environment(),
        Node(**node_kwargs(False), condition=UnlessCondition(lifecycle)),
        managed,
        *lifecycle_autostart(managed, Config("autostart")),
        Node(package="rviz2", executable="rviz2", arguments=["-d", Config("rviz_config")],
             parameters=[{"use_sim_time": ParameterValue(Config("use_sim_time"), value_type=bool)}],
             condition=IfCondition(Config("rviz"))),
    ])
