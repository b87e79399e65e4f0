"""The data that flows through a pipeline: frames, faces and what a source is."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Face:
    """One face in one frame: where it is and what the stages concluded about it.

    Attributes:
        box: ``(x, y, w, h)`` in whole pixels of the frame: left, top, width, height
            (``xyxy`` gives left, top, right, bottom).
        score: the detector's confidence, 0 to 1.
        track_id: the tracker's id for this face, the same in every frame it is in; None
            while a new track is unconfirmed, or without a tracker.
        probs: the classifier's probabilities, one per label (the frame's ``labels``).
        smoothed: ``probs`` after temporal smoothing (per track), same order.
        label: the emotion the smoother settled on (None until it has).
        confidence: ``smoothed``'s value for ``label``, 0 to 1.
        eyes: ``((x, y), (x, y))`` eye centres in pixels, left-most first, when known.
        probs_from: the earlier frame's index whose classification ``probs`` repeat, when
            the classifier reused it (None: classified in this frame).
    """

    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the frame
    score: float = 1.0  # detector confidence
    track_id: int | None = None
    probs: np.ndarray | None = None  # classifier output, one value per label
    smoothed: np.ndarray | None = None  # probabilities after temporal smoothing
    label: str | None = None
    confidence: float | None = None
    eyes: tuple | None = None  # ((x, y), (x, y)) eye centres, left-most first, when known
    probs_from: int | None = None  # the earlier frame whose classification ``probs`` repeat

    @property
    def xyxy(self) -> tuple[int, int, int, int]:
        x, y, w, h = self.box
        return x, y, x + w, y + h


@dataclass
class Frame:
    """One video frame (BGR uint8) with its place in time and the faces found so far.

    Attributes:
        image: the picture, H x W x 3 BGR uint8 (OpenCV's order).
        index: its number in the run, from 0 (a live source's dropped frames are skipped).
        timestamp: seconds since the start of the source: a file's own time, or for a
            live source (camera, stream, live images) the clock since its first frame.
        source_id: the source's name (a path, a redacted URL, ``memory``, ``pushed``).
        faces: the :class:`Face` objects found, in detection order.
        labels: the classifier's class names, the order of each face's ``probs``.
        annotated: the annotator's drawing (a new image), when there is an annotator.
        captured_at: ``time.perf_counter()`` when the frame was read (0.0 when not timed):
            compare it with ``time.perf_counter()`` for latency, not with wall-clock time.
    """

    image: np.ndarray
    index: int
    timestamp: float  # seconds since the start of the source
    source_id: str = ""
    faces: list[Face] = field(default_factory=list)
    labels: tuple[str, ...] = ()  # class names of the classifier that filled ``probs``
    annotated: np.ndarray | None = None  # the overlay's drawing, when there is one
    captured_at: float = 0.0  # time.perf_counter() when the frame was read

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def width(self) -> int:
        return self.image.shape[1]


@dataclass(frozen=True)
class SourceInfo:
    """What a sink needs to know before the first frame arrives."""

    source_id: str
    width: int
    height: int
    fps: float
    frame_count: int | None = None  # None when unknown or endless
    live: bool = False  # a camera or stream: drop stale frames rather than wait
    media_path: str | None = None  # the file whose timing the frames keep (its audio may follow)
    video: bool = False  # decoded from a video file, camera or stream: never photos

    @property
    def stills(self) -> bool:
        """Whether the frames are photos (one image, or images under 5 a second), not video."""
        return not self.video and (self.frame_count == 1 or 0 < self.fps < 5)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as 3-channel BGR uint8, converting grayscale and BGRA, floats in
    0..1 (as skimage and matplotlib read them) or 0..255, and 16-bit images."""
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = image / 257.0
        elif np.issubdtype(image.dtype, np.floating) and image.size and np.nanmax(image) <= 1.0:
            image = image * 255.0
        image = np.clip(np.nan_to_num(image), 0, 255).round().astype(np.uint8)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"unsupported image shape {image.shape}")
