"""The ``video`` sink: write the annotated frames to a video file.

``.mp4`` / ``.m4v`` / ``.mov`` / ``.mkv`` are H.264 (yuv420p, fast start) through PyAV, which
plays in browsers and chat tools, with the source file's sound when it has some and the
output keeps its timing. ``.avi`` (MJPG), an explicit FourCC ``codec``, or a machine without
PyAV use OpenCV's writer. The path is checked when the sink is built, so a bad ``--output``
fails before any processing. Frames are written at the source's size (frames of another
size are fitted inside it, letterboxed) and keep the source's clock: each frame of a video
file, camera or stream shows at its CSV ``timestamp_s`` (a phone's variable frame rate
included, so the sound stays with the lips; a stretch the processing fell behind shows its
last frame; OpenCV's constant-rate writer repeats or leaves out frames to keep within one
frame of it); ``fps`` or image sources count frames at the rate instead. It writes to a
hidden file beside the path; :meth:`close` finalizes it and renames it into place. The
pipeline calls it even when a run is interrupted, so the frames written so far stay
playable; when writing fails (a full disk), the partial file is removed and a file already
at the path is kept.
"""

from __future__ import annotations

import importlib.util
import math
import os

import cv2
import numpy as np

from fervision.errors import FervisionError
from fervision.options import OptionError
from fervision.outputs import check_not_input, check_writable
from fervision.types import Frame, SourceInfo, to_bgr

#: x264's speed presets, fastest first.
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)

#: OpenCV's FourCC per file suffix (the fallback for H.264 suffixes).
CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
#: Suffixes written as H.264 through PyAV when it is installed.
H264_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv"})
FALLBACK_FPS = 30.0


def have_pyav() -> bool:
    return importlib.util.find_spec("av") is not None


