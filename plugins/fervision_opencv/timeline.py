"""The window's rolling timeline: per visible face, its emotion over the last seconds.

One row per face in the current frame (the longest-tracked first, up to ``rows``): the
track id, then a strip coloured like the overlay's boxes, oldest on the left, now on the
right. Drawn below the picture, so it never covers a face.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from fervision.types import Frame

from .overlay import label_color

BACKGROUND = (30, 30, 30)
EMPTY = (60, 60, 60)


class EmotionStrip:
    """Remember each track's labels for ``seconds`` and draw them as ``rows`` strips.

    Args:
        seconds: how much of the past each strip shows.
        rows: how many faces at most (the strip's height is fixed, so the window's is too).
    """

    def __init__(self, seconds: float = 10.0, rows: int = 4) -> None:
        self.seconds = float(seconds)
        self.rows = int(rows)
        self.history: dict[int, deque] = {}
        self.first_seen: dict[int, float] = {}
        self.visible: list[int] = []
        self.now = 0.0

    def update(self, frame: Frame) -> None:
        """Add the labels of ``frame``'s tracked faces; forget tracks gone for ``seconds``."""
        self.now = frame.timestamp
        self.visible = []
        for face in frame.faces:
            if face.track_id is None:
                continue
            self.visible.append(face.track_id)
            self.first_seen.setdefault(face.track_id, frame.timestamp)
            self.history.setdefault(face.track_id, deque()).append((frame.timestamp, face.label))
        for fid in list(self.history):
            past = self.history[fid]
            while past and past[0][0] < self.now - self.seconds:
                past.popleft()
            if not past:
                del self.history[fid], self.first_seen[fid]
        self.visible.sort(key=lambda fid: self.first_seen[fid])

    def height(self, unit: float = 1.0) -> int:
        return self.rows * round(16 * unit) + round(4 * unit)

    def draw(self, width: int, unit: float = 1.0) -> np.ndarray:
        """The strips as a BGR image ``width`` wide."""
        row = round(16 * unit)
        image = np.full((self.height(unit), width, 3), BACKGROUND, np.uint8)
        left, right = round(44 * unit), width - round(6 * unit)
        span = max(1, right - left)
        for i, fid in enumerate(self.visible[: self.rows]):
            y0 = round(4 * unit) + i * row
            y1 = y0 + row - round(3 * unit)
            cv2.putText(
                image,
                f"#{fid}",
                (round(6 * unit), y1 - round(2 * unit)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4 * unit,
                (230, 230, 230),
                max(1, round(unit)),
                cv2.LINE_AA,
            )
            cv2.rectangle(image, (left, y0), (right, y1), EMPTY, -1)
            past = list(self.history.get(fid, ()))
            for (t, label), (t_next, _) in zip(past, past[1:] + [(self.now, None)]):
                x0 = left + round(span * (1 - (self.now - t) / self.seconds))
                x1 = left + round(span * (1 - (self.now - t_next) / self.seconds))
                if label:
                    cv2.rectangle(
                        image, (max(left, x0), y0), (max(x0, x1), y1), label_color(label), -1
                    )
        return image
