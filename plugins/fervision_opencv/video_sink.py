"""The ``video`` sink: write the annotated frames to a video file.

The path is checked when the sink is built, so a bad ``--output`` fails before any
processing. Frames go straight to the final path at the source's frame rate and size
(frames of another size are resized); :meth:`close` finalizes the file, and the pipeline
calls it even when a run is interrupted, so the frames written so far stay playable.
"""

from __future__ import annotations

import math

import cv2

from fervision.errors import FervisionError
from fervision.outputs import check_writable
from fervision.types import Frame, SourceInfo, to_bgr

#: FourCC per file suffix.
CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
FALLBACK_FPS = 30.0


class VideoSink:
    """Write each frame's overlay (or the plain image) to ``path``.

    Args:
        path: ``.mp4`` (``mp4v``), ``.avi`` (``MJPG``), or ``.mov`` / ``.m4v`` / ``.mkv``.
        fps: override the source's frame rate.
        codec: a FourCC to use instead of the suffix's default.
    """

    def __init__(self, path=None, *, fps: float | None = None, codec: str | None = None) -> None:
        self.path = check_writable(path, "video")
        suffix = self.path.suffix.lower()
        if codec is None and suffix not in CODECS:
            known = ", ".join(sorted(CODECS))
            raise FervisionError(f"cannot write video {self.path}: use a suffix of {known}")
        self.codec = str(codec or CODECS[suffix])
        if len(self.codec) != 4:
            raise FervisionError(f"codec must be a four-letter FourCC, not {self.codec!r}")
        try:
            self.fps = float(fps) if fps else None
        except (TypeError, ValueError):
            raise FervisionError(f"invalid fps {fps!r} for video {self.path}") from None
        self.size: tuple[int, int] | None = None
        self.frames_written = 0
        self._writer = None

    def open(self, info: SourceInfo, labels=()) -> None:
        fps = self.fps or info.fps
        if not (fps and math.isfinite(fps) and fps > 0):
            fps = FALLBACK_FPS
        self.size = (int(info.width), int(info.height))
        self.frames_written = 0
        writer = cv2.VideoWriter(
            str(self.path), cv2.VideoWriter_fourcc(*self.codec), float(fps), self.size
        )
        if not writer.isOpened():
            writer.release()
            raise FervisionError(
                f"cannot write video {self.path}: OpenCV has no {self.codec} encoder for it"
            )
        self._writer = writer

    def write(self, frame: Frame) -> None:
        if self._writer is None:
            raise FervisionError(f"video sink {self.path} is not open")
        image = frame.annotated if frame.annotated is not None else frame.image
        image = to_bgr(image)
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames_written += 1

    def close(self) -> None:
        """Finalize the file (safe to call twice)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()
