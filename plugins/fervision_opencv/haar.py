"""The ``haar`` detector: OpenCV's Viola-Jones frontal-face cascade.

Fast on a CPU and needs no download (the cascades ship with opencv-python), but it
finds only roughly frontal faces. The score is ``n / (n + min_neighbors + 1)`` for a
face confirmed by ``n`` overlapping raw hits: about 0.5 for a face that barely passed,
0.9 for a clear one. Results equal a plain ``detectMultiScale`` on the full frame.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from fervision.errors import FervisionError
from fervision.imaging import box_iou, downscaled
from fervision.options import OptionError, require_between
from fervision.scene import SceneCutDetector
from fervision.types import Face, Frame

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


def default_cascade() -> Path:
    """The frontal-face cascade that ships with opencv-python."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder) / DEFAULT_CASCADE if folder else None
    if path is None or not path.is_file():
        raise FervisionError(
            "this OpenCV install has no Haar cascade files (cv2.data.haarcascades); "
            "install opencv-python or pass model=PATH/TO/cascade.xml"
        )
    return path


def _pair(value, name: str) -> tuple[int, int]:
    try:
        if isinstance(value, (int, float, str)):
            w = h = int(value)
        else:
            w, h = (int(v) for v in value)
    except (TypeError, ValueError):
        raise OptionError(f"invalid {name} {value!r}: give N or (W, H)") from None
    if w < 1 or h < 1:
        raise OptionError(f"invalid {name} {value!r}: must be positive")
    return w, h


