"""The window's rolling timeline: per visible face, its emotion over the last seconds.

One row per face in the current frame (the longest-tracked first, up to ``rows``): the
track id, then a strip coloured like the overlay's boxes, oldest on the left, now on the
right; below them a legend: each of the model's labels by its colour. Drawn below the
picture, so it never covers a face.
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
        labels: the model's labels, shown in a legend below the strips (none: no legend).
    """

    def __init__(self, seconds: float = 10.0, rows: int = 4, labels=()) -> None:
        self.seconds = float(seconds)
        self.rows = int(rows)
        self.labels = tuple(labels)
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
        legend = round(16 * unit) if self.labels else 0
        return self.rows * round(16 * unit) + round(4 * unit) + legend

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
        if self.labels:
            self._legend(image, round(4 * unit) + self.rows * row, unit)
        return image

    def _legend(self, image: np.ndarray, top: int, unit: float) -> None:
        """Each label's colour swatch and name in one row from ``top``, shrunk (then cut to
        three letters) to fit the width."""
        font, weight = cv2.FONT_HERSHEY_SIMPLEX, max(1, round(unit))
        box, gap, margin = round(9 * unit), round(4 * unit), round(6 * unit)
        names, scale = list(self.labels), 0.4 * unit
        for short in (False, True):
            names = [n[:3] if short else n for n in self.labels]
            text = sum(cv2.getTextSize(n, font, 1.0, weight)[0][0] for n in names)
            fixed = len(names) * (box + 3 * gap) + 2 * margin
            scale = min(0.4 * unit, max(0.01, image.shape[1] - fixed) / max(1, text))
            if scale >= 0.3 * unit:
                break
        x, bottom = margin, top + round(12 * unit)
        for label, name in zip(self.labels, names):
            cv2.rectangle(image, (x, bottom - box), (x + box, bottom), label_color(label), -1)
            x += box + gap
            cv2.putText(image, name, (x, bottom), font, scale, (230, 230, 230), weight, cv2.LINE_AA)
            x += cv2.getTextSize(name, font, scale, weight)[0][0] + 2 * gap
