"""Bounded-queue threads: reading frames ahead of the pipeline, writing behind it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ReadAhead:
    """Iterate ``produce()`` on a thread through a bounded queue.

    With ``newest_only`` (live sources) the queue holds one item and a stale one is
    dropped when a newer arrives, so the consumer always gets the latest frame. Iteration
    ends early once ``halt`` (an Event another thread may set) is set; ``idle`` is called
    every 50 ms the consumer waits.
    """

    def __init__(
        self,
        produce: Callable[[], Iterator],
        maxsize: int = 8,
        newest_only=False,
        halt: threading.Event | None = None,
        idle: Callable[[], object] | None = None,
    ):
        self._produce = produce
        self._idle = idle  # called in the consumer's thread while it waits for an item
        self._newest_only = newest_only
        self._halt = halt or threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=1 if newest_only else maxsize)
        self._stop = threading.Event()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="fervision-read", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            if self._newest_only:
                try:
                    self._queue.put_nowait(item)
                    return True
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
                    continue
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._produce():
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put_final(_Failure(exc))
            return
        self._put_final(_END)

    def _put_final(self, item) -> None:
        # The end marker must never be dropped as "stale".
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        while not self._halt.is_set():
            try:  # with a timeout: to notice ``halt`` while the producer has nothing
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._idle is not None:
                    self._idle()
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item

    @property
    def alive(self) -> bool:
        """Whether the producer thread still runs (stuck in a source, or finishing a frame)."""
        return self._thread.is_alive()

    def close(self, wait: float = 5.0) -> None:
        """Stop the producer thread and wait for it, at most ``wait`` seconds (it releases
        its source itself)."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=wait)


class WriteBehind:
    """Call ``consume(item)`` on a thread through a bounded queue; errors surface on put/close."""

    def __init__(self, consume: Callable[[object], None], maxsize: int = 8):
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self.failed = False  # once consume raises, nothing more is consumed
        self.failed_item = None  # the item it raised on
        self._thread = threading.Thread(target=self._run, name="fervision-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:  # with a timeout: a wake-up lost to Ctrl-C in the main thread's put costs 0.1 s
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                return
            if not self.failed:
                try:
                    self._consume(item)
                except BaseException as exc:
                    self._error, self.failed, self.failed_item = exc, True, item

    def put(self, item) -> None:
        self._raise_error()
        self._queue.put(item)

    def close(self) -> None:
        """Drain everything queued, stop the thread, and raise any error it hit."""
        self._queue.put(_END)
        self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
