"""Replay a bag into modot_node with sim time (ros2 launch modot_ros replay.launch.py bag:=<path>).

``ros2 bag play --clock`` publishes /clock, the node runs with use_sim_time, outputs can be
recorded (``record:=true``, to ``record_path``) and shown in RViz (``rviz:=true``).
``player:=modot`` plays with the package's own player instead (no rosbag2 needed).
Arguments: bag, rate, player, image_topic, camera_info_topic, namespace, params_file, model_path, device,
record, record_path, rviz, rviz_config, log_level, dds_profile.
"""
import os
import sys

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration as Config
from launch.substitutions import PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from modot_ros.pipeline.topics import TOPICS
from modot_ros.ros.launch_actions import dds_profile_environment

SHARE = get_package_share_directory("modot_ros")
OUTPUTS = [*TOPICS, "/diagnostics"]
# name -> (default, description). A literal dict on purpose, repeated in part in modot.launch.py:
# each launch file stands alone, and the docs test reads the names from this literal.
ARGUMENTS = {
    "bag": ("", "Bag folder or file to play (required)."),
    "rate": ("1.0", "Playback rate; lower it for a slow model so no frame is dropped."),
    "player": ("ros2", "ros2 (ros2 bag play) or modot (modot_ros.ros.tools.bag_player: no rosbag2 needed)."),
    "image_topic": ("/camera/color/image_rect", "Image topic in the bag."),
    "camera_info_topic": ("/camera/color/camera_info", "CameraInfo topic in the bag."),
    "namespace": ("modot", "Namespace of the node's outputs."),
    "params_file": (os.path.join(SHARE, "config", "modot.yaml"), "Parameter YAML file."),
    "model_path": ("", "Checkpoint; empty = packaged default weights."),
    "device": ("auto", "Torch device."),
    "record": ("false", "Record the node's outputs with ros2 bag record."),
    "record_path": ("modot_outputs", "Output bag folder for record:=true."),
    "rviz": ("false", "Start RViz."),
    "rviz_config": (os.path.join(SHARE, "config", "modot.rviz"), "RViz config file."),
    "log_level": ("info", "Logger level."),
    "dds_profile": (os.path.join(SHARE, "config", "fastdds_shm.xml"),
                    "Fast DDS profile of every process started here (both variables); none = the environment's."),
}


def player(context):
    """The bag player process: ``ros2 bag play`` or the package's own (run by this interpreter, which has rclpy)."""
    chosen, bag, rate, image, info = (Config(name).perform(context) for name in
                                      ("player", "bag", "rate", "image_topic", "camera_info_topic"))
    if not bag:
        raise RuntimeError("replay.launch.py needs bag:=<bag folder or file>")
    if chosen == "ros2":
        return [ExecuteProcess(cmd=["ros2", "bag", "play", bag, "--clock", "--rate", rate,
                                    "--disable-keyboard-controls"], output="screen")]
    if chosen == "modot":  # waits for the node's subscriptions, so the first frames are not lost
        return [ExecuteProcess(cmd=[sys.executable, "-m", "modot_ros.ros.tools.bag_player", bag, "--rate", rate,
                                    "--wait-for", image, info], output="screen")]
    raise RuntimeError(f"player:={chosen}; allowed: ros2, modot")


def generate_launch_description():
    ns = Config("namespace")
    outputs = [name if name.startswith("/") else PathJoinSubstitution(["/", ns, name]) for name in OUTPUTS]
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text) in ARGUMENTS.items()],
        dds_profile_environment(),
        Node(package="modot_ros", executable="modot_node", name="modot", namespace=ns, output="screen",
             parameters=[Config("params_file"),
                         {"model_path": ParameterValue(Config("model_path"), value_type=str),
                          "device": ParameterValue(Config("device"), value_type=str),
                          "use_sim_time": True, "lazy": False}],
             remappings=[("image", Config("image_topic")), ("camera_info", Config("camera_info_topic"))],
             arguments=["--ros-args", "--log-level", Config("log_level")]),
        OpaqueFunction(function=player),
        ExecuteProcess(cmd=["ros2", "bag", "record", "--use-sim-time", "-o", Config("record_path"), *outputs],
                       output="screen", condition=IfCondition(Config("record"))),
        Node(package="rviz2", executable="rviz2", arguments=["-d", Config("rviz_config")],
             parameters=[{"use_sim_time": True}], condition=IfCondition(Config("rviz"))),
    ])
