"""Still-image sources: one image file, or every image in a folder.

Images decode with ``cv2.IMREAD_COLOR``, which applies EXIF orientation and turns
grayscale, BGRA and 16-bit files into 8-bit BGR; :func:`fervision.types.to_bgr`
guards the result. Paths are read through NumPy so non-ASCII names work everywhere.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np

from fervision.errors import FervisionError
from fervision.imaging import IMAGE_SUFFIXES
from fervision.options import OptionError
from fervision.types import Frame, SourceInfo, to_bgr

from .paths import input_file, natural_key

log = logging.getLogger("fervision.opencv")

DEFAULT_FOLDER_FPS = 1.0


def read_image(path: Path) -> np.ndarray | None:
    """The image at ``path`` as BGR uint8, or None when it cannot be read or decoded."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return None if image is None or image.size == 0 else to_bgr(image)


def _fps(fps) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = 0.0
    if not 0 < value <= 1000:
        raise OptionError(f"invalid fps {fps!r}: give a number above 0")
    return value


class ImageSource:
    """One still image, yielded once at timestamp 0.

    Args:
        path: the image file.
        fps: the frame rate reported to sinks (a video of it shows the image 1/fps s).
    """

    live = False

    def __init__(self, path=None, *, fps: float = DEFAULT_FOLDER_FPS) -> None:
        self.path = input_file(path, "image")
        self.fps = _fps(fps)
        self.source_id = str(self.path)
        self._image: np.ndarray | None = None

    def open(self) -> SourceInfo:
        image = read_image(self.path)
        if image is None:
            raise FervisionError(f"cannot decode image {self.path}: not a format OpenCV reads")
        self._image = image
        h, w = image.shape[:2]
        return SourceInfo(self.source_id, w, h, self.fps, frame_count=1, live=False)

    def frames(self):
        if self._image is None:
            raise FervisionError(f"image {self.path} is not open: call open() first")
        yield Frame(
            image=self._image,
            index=0,
            timestamp=0.0,
            source_id=self.source_id,
            captured_at=time.perf_counter(),
        )

    def close(self) -> None:
        self._image = None


#: Suffixes that tell a folder of videos given where photos were expected.
VIDEO_HINTS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"})


def _files_under(folder: Path) -> list[Path]:
    """The files under ``folder`` (recursively, hidden ones left out): a folder's own files
    first, each in natural order."""

    def fail(exc: OSError) -> None:
        raise exc

    found = []
    for root, dirs, names in os.walk(folder, onerror=fail, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root, n) for n in names if not n.startswith(".")]

    def key(path: Path):
        parts = path.relative_to(folder).parts  # at each level, files before folders
        return [(i < len(parts) - 1, natural_key(part)) for i, part in enumerate(parts)]

    return sorted((p for p in found if p.is_file()), key=key)


class FolderSource:
    """Every image file in a folder and its subfolders, in natural order.

    ``frame2.png`` comes before ``frame10.png``, a folder's own photos before its
    subfolders'; hidden files and folders and other suffixes are ignored. A file that
    cannot be decoded is skipped with a logged warning and listed in :attr:`skipped`;
    frame indices stay consecutive, so timestamps are ``index / fps``. Each frame's
    ``source_id`` is the path of its image file, so logs can name the picture.

    Args:
        path: the folder.
        fps: frame rate for timestamps and for a video written from the folder
            (default 1: one second per picture; use the original rate for extracted
            video frames).
    """

    live = False

    def __init__(self, path=None, *, fps: float = DEFAULT_FOLDER_FPS) -> None:
        if path is None or str(path) == "":
            raise FervisionError("image folder not given")
        folder = Path(str(path)).expanduser()
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "not found"
            raise FervisionError(f"image folder {what}: {folder}")
        self.path = folder
        self.fps = _fps(fps)
        self.source_id = str(folder)
        try:
            files = _files_under(folder)
        except OSError as exc:
            raise FervisionError(f"cannot list image folder {folder}: {exc.strerror}") from None
        self.files = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        if not self.files:
            videos = [p for p in files if p.suffix.lower() in VIDEO_HINTS]
            hint = f" (it holds videos: fervision batch {folder} processes each)" if videos else ""
            raise FervisionError(f"no image files in folder {folder}{hint}")
        self.skipped: list[Path] = []
        self._first: tuple[int, np.ndarray] | None = None

    def open(self) -> SourceInfo:
        """Decode the first readable image to learn the frame size."""
        self.skipped = []
        self._first = None
        for i, path in enumerate(self.files):
            image = read_image(path)
            if image is not None:
                self._first = (i, image)
                break
            self._skip(path)
        if self._first is None:
            raise FervisionError(
                f"none of the {len(self.files)} image files in {self.path} could be decoded"
            )
        h, w = self._first[1].shape[:2]
        return SourceInfo(
            self.source_id, w, h, self.fps, frame_count=len(self.files) - len(self.skipped)
        )

    def frames(self):
        if self._first is None:
            raise FervisionError(f"image folder {self.path} is not open: call open() first")
        start, image = self._first
        index = 0
        for path in self.files[start:]:
            if image is None:
                image = read_image(path)
                if image is None:
                    self._skip(path)
                    continue
            yield Frame(
                image=image,
                index=index,
                timestamp=index / self.fps,
                source_id=str(path),
                captured_at=time.perf_counter(),
            )
            image = None
            index += 1

    def close(self) -> None:
        self._first = None

    def _skip(self, path: Path) -> None:
        self.skipped.append(path)
        log.warning("skipped %s: not an image OpenCV can decode", path)
