"""StampSync (rclpy-free): image/camera_info pairing by stamp, and the worker's freshest-frame slot."""
import threading
import time

import pytest

from modot_ros.ros.worker import FreshestWorker
from modot_ros.pipeline.stamp_sync import StampSync, frame_latency

MS = 1_000_000
SECOND = 1_000_000_000
NOW = 1_700_000_000 * SECOND


def test_exact_pairs_equal_stamps_in_either_order():
    """CameraSubscriber semantics: a pair forms whichever message arrives first."""
    sync = StampSync("exact")
    assert sync.add_image(1, "i1") == []
    assert sync.add_info(1, "c1") == [("i1", "c1")]
    assert sync.add_info(2, "c2") == []
    assert sync.add_image(2, "i2") == [("i2", "c2")]
    assert sync.add_image(3 * MS, "i3") == [] and sync.unmatched_images == 0


def test_exact_counts_images_whose_info_never_comes():
    """A missing camera_info shows up as unmatched images instead of silence."""
    sync = StampSync("exact")
    sync.add_image(1, "lost")
    sync.add_info(2, "c2")
    assert sync.add_image(2, "i2") == [("i2", "c2")]
    assert sync.unmatched_images == 1 and not sync.images


def test_exact_queue_is_bounded():
    """Without infos, memory stays bounded and the evicted images are counted."""
    sync = StampSync("exact", queue_size=3)
    for stamp in range(10):
        sync.add_image(stamp, stamp)
    assert len(sync.images) == 3 and sync.unmatched_images == 7


def test_approx_matches_within_slop_only():
    """approx_sync pairs the nearest info within the slop, never a farther one."""
    sync = StampSync("approx", slop=0.02)
    sync.add_info(100 * MS, "c")
    assert sync.add_image(115 * MS, "near") == [("near", "c")]
    assert sync.add_image(150 * MS, "far") == []


def test_cache_uses_latest_info_whatever_its_stamp():
    """camera_info_cache serves bags whose info is not time-synchronised."""
    sync = StampSync("cache")
    assert sync.add_image(5, "early") == [] and sync.unmatched_images == 1
    sync.add_info(1, "old")
    sync.add_info(2, "new")
    assert sync.add_image(999, "i") == [("i", "new")]


def test_bad_mode_is_refused():
    """A typo in the mode is an error naming the allowed values."""
    with pytest.raises(ValueError, match="exact, approx, cache"):
        StampSync("nearest")


def test_worker_processes_only_the_freshest_item():
    """While busy, newer frames replace the waiting one: drops are counted, latency stays flat."""
    done, release = [], threading.Event()

    def process(item):
        release.wait(5)
        done.append(item)

    worker = FreshestWorker(process)
    worker.put(0)
    time.sleep(0.05)  # 0 is in progress
    for item in range(1, 6):
        worker.put(item)
    release.set()
    deadline = time.monotonic() + 5
    while len(done) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert done == [0, 5] and worker.dropped == 4


@pytest.mark.parametrize("stamp, kind", [(0, "zero"), (NOW + 2 * SECOND, "ahead"), (NOW - 3600 * SECOND, "behind")])
def test_latency_is_not_measured_from_meaningless_stamps(stamp, kind):
    """An unstamped, future or hour-old image gives no latency (no 1.8e12 ms in /diagnostics), and a reason."""
    latency, got, reason = frame_latency(NOW, stamp)
    assert latency is None and got == kind and "latency is not measured" in reason


def test_latency_of_a_recent_stamp_is_measured():
    """A frame stamped 25 ms ago has 25 ms latency."""
    assert frame_latency(NOW, NOW - 25_000_000) == (pytest.approx(25.0), None, None)
