"""Start a ``modot_node`` process and a scenario peer process; collect the peer's JSON and the node's log.

The node is left running for the caller to inspect, then stopped.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tests.ros_helpers.process import Deadline, ros_env, start, stop

# torch: these tests are about the node, not the engines (test_node_backend runs the default, auto)
FAST = ["-p", "random_weights:=true", "-p", "device:=cpu", "-p", "input_width:=128",
        "-p", "input_height:=96", "-p", "backend:=torch"]


@dataclass
class Run:
    result: dict
    log: str
    alive_after: bool  # node still running when the scenario ended


def run_scenario(tmp: Path, scenario: str, node_args: list[str], peer_args: list[str] = (),
                 seconds: float = 120, domain: int = 0, module: str = "tests.ros_helpers.node_scenarios") -> Run:
    """``module``: the peer's scenario module (``python -m module scenario --out ...``)."""
    env = ros_env(domain_id=domain or 100 + os.getpid() % 100, tmp_path=tmp)
    env["OMP_NUM_THREADS"] = "1"  # 2 shared cores: node and peer must not oversubscribe
    deadline = Deadline(seconds)
    node = start(["-m", "modot_ros.ros.node", *node_args], env, tmp / "node.log")
    out = tmp / f"{scenario}.json"
    peer = start(["-m", module, scenario, "--out", str(out), *peer_args],
                 env, tmp / "peer.log")
    try:
        code = deadline.wait(peer)
        alive = node.poll() is None
    finally:
        stop(peer)
        stop(node)
    assert code == 0, (tmp / "peer.log").read_text() + (tmp / "node.log").read_text()
    return Run(json.loads(out.read_text()), (tmp / "node.log").read_text(), alive)
