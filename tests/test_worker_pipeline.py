"""Two workers chained by one-slot hand-overs (the node's pipeline_threads 2): order kept, every frame accounted for."""
from __future__ import annotations

import threading
import time

from modot_ros.ros.worker import FreshestWorker


def _wait_idle(*workers: FreshestWorker, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(w.busy or w._has_item for w in workers):
            return
        time.sleep(0.01)
    raise AssertionError("workers did not drain")


def test_slow_output_stage_drops_the_oldest_and_counts_every_drop():
    """A fast network feeding slow outputs: outputs see a rising subsequence; put = done + dropped, exactly."""
    done, lock = [], threading.Lock()

    def finish(item):
        time.sleep(0.02)
        with lock:
            done.append(item)

    outputs = FreshestWorker(finish, name="outputs")
    network = FreshestWorker(lambda item: outputs.put(item * 10), name="network")
    for i in range(100):
        network.put(i)
        time.sleep(0.001)
    _wait_idle(network, outputs)
    network.stop()
    outputs.stop()
    handed_over = 100 - network.dropped
    assert done == sorted(done) and len(set(done)) == len(done)
    assert len(done) + outputs.dropped == handed_over
    assert outputs.dropped > 0 and done[-1] == 990  # the last frame always comes out