class HaarDetector:
    """Find frontal faces with a Haar cascade.

    Args:
        model: a cascade XML file (default: OpenCV's ``haarcascade_frontalface_default``).
        scale_factor: image pyramid step; smaller finds more faces, slower.
        min_neighbors: overlapping hits a face needs; larger means fewer false faces.
        min_size: smallest face in pixels of the full frame, N or (W, H) (default: the
            cascade's own window, 24x24 for the frontal-face cascade).
        downscale: detect on a copy whose longer side is at most this many pixels
            (boxes come back in full-frame pixels); ``None`` or 0 detects at full size.
            Faces smaller than about ``24 * longer_side / downscale`` pixels are missed.
        equalize: equalize the gray image's histogram first (helps in poor light).
        full_every: scan the whole frame every Nth frame (and at scene cuts); in between
            search only around faces seen in the last ``memory`` frames (and, with
            ``large_faces``, the whole frame for large faces), which is several times
            cheaper. 1 scans every frame in full. In recorded video (``detect_stream``)
            a face first found by a full scan is also followed back through the frames
            since the previous one.
        memory: how many frames a face is remembered for the searches between full scans.
        large_faces: between full scans, faces at least this fraction of the frame's
            shorter side are also searched for everywhere (e.g. 1/6; measured 0.99 of
            frames matched at full_every=3, but 1.7x slower); 0 searches only near recent faces.
        near_min_neighbors: hits a face near a recently seen one needs (None:
            ``min_neighbors - 2``): a face seen a moment ago needs less evidence.

    Example:
        >>> detector = HaarDetector(downscale=480)
        >>> faces = detector.detect(frame)
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int | tuple[int, int] | None = None,
        downscale: int | None = None,
        equalize: bool = False,
        full_every: int = 1,
        memory: int = 10,
        large_faces: float = 0.0,
        near_min_neighbors: int | None = None,
    ) -> None:
        path = Path(str(model)).expanduser() if model else default_cascade()
        if not path.is_file():
            raise FervisionError(f"Haar cascade file not found: {path}")
        self.model = path
        try:
            self.classifier = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # OpenCV raises on a file that is not XML at all
            self.classifier = cv2.CascadeClassifier()
        if self.classifier.empty():
            raise FervisionError(f"cannot load Haar cascade {path}: not a cascade XML file")
        try:
            self.scale_factor = float(scale_factor)
            self.min_neighbors = int(min_neighbors)
            self.downscale = int(downscale) if downscale else None
            self.large_faces = float(large_faces or 0)
            self.near_min_neighbors = (
                max(self.min_neighbors - 2, 1)
                if near_min_neighbors is None
                else int(near_min_neighbors)
            )
        except (TypeError, ValueError) as exc:
            raise OptionError(f"invalid Haar option: {exc}") from None
        if self.scale_factor <= 1.0:
            raise OptionError(f"scale_factor must be above 1, not {scale_factor}")
        if self.min_neighbors < 0 or self.near_min_neighbors < 0:
            raise OptionError("min_neighbors and near_min_neighbors must be 0 or more")
        if not 0 <= self.large_faces < 1:
            raise OptionError(f"large_faces must be a fraction from 0 to 1, not {large_faces}")
        if self.downscale is not None and self.downscale < 32:
            raise OptionError(f"downscale must be at least 32 pixels, not {downscale}")
        self.min_size = _pair(min_size, "min_size") if min_size else (0, 0)
        self.equalize = bool(equalize)
        self.full_every = int(full_every)
        self.memory = int(memory)
        require_between("detector", 1, math.inf, full_every=self.full_every, memory=self.memory)
        self.open()

    def open(self, info=None) -> None:
        """Start a run afresh: a full scan first, nothing remembered."""
        self.is_scene_cut = SceneCutDetector()
        self._frames = 0
        self._last_full = -(10**9)
        self._scene_cut = False
        self._memory: list[tuple[tuple[int, int, int, int], int]] = []

    def detect(self, frame: Frame | np.ndarray) -> list[Face]:
        """Faces in ``frame`` (a Frame or a BGR/gray image), boxes clipped to it."""
        image = frame.image if isinstance(frame, Frame) else frame
        return self._detect(image, self._gray(image))

    def detect_stream(self, frames):
        """Yield recorded ``frames`` with faces set, each up to ``full_every`` frames late.

        A face that a full scan finds first is also searched for backwards, near where
        it is, in the frames held since the previous full scan: a face that appeared
        between full scans is found from its first frame.
        """
        held: list[tuple[Frame, np.ndarray]] = []
        for frame in frames:
            gray = self._gray(frame.image)
            frame.faces = self._detect(frame.image, gray)
            if self._last_full != self._frames:
                held.append((frame, gray))
                continue
            if held:
                if not self._scene_cut:  # the held frames show another scene
                    self._look_back(held, frame.faces)
                yield from (f for f, _ in held)
                held = []
            yield frame
        yield from (f for f, _ in held)

    def _gray(self, image: np.ndarray) -> np.ndarray:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return cv2.equalizeHist(gray) if self.equalize else gray

    def _detect(self, image: np.ndarray, gray: np.ndarray) -> list[Face]:
        self._frames += 1
        self._scene_cut = self.full_every > 1 and self.is_scene_cut(image)
        full = (
            self.full_every <= 1
            or self._frames - self._last_full >= self.full_every
            or self._scene_cut
        )
        if full:
            self._last_full = self._frames
            faces = self._full_scan(gray)
        else:
            faces = self._between_full_scans(gray)
        self._remember(faces)
        return faces

    def _look_back(self, held: list[tuple[Frame, np.ndarray]], faces: list[Face]) -> None:
        """Follow each face new in this full scan back through the held frames."""
        last = held[-1][0].faces
        for face in faces:
            if _overlaps(face.box, last):
                continue
            box = face.box
            for frame, gray in reversed(held):
                found = [f for f in self._near(gray, box) if not _overlaps(f.box, frame.faces)]
                if not found:
                    break
                best = max(found, key=lambda f: box_iou(f.box, box))
                frame.faces.append(best)
                box = best.box

    def _full_scan(self, gray: np.ndarray) -> list[Face]:
        full_h, full_w = gray.shape[:2]
        gray, scale = downscaled(gray, self.downscale)
        min_size = tuple(round(v * scale) for v in self.min_size)
        return self._scan(gray, scale, (0, 0), (full_w, full_h), min_size, (0, 0))

    def _between_full_scans(self, gray: np.ndarray) -> list[Face]:
        """Large faces anywhere, then any face near one seen in the last few frames."""
        full_h, full_w = gray.shape[:2]
        faces: list[Face] = []
        if self.large_faces > 0:
            side = max(round(self.large_faces * min(full_h, full_w)), *self.min_size, 1)
            faces = self._scan(gray, 1.0, (0, 0), (full_w, full_h), (side, side), (0, 0))
        for box in self._recent_boxes():
            faces += [f for f in self._near(gray, box) if not _overlaps(f.box, faces)]
        return faces

    def _near(self, gray: np.ndarray, box) -> list[Face]:
        """Faces of about the size of ``box`` around it, with ``near_min_neighbors`` hits."""
        x, y, w, h = box
        full_h, full_w = gray.shape[:2]
        pad = int(0.5 * max(w, h))
        x0, y0 = max(x - pad, 0), max(y - pad, 0)
        x1, y1 = min(x + w + pad, full_w), min(y + h + pad, full_h)
        side = max(w, h)
        min_side = max(self.min_size[0], int(side / 1.5))
        return self._scan(
            gray[y0:y1, x0:x1],
            1.0,
            (x0, y0),
            (full_w, full_h),
            (min_side, min_side),
            (int(side * 1.5), int(side * 1.5)),
            self.near_min_neighbors,
        )

    def _scan(
        self, gray, scale, offset, frame_size, min_size, max_size, min_neighbors=None
    ) -> list[Face]:
        """Run the cascade on ``gray`` and map boxes back to the full frame."""
        min_neighbors = self.min_neighbors if min_neighbors is None else min_neighbors
        if min(gray.shape[:2]) < max(min_size[0], min_size[1], 24):
            return []
        boxes, neighbours = self.classifier.detectMultiScale2(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=min_neighbors,
            minSize=min_size,
            maxSize=max_size,
        )
        full_w, full_h = frame_size
        faces = []
        for (x, y, w, h), hits in zip(np.asarray(boxes).reshape(-1, 4), np.ravel(neighbours)):
            x0 = min(max(round(x / scale) + offset[0], 0), full_w)
            y0 = min(max(round(y / scale) + offset[1], 0), full_h)
            x1 = min(max(round((x + w) / scale) + offset[0], 0), full_w)
            y1 = min(max(round((y + h) / scale) + offset[1], 0), full_h)
            if x1 > x0 and y1 > y0:
                score = float(hits) / (float(hits) + min_neighbors + 1)
                faces.append(Face(box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)), score=score))
        return faces

    def _remember(self, faces: list[Face]) -> None:
        self._memory = [(f.box, self._frames) for f in faces] + [
            (box, seen)
            for box, seen in self._memory
            if self._frames - seen < self.memory and not _overlaps(box, faces)
        ]

    def _recent_boxes(self):
        return [box for box, _ in self._memory]


def _overlaps(box, faces: list[Face]) -> bool:
    """Whether ``box`` is one of ``faces`` (IoU of 0.3 or more with any)."""
    return any(box_iou(box, f.box) >= 0.3 for f in faces)