class VideoSink:
    """Write each frame's overlay (or the plain image) to ``path``.

    Args:
        path: ``.mp4`` / ``.m4v`` / ``.mov`` / ``.mkv`` (H.264), or ``.avi`` (MJPG).
        fps: override the source's frame rate (the sound is then left out).
        codec: an OpenCV FourCC to write with instead (``mp4v``, ``MJPG``...).
        audio: copy the source file's sound into H.264 outputs (default True).
        preset: x264's speed preset for H.264: ``ultrafast`` (default) costs about what
            OpenCV's mp4v does, with files of about its size; ``veryfast`` makes files about
            a third as large for over twice the encoding time.
    """

    def __init__(
        self,
        path=None,
        *,
        fps: float | None = None,
        codec: str | None = None,
        audio: bool = True,
        preset: str = "ultrafast",
    ) -> None:
        self.path = check_writable(path, "video")
        suffix = self.path.suffix.lower()
        if codec is None and suffix not in CODECS:
            known = ", ".join(sorted(CODECS))
            raise FervisionError(
                f"cannot write video {self.path}: use a suffix of {known} (or .jpg, .png, "
                ".webp for an annotated image, a folder ending in / for images)"
            )
        self.h264 = codec is None and suffix in H264_SUFFIXES and have_pyav()
        self.codec = "h264" if self.h264 else str(codec or CODECS[suffix])
        if not self.h264 and len(self.codec) != 4:
            raise FervisionError(f"codec must be a four-letter FourCC, not {self.codec!r}")
        try:
            self.fps = float(fps) if fps is not None else None
        except (TypeError, ValueError):
            self.fps = math.nan
        if self.fps is not None and not 0 < self.fps <= 1000:  # False for NaN
            raise OptionError(f"invalid fps {fps!r} for video {self.path}: give 0 < fps <= 1000")
        self.audio = bool(audio) and self.fps is None
        self.preset = str(preset)
        if self.preset not in X264_PRESETS:
            raise OptionError(
                f"unknown x264 preset {preset!r}; give one of {', '.join(X264_PRESETS)}"
            )
        self.size: tuple[int, int] | None = None
        self.frames_written = 0
        self.with_audio = False  # whether the file carries the source's sound
        self._writer = None
        self._partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._failed = False  # a write failed: close keeps the file already at the path

    def open(self, info: SourceInfo, labels=()) -> None:
        check_not_input(self.path, info.source_id, "video")
        fps = self.fps or info.fps
        if not (fps and math.isfinite(fps) and fps > 0):
            fps = FALLBACK_FPS
        self.size = (int(info.width), int(info.height))
        self._fps = fps
        self._timed = info.video and self.fps is None  # frames at their own timestamps
        # a file's clock starts at 0 (its sound follows it); a part's or camera's at its first frame
        self._start: float | None = 0.0 if info.media_path and not info.live else None
        self._last: np.ndarray | None = None
        self.frames_written = 0
        self.with_audio = False
        self._failed = False
        if self.h264:
            self._writer = self._open_h264(info, fps)
            self.with_audio = self._writer.audio is not None
        else:
            self._writer = self._open_opencv(fps)

    def _open_h264(self, info: SourceInfo, fps: float):
        import av

        from .h264 import H264Writer

        try:
            return H264Writer(
                self._partial,
                self.size,
                fps,
                audio_from=info.media_path if self.audio else None,
                timed=self._timed,
                preset=self.preset,
            )
        except (av.FFmpegError, ValueError) as exc:
            raise FervisionError(f"cannot write video {self.path}: {exc}") from None

    def _open_opencv(self, fps: float):
        writer = cv2.VideoWriter(
            str(self._partial), cv2.VideoWriter_fourcc(*self.codec), float(fps), self.size
        )
        if not writer.isOpened():
            writer.release()
            raise FervisionError(
                f"cannot write video {self.path}: OpenCV has no {self.codec} encoder for it"
            )
        return writer

    def write(self, frame: Frame) -> None:
        if self._writer is None:
            raise FervisionError(f"video sink {self.path} is not open")
        image = frame.annotated if frame.annotated is not None else frame.image
        image = to_bgr(image)
        if (image.shape[1], image.shape[0]) != self.size:
            image = letterboxed(image, self.size)
        try:
            written = self._write(image, frame.timestamp)  # after the frames it repeated
        except OSError as exc:  # a full disk, named by the final path, not the hidden one
            self._failed = True
            raise self._cannot_write(exc) from None
        except Exception:
            self._failed = True
            raise
        self.frames_written += written

    def _write(self, image: np.ndarray, timestamp: float) -> int:
        """One frame, a timed one at its time (OpenCV's constant rate: the last frame repeated
        until then, a frame that would show a frame late left out); the frames it wrote."""
        if not self._timed:
            self._writer.write(image)
            return 1
        if self._start is None:
            self._start = timestamp
        seconds = timestamp - self._start
        if self.h264:
            self._writer.write(image, seconds)
            return 1
        while self._last is not None and self.frames_written < round(seconds * self._fps):
            self._writer.write(self._last)
            self.frames_written += 1
        self._last = image
        if self.frames_written - seconds * self._fps >= 1:  # its place has passed
            return 0
        self._writer.write(image)
        return 1

    def _cannot_write(self, exc: OSError) -> FervisionError:
        return FervisionError(f"cannot write video {self.path}: {exc.strerror or exc}")

    def close(self) -> None:
        """Finalize the file (safe to call twice)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            if self.h264:
                writer.close()
            else:
                writer.release()
        except OSError as exc:
            self._failed = True
            raise self._cannot_write(exc) from None
        except Exception:
            self._failed = True
            raise
        finally:
            if self._failed:  # an unfinished file: keep what was at the path before
                self._partial.unlink(missing_ok=True)
            else:
                os.replace(self._partial, self.path)


def letterboxed(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size`` (width, height) without distortion, centred on black."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    fitted = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(image, fitted, interpolation=interpolation)
    canvas = np.zeros((height, width, 3), np.uint8)
    x, y = (width - fitted[0]) // 2, (height - fitted[1]) // 2
    canvas[y : y + fitted[1], x : x + fitted[0]] = small
    return canvas
