"""The running node over real DDS (one node for the module).

Covers topics, encodings, headers, QoS, camera_info scaling, the bundle message, lazy idling,
runtime parameter checks and diagnostics.
"""
import pytest

from modot_ros.pipeline.topics import TOPICS
from tests.ros_helpers.node_run import FAST, run_scenario

pytestmark = pytest.mark.ros
ROUTE = ["--ns", "/t", "--image", "/cam/image", "--info", "/cam/camera_info"]
NODE = ["--ros-args", "-r", "__ns:=/t", "-r", "image:=/cam/image", "-r", "camera_info:=/cam/camera_info",
        *FAST, "-p", "publish_depth_mm:=true", "-p", "publish_mixture:=true", "-p", "output_scale:=0.5"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_scenario(tmp_path_factory.mktemp("topics"), "topics", NODE, ROUTE)


def test_every_output_reaches_a_reliable_subscriber(run):
    """RViz subscribes reliable: every frame must arrive on every topic (no QoS mismatch)."""
    stamps = set(run.result["stamps"] + run.result["after_param"])
    assert stamps and set(run.result["seen"]) == set(TOPICS), "no frames sent, or an output not subscribed"
    for topic, entries in run.result["seen"].items():
        assert {e["stamp"] for e in entries} == stamps, topic


def test_headers_and_encodings_follow_rep_118(run):
    """Outputs carry the input header and the encodings depth consumers expect."""
    expected = {"depth/image": "32FC1", "depth/image_raw": "16UC1", "depth/confidence": "32FC1",
                "occlusion/boundary": "32FC1", "occlusion/mask": "mono8"}
    assert all(run.result["seen"].get(topic) for topic in TOPICS), "an output topic received nothing"
    for topic, entries in run.result["seen"].items():
        for entry in entries:
            assert entry["frame_id"] == "cam_optical_frame"
            if topic in expected:
                assert entry["encoding"] == expected[topic]
                assert (entry["width"], entry["height"]) == (64, 48)


def test_depth_camera_info_is_scaled_exactly(run):
    """output_scale 0.5: K maps to the half-size grid with the pixel-centre convention."""
    info = run.result["seen"]["depth/camera_info"][0]
    assert (info["width"], info["height"]) == (64, 48)
    assert info["k"] == [55.0, 0.0, 31.5, 0.0, 55.0, 23.5, 0.0, 0.0, 1.0]


def test_bundle_matches_the_individual_topics(run):
    """depth_boundary carries exactly the pixels of depth/image, occlusion/boundary, confidence."""
    seen = run.result["seen"]
    by_stamp = {topic: {e["stamp"]: e for e in seen[topic]} for topic in seen}
    for stamp, bundle in by_stamp["depth_boundary"].items():
        assert bundle["depth"] == by_stamp["depth/image"][stamp]["digest"]
        assert bundle["boundary"] == by_stamp["occlusion/boundary"][stamp]["digest"]
        assert bundle["confidence"] == by_stamp["depth/confidence"][stamp]["digest"]
        assert bundle["info_k"] == by_stamp["depth/camera_info"][stamp]["k"]
        assert set(bundle["parts_stamps"]) == {stamp}
    assert all(e["encoding"] == "32FC2" and e["k"] == 2 for e in seen["depth_mixture"])


def test_cloud_is_organized_with_pcl_fields(run):
    """The cloud is organized at the output size with x,y,z + boundary, rgb, confidence."""
    cloud = run.result["seen"]["points"][0]
    assert (cloud["width"], cloud["height"]) == (64, 48)
    assert cloud["fields"] == ["x", "y", "z", "boundary", "rgb", "confidence"]


def test_lazy_node_idles_without_subscribers(run):
    """No subscriber on any output: frames are counted but no inference runs."""
    lazy = run.result["lazy_diag"]
    assert int(lazy["lazy_skipped"]) >= 4 and lazy["processed"] == "0"


def test_invalid_parameters_are_refused_with_a_reason(run):
    """ros2 param set with a bad value fails and says why; a good value is applied."""
    assert run.result["bad_param"] == {"successful": False, "reason": "edge_points='blur'; allowed: keep, drop, snap"}
    assert not run.result["bad_range"]["successful"] and "max_depth" in run.result["bad_range"]["reason"]
    assert run.result["good_param"]["successful"]
    assert "parameter change refused: edge_points='blur'" in run.log


def test_diagnostics_report_timings(run):
    """/diagnostics shows processed frames, the stage timings and the latency."""
    diag = run.result["diag"]
    assert int(diag["processed"]) >= 5 and diag["state"] == "active"
    assert float(diag["forward_ms"]) > 0 and float(diag["latency_ms"]) > float(diag["forward_ms"]) * 0.5
