"""rosbag2 reading/writing helpers: topic auto-detection, stamp matching, typestores, compressed images."""
import pytest
from rosbags.typesys import Stores

from modot_ros.bags.ground_truth import GT_TOPICS
from modot_ros.bags.io import BagError, BagWriter, bag_distro, iter_frames, open_bag, select_topics
from modot_ros.pipeline.compressed import decode_rgb
from modot_ros.pipeline.messages import array_to_image
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


@pytest.mark.parametrize("storage, codec, depth_encoding", [("mcap", "png", "32FC1"), ("sqlite3", "jpeg", "16UC1")])
def test_compressed_colour_and_compressed_depth_bag(tmp_path, storage, codec, depth_encoding):
    """A robot's bag (image_raw/compressed + compressedDepth) is auto-detected and decoded to metres."""
    bag = write_case_bag(tmp_path / "bag", n=3, storage=storage, image_codec=codec, depth_encoding=depth_encoding,
                         compressed_depth=True)
    with open_bag(bag) as reader:
        selection = select_topics(reader)
        frames = list(iter_frames(reader, selection))
    assert (selection.image, selection.gt_depth) == ("/camera/image_raw/compressed",
                                                     "/camera/depth/ground_truth/compressedDepth")
    assert len(frames) == 3 and frames[0].rgb.shape == (48, 64, 3)
    if codec == "png":  # lossless: the frame index in pixel (0, 0) survives
        assert [int(f.rgb[0, 0, 0]) for f in frames] == [0, 1, 2]
    tolerance = 2e-3 if depth_encoding == "32FC1" else 1e-6  # inverse-depth quantisation vs exact millimetres
    assert all(abs(f.gt_depth - case_depth(i)).max() < tolerance for i, f in enumerate(frames))


def test_raw_topic_wins_over_its_compressed_twin(tmp_path):
    """A bag with image_raw and image_raw/compressed (one camera recorded twice) is not ambiguous."""
    bag, twin = write_case_bag(tmp_path / "bag", n=1, image_codec="png"), tmp_path / "twin"
    with open_bag(bag) as reader, BagWriter(twin) as out:
        for con, t, data in reader.messages():
            out.write_raw(con.topic, con.msgtype, data, t)
            if con.topic == GT_TOPICS["image"] + "/compressed":
                msg = out.typestore.deserialize_cdr(data, con.msgtype)
                out.write(GT_TOPICS["image"], array_to_image(decode_rgb(msg), "rgb8", msg.header,
                                                             out.typestore.types["sensor_msgs/msg/Image"]), t)
    with open_bag(twin) as reader:
        assert select_topics(reader).image == "/camera/image_raw"


def test_corrupt_compressed_frame_ends_the_bag_there_with_one_line(tmp_path):
    """A cut-off jpeg mid-bag: the frames before it come out, then one BagError naming frame and reason."""
    bag = write_case_bag(tmp_path / "bag", n=3, image_codec="jpeg", compressed_depth=True)
    broken = tmp_path / "broken"
    with open_bag(bag) as reader, BagWriter(broken) as out:
        for con, t, data in reader.messages():
            if con.topic.endswith("/compressed") and t > 1_050_000_000:  # frame 1 and later
                msg = out.typestore.deserialize_cdr(data, con.msgtype)
                msg = type(msg)(header=msg.header, format=msg.format, data=msg.data[: len(msg.data) // 2])
                data = out.typestore.serialize_cdr(msg, con.msgtype)
            out.write_raw(con.topic, con.msgtype, data, t)
    with open_bag(broken) as reader:
        frames = iter_frames(reader, select_topics(reader))
        assert next(frames).index == 0
        with pytest.raises(BagError, match=r"frame 1 \(stamp \d+\): compressed image .* the JPEG is truncated"):
            next(frames)
