"""Large images over DDS: the shared-memory profile reaches every Fast DDS version and fits the node.

Fast DDS 2.x and 3.x read different variable names; the profile's message limit must carry every
image the node accepts by default.
"""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from modot_ros.ros.dds_profile import PROFILE_VARIABLES, profile_env
from modot_ros.ros.node_config import NodeConfig
from tests.ros_helpers.process import ros_env

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "config" / "fastdds_shm.xml"
NS = {"p": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
HEADER_MARGIN = 64 * 1024  # Image header, encoding string and CDR/RTPS framing, with room to spare
LAUNCHERS = ["scripts/in_loopback.sh", "benchmarks/bench_node.py", "tests/ros_helpers/process.py", "README.md"]


def _shm_limits() -> tuple[int, int]:
    """(segment_size, maxMessageSize) of the profile's SHM transport, bytes."""
    root = ET.parse(PROFILE).getroot()
    shm = next(t for t in root.iterfind(".//p:transport_descriptor", NS) if t.findtext("p:type", "", NS) == "SHM")
    return int(shm.findtext("p:segment_size", "", NS)), int(shm.findtext("p:maxMessageSize", "", NS))


def test_profile_env_sets_both_names():
    """Jazzy's Fast DDS 2.x and Kilted's 3.x each read only one of the two names."""
    assert profile_env(PROFILE) == {name: str(PROFILE) for name in PROFILE_VARIABLES}
    env = ros_env(1, Path("/tmp"))
    assert all(env[name] == str(PROFILE) for name in PROFILE_VARIABLES)


@pytest.mark.parametrize("path", LAUNCHERS)
def test_every_launcher_sets_both_names(path):
    """A launcher that sets only the new name leaves Jazzy's nodes on UDP fragments."""
    text = (REPO / path).read_text()
    uses = [name for name in PROFILE_VARIABLES if name in text] or \
        (["profile_env"] if "profile_env" in text else [])
    assert uses == list(PROFILE_VARIABLES) or uses == ["profile_env"], f"{path} sets {uses}"


def test_default_max_input_pixels_fits_the_profile():
    """Every image the node accepts by default arrives: rgb8 in, 32FC1 depth out, under maxMessageSize."""
    segment, largest = _shm_limits()
    pixels = NodeConfig().max_input_pixels
    assert pixels * 3 + HEADER_MARGIN <= largest, "rgb8 input"
    assert pixels * 4 + HEADER_MARGIN <= largest, "32FC1 depth output"
    assert segment >= 4 * largest, "a segment holds a few messages in flight"
