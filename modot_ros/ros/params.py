"""ROS parameters declared from ``NodeConfig`` (one source) and checked when set."""
from __future__ import annotations

import dataclasses

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType,
                                SetParametersResult)

from modot_ros.ros.node_config import FIELDS, NodeConfig, check_value, type_name

_TYPES = {"bool": ParameterType.PARAMETER_BOOL, "int": ParameterType.PARAMETER_INTEGER,
          "double": ParameterType.PARAMETER_DOUBLE, "string": ParameterType.PARAMETER_STRING}


def descriptor(name: str) -> ParameterDescriptor:
    """Description (help + allowed values), type, range and read-only flag of one parameter."""
    meta = FIELDS[name].metadata
    text = meta["help"] + (f" Allowed: {', '.join(meta['choices'])}." if meta["choices"] else "")
    desc = ParameterDescriptor(name=name, type=_TYPES[type_name(name)], description=text,
                               read_only=meta["read_only"])
    if meta["range"]:
        low, high = meta["range"]
        if type_name(name) == "int":
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=1)]
        else:
            desc.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high))]
    return desc


def declare_all(node) -> NodeConfig:
    """Declare every NodeConfig field on ``node``; return the resulting config (not validated)."""
    values = {}
    for name, f in FIELDS.items():
        values[name] = node.declare_parameter(name, f.default, descriptor(name)).value
        if type_name(name) == "double" and isinstance(values[name], int):
            values[name] = float(values[name])
    return NodeConfig(**values)


def apply_changes(config: NodeConfig, params) -> tuple[NodeConfig | None, SetParametersResult]:
    """Candidate config after setting ``params`` (rclpy Parameters), or the reason it is refused."""
    changes = {}
    for param in params:
        if param.name not in FIELDS:
            continue  # use_sim_time, qos_overrides, ...: not ours
        value = param.value
        if type_name(param.name) == "double" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        reason = check_value(param.name, value)
        if reason:
            return None, SetParametersResult(successful=False, reason=reason)
        changes[param.name] = value
    candidate = dataclasses.replace(config, **changes)
    reasons = candidate.validate()
    if reasons:
        return None, SetParametersResult(successful=False, reason="; ".join(reasons))
    return candidate, SetParametersResult(successful=True)
