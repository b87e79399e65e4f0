"""Frames already in memory as a source: one numpy image (a photo) or a sequence (video)."""

from __future__ import annotations

import itertools
import time
import types
from collections.abc import Iterable, Mapping

import numpy as np

from .errors import FervisionError
from .options import require_between
from .types import Frame, SourceInfo, to_bgr


class ArraySource:
    """Numpy images as a source: ``Pipeline(image)`` or ``Pipeline([frame, frame, ...])``.

    One image (H x W, H x W x 3 BGR or H x W x 4 BGRA, uint8) is a photo; a list, an
    N x H x W x 3 array or any iterable of images (a generator from your own camera loop)
    is video at ``fps``, each image a frame.

    Args:
        images: one image, or an iterable of them.
        fps: the frame rate of a sequence (frame i is at i / fps seconds).
        live: a generator fed by a camera: stale images dropped, each frame processed
            the newest, timed by the clock (seconds since the first) as streams are.
    """

    def __init__(self, images, fps: float = 30.0, live: bool = False) -> None:
        self.fps = float(fps)
        require_between("source", 1e-3, 1000, fps=self.fps)
        self.single = isinstance(images, np.ndarray) and images.ndim in (2, 3)
        self.live = bool(live) and not self.single  # one photo is never live
        text_or_table = isinstance(images, (str, bytes, Mapping))
        if not (self.single or isinstance(images, Iterable)) or text_or_table:
            raise FervisionError(not_a_source(images))
        self.images = [images] if self.single else images
        self.source_id = "memory"
        self._first: np.ndarray | None = None
        self._rest = iter(())

    def open(self) -> SourceInfo:
        rest = iter(self.images)
        first = next(rest, None)
        if first is None:
            raise FervisionError("the source has no images")
        self._first, self._rest = _image(first, 0), rest
        h, w = self._first.shape[:2]
        count = 1 if self.single else getattr(self.images, "__len__", lambda: None)()
        return SourceInfo(self.source_id, w, h, self.fps, count, self.live, video=not self.single)

    def frames(self):
        if self._first is None:
            raise FervisionError("the source is not open: call open() first")
        first, self._first = self._first, None
        live, started = self.live, time.perf_counter()
        for index, image in enumerate(itertools.chain([first], self._rest)):
            frame = Frame(_image(image, index), index, index / self.fps, self.source_id)
            if live:  # timed as it came, for latency and smoothing
                frame.captured_at = time.perf_counter()
                frame.timestamp = frame.captured_at - started
            yield frame

    def close(self) -> None:
        """Close a generator given as the images (its ``finally`` runs now), unless the
        reader is still inside it."""
        for images in (self._rest, self.images):
            if isinstance(images, types.GeneratorType):
                try:
                    images.close()
                except ValueError:  # "generator already executing": left to its reader
                    pass


def not_a_source(target) -> str:
    """The one line for a ``target`` that is no kind of source: what a source can be."""
    shown = repr(target) if len(repr(target)) <= 40 else type(target).__name__
    return (
        "a source is a path or URL, a camera index, a name ('sample', 'webcam:1'), numpy "
        f"images, or an object with open() and frames(); not {shown}"
    )


def _image(image, index: int) -> np.ndarray:
    """``image`` as BGR uint8, or a one-line error naming the frame."""
    try:
        array = np.asarray(image)
        if array.size == 0:
            raise FervisionError(f"image {index} of the source is empty: {array.shape}")
        return to_bgr(array)
    except (ValueError, TypeError):
        shape = getattr(image, "shape", type(image).__name__)
        raise FervisionError(
            f"image {index} of the source is not an image (H x W, H x W x 3 or 4): {shape}"
        ) from None
