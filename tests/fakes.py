"""Small stand-in stages for testing pipeline logic without video or models."""

from __future__ import annotations

import time

import numpy as np

from fervision.errors import FervisionError
from fervision.types import Face, Frame, SourceInfo


class ListSource:
    """Frames of a solid colour; ``fail_after`` makes it stop like an unplugged camera."""

    def __init__(self, count=10, size=(64, 48), fps=10.0, live=False, fail_after=None):
        self.count, self.size, self.fps, self.live = count, size, fps, live
        self.fail_after = fail_after
        self.closed = False

    def open(self):
        w, h = self.size
        return SourceInfo("fake", w, h, self.fps, self.count, self.live)

    def frames(self):
        w, h = self.size
        for i in range(self.count):
            if self.fail_after is not None and i == self.fail_after:
                raise FervisionError(f"camera stopped delivering frames after {i} frames")
            yield Frame(
                np.full((h, w, 3), i % 255, np.uint8),
                i,
                i / self.fps,
                "fake",
                captured_at=time.perf_counter(),
            )

    def close(self):
        self.closed = True


class BoxDetector:
    """One face moving right one pixel a frame; none on frames listed in ``empty``."""

    def __init__(self, empty=()):
        self.empty = set(empty)

    def detect(self, frame):
        if frame.index in self.empty:
            return []
        return [Face((5 + frame.index, 5, 20, 20), 0.9)]


class FixedClassifier:
    """Probabilities cycling through the labels, so labels change over time."""

    def __init__(self, labels=("angry", "happy", "sad")):
        self.labels = labels

    def classify(self, frame):
        for face in frame.faces:
            p = np.full(len(self.labels), 0.1, np.float32)
            p[(frame.index // 4) % len(self.labels)] = 1.0
            face.probs = p / p.sum()


class RecordingSink:
    def __init__(self):
        self.frames, self.opened, self.closed = [], None, False

    def open(self, info, labels):
        self.opened = (info, labels)

    def write(self, frame):
        self.frames.append(frame.index)

    def close(self):
        self.closed = True
