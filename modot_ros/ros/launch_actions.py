"""Launch actions shared by ``launch/*.launch.py``, written for every distro's launch_ros.

Only APIs present from Humble (launch_ros 0.19) to Kilted are used: ``LifecycleNode(autostart=)``
exists only in launch_ros >= 0.26.7, so autostart is done with launch's lifecycle events instead.
"""
from __future__ import annotations

import os

from launch.actions import EmitEvent, OpaqueFunction, RegisterEventHandler, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition

from modot_ros.ros.dds_profile import profile_env

# ros2 launch refuses an empty ``name:=``, so opting out takes a word
KEEP = "none"


def _profile_variables(context) -> list[SetEnvironmentVariable]:
    path = LaunchConfiguration("dds_profile").perform(context)
    if path == KEEP:
        return []
    if not os.path.isfile(path):
        raise RuntimeError(f"dds_profile:={path} is not a file; give a Fast DDS XML profile, "
                           f"or dds_profile:={KEEP} to keep the environment's profile variables")
    return [SetEnvironmentVariable(name, value) for name, value in profile_env(path).items()]


def dds_profile_environment() -> OpaqueFunction:
    """Set both Fast DDS profile variables to the ``dds_profile`` argument for every later process.

    Fast DDS 2.x (Humble, Jazzy) reads only FASTRTPS_DEFAULT_PROFILES_FILE and 3.x (Kilted) only
    FASTDDS_DEFAULT_PROFILES_FILE, so both are set; the bag player needs it as much as the node (a
    publisher without the large segment sends images as UDP fragments). ``none``: leave them alone.
    """
    return OpaqueFunction(function=_profile_variables)


def lifecycle_autostart(node, autostart) -> list:
    """Configure ``node`` at start and activate it once configure has reached 'inactive'.

    The handler matches only configuring -> inactive, so a later manual deactivate stays
    deactivated. ``autostart``: a substitution that evaluates to true/false.
    """
    def change(transition: int, **kwargs) -> EmitEvent:
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=transition),
                         **kwargs)

    # the handler first: it must be registered before configure can complete
    return [RegisterEventHandler(OnStateTransition(target_lifecycle_node=node, start_state="configuring",
                                                   goal_state="inactive",
                                                   entities=[change(Transition.TRANSITION_ACTIVATE)]),
                                 condition=IfCondition(autostart)),
            change(Transition.TRANSITION_CONFIGURE, condition=IfCondition(autostart))]
