"""The silent-input watchdog: the image topic has publishers, yet no image arrives.

A camera publishes many frames a second, so SILENT_INPUT_S without one while the graph lists
publishers is a DDS problem (QoS mismatch, UDP fragments lost, a message above the profile's
limit), not a quiet camera. The watchdog says which, once the node's diagnostics timer asks.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Sequence

from modot_ros.ros.dds_profile import PROFILE_VARIABLES, silent_input_reason
from modot_ros.ros.qos import qos_compatible, qos_name

SILENT_INPUT_S = 3.0


class SilentInputWatchdog:
    """Time since the last image; ``check`` turns a long silence into one line naming the cause."""

    def __init__(self, timeout_s: float = SILENT_INPUT_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self.clock = clock
        self.input_qos = None
        self._heard = clock()

    def restart(self, input_qos) -> None:
        """A new subscription with ``input_qos``: silence counts from now."""
        self.input_qos = input_qos
        self._heard = self.clock()

    def heard(self) -> None:
        """An image arrived (good or bad: transport works)."""
        self._heard = self.clock()

    def check(self, topic: str, publishers: Sequence) -> str | None:
        """The warning for ``topic`` given its graph ``publishers`` (TopicEndpointInfo), or None.

        No publishers: silence is expected and starts counting only once one appears.
        """
        now = self.clock()
        if not publishers:
            self._heard = now
            return None
        if now - self._heard < self.timeout_s:
            return None
        mismatch = [f"{p.node_namespace.rstrip('/')}/{p.node_name} ({qos_name(p.qos_profile)})"
                    for p in publishers if not qos_compatible(p.qos_profile, self.input_qos)]
        profile_set = any(os.environ.get(name) for name in PROFILE_VARIABLES)
        return silent_input_reason(topic, len(publishers), now - self._heard, mismatch, profile_set)
