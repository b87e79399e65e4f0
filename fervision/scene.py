"""Spotting scene cuts cheaply, so trackers and detectors can start afresh."""

from __future__ import annotations

import weakref
import zlib

import numpy as np

_RECENT: list[tuple[weakref.ref, np.ndarray]] = []  # (image, signature), newest last
_REMEMBERED = 16  # more than a reader thread runs ahead


def frame_signature(image: np.ndarray) -> np.ndarray:
    """A normalised 16-bin-per-channel histogram of a subsampled frame.

    The last few are remembered (weakly) by image, so the stages that look for cuts in
    the same frame (a detector on the reader thread, then a tracker) compute it once.
    """
    for seen, signature in reversed(_RECENT[-_REMEMBERED:]):
        if seen() is image:
            return signature
    signature = _histogram(image)
    _RECENT.append((weakref.ref(image), signature))
    del _RECENT[:-_REMEMBERED]
    return signature


def frame_key(image: np.ndarray) -> float:
    """A number in [0, 1) that only the frame's pixels decide (a hash of its signature):
    the same picture gets the same key wherever it lies in a video."""
    return zlib.crc32(frame_signature(image).tobytes()) / 2**32


def _histogram(image: np.ndarray) -> np.ndarray:
    step = max(1, min(image.shape[:2]) // 48)
    small = image[::step, ::step].reshape(-1, image.shape[2] if image.ndim == 3 else 1)
    hist = np.concatenate(
        [np.bincount(small[:, c] >> 4, minlength=16) for c in range(small.shape[1])]
    ).astype(np.float32)
    return hist / hist.sum()


class SceneCutDetector:
    """True when a frame's histogram differs from the previous frame's by over ``threshold``.

    On the clips in shared/media, frames within a shot differ by at most 0.11 and the
    stage clip's three cuts by 0.39 to 0.73: the default 0.3 lies in between.
    """

    def __init__(self, threshold: float = 0.3):
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def __call__(self, image: np.ndarray) -> bool:
        if not self.threshold or self.threshold <= 0:
            return False
        signature = frame_signature(image)
        previous, self._previous = self._previous, signature
        return previous is not None and float(np.abs(signature - previous).sum()) > self.threshold
