"""A frame rate as frames counted over the last second, not an average of per-frame rates."""

from __future__ import annotations

from collections import deque

#: Seconds of recent frames counted.
WINDOW_S = 1.0


class RateMeter:
    """Frames a second over about the last ``WINDOW_S`` (at least 2 calls, at most 120).

    Counting frames over the time they span reads true when intervals vary: frames that
    reuse earlier work pass in well under a millisecond, and an average of per-frame rates
    (1 / interval) would read several times high.
    """

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.rate: float | None = None

    def tick(self, now: float) -> float | None:
        """Count a frame at ``now`` (seconds); the rate so far, None before a second call."""
        times = self._times
        times.append(now)
        while len(times) > 120 or (len(times) > 2 and now - times[1] >= WINDOW_S):
            times.popleft()
        if len(times) > 1 and now > times[0]:
            self.rate = (len(times) - 1) / (now - times[0])
        return self.rate

    def reset(self) -> None:
        self._times.clear()
        self.rate = None
