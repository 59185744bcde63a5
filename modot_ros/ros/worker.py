"""A worker thread fed through a one-slot mailbox: the freshest frame wins, older ones are dropped.

So latency cannot grow when frames arrive faster than they are processed. (No rclpy here.)
"""
from __future__ import annotations

import threading
from typing import Any, Callable


class FreshestWorker:
    """A worker thread that processes only the freshest item put to it.

    ``put(item)`` replaces any item still waiting (counted in ``dropped``); ``process(item)``
    runs on the worker thread, one item at a time.
    """

    def __init__(self, process: Callable[[Any], None], name: str = "modot_worker") -> None:
        self._process = process
        self._slot: Any = None
        self._has_item = False
        self._cond = threading.Condition()
        self._stop = False
        self.dropped = 0
        self.busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: Any) -> bool:
        """Queue ``item``; True when it replaced an unprocessed one."""
        with self._cond:
            replaced = self._has_item
            self.dropped += replaced
            self._slot, self._has_item = item, True
            self._cond.notify()
        return replaced

    @property
    def pending(self) -> bool:
        """An item is waiting (a newer frame arrived while one is processed)."""
        with self._cond:
            return self._has_item

    @property
    def idle(self) -> bool:
        """Nothing processed and nothing waiting."""
        with self._cond:
            return not (self.busy or self._has_item)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._has_item or self._stop)
                if self._stop:
                    return
                item, self._slot, self._has_item = self._slot, None, False
                self.busy = True
            try:
                self._process(item)
            finally:
                self.busy = False

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the item in progress, discard a waiting one, join the thread."""
        with self._cond:
            self._stop = True
            self._has_item = False
            self._cond.notify()
        self._thread.join(timeout)
