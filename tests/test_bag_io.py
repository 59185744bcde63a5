"""rosbag2 reading/writing helpers: topic auto-detection, stamp matching, typestores."""
import pytest
from rosbags.typesys import Stores

from modot_ros.bags.io import BagError, BagWriter, bag_distro, iter_frames, open_bag, select_topics
from tests.bag_cases import case_depth, write_case_bag


def test_auto_detection_picks_image_info_and_ground_truth(tmp_path):
    """With one candidate per role, no topic flag is needed."""
    bag = write_case_bag(tmp_path / "bag", n=1)
    with open_bag(bag) as reader:
        selection = select_topics(reader)
    assert selection.roles() == {"image": "/camera/image_raw", "camera_info": "/camera/camera_info",
                                 "gt_depth": "/camera/depth/ground_truth",
                                 "gt_boundary": "/camera/occlusion/ground_truth"}


def test_ground_truth_name_hint_resolves_two_depth_topics(tmp_path):
    """A sensor depth topic next to a *ground_truth* one: the ground truth is chosen, not an error."""
    bag = write_case_bag(tmp_path / "bag", n=1, extra_topics=("/camera/depth/image_rect",))
    with open_bag(bag) as reader:
        assert select_topics(reader).gt_depth == "/camera/depth/ground_truth"
        assert select_topics(reader, use_gt=False).gt_depth is None


def test_frames_match_by_stamp_and_convert_units(tmp_path):
    """Frames pair image, camera_info and ground truth of the same header.stamp; mm become metres."""
    bag = write_case_bag(tmp_path / "bag", n=3, storage="sqlite3", depth_encoding="16UC1")
    with open_bag(bag) as reader:
        frames = list(iter_frames(reader, select_topics(reader)))
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.stamp_ns for f in frames] == [100_000_000_000, 100_100_000_000, 100_200_000_000]
    assert all(abs(f.gt_depth - case_depth(i)).max() < 1e-6 for i, f in enumerate(frames))
    assert frames[0].intrinsics.fx == 50.0 and frames[0].gt_boundary.sum() == 48


def test_bag_without_boundary_ground_truth_still_evaluates_depth(tmp_path):
    """No OB ground-truth topic: frames come out with depth ground truth only, none lost."""
    bag = write_case_bag(tmp_path / "bag", n=3, boundary=False)
    with open_bag(bag) as reader:
        selection = select_topics(reader)
        frames = list(iter_frames(reader, selection))
    assert selection.gt_boundary is None and len(frames) == 3 and frames[2].gt_boundary is None
    assert frames[2].gt_depth is not None


def test_writer_refuses_to_overwrite_and_distro_is_read(tmp_path):
    """An existing output bag is never overwritten; the typestore follows metadata ros_distro."""
    bag = write_case_bag(tmp_path / "bag", n=1, distro=Stores.ROS2_HUMBLE)
    with pytest.raises(BagError, match="already exists"):
        BagWriter(bag)
    assert bag_distro(bag) == "rosbags"  # what rosbags writes; unknown names fall back to Jazzy
    with pytest.raises(BagError, match="mcap or sqlite3"):
        BagWriter(tmp_path / "new", storage="rosbag1")
