"""The ``haar`` detector: OpenCV's Viola-Jones frontal-face cascade.

Fast on a CPU and needs no download (the cascades ship with opencv-python), but it
finds only roughly frontal faces. Scores are the cascade's last-stage weight squashed
with a logistic function to 0..1: about 0.9 for a clear face, below 0.5 for the weak
detections that are most often false.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from fervision.errors import FervisionError
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
        raise FervisionError(f"invalid {name} {value!r}: give N or (W, H)") from None
    if w < 1 or h < 1:
        raise FervisionError(f"invalid {name} {value!r}: must be positive")
    return w, h


class HaarDetector:
    """Find frontal faces with a Haar cascade.

    Args:
        model: a cascade XML file (default: OpenCV's ``haarcascade_frontalface_default``).
        scale_factor: image pyramid step; smaller finds more faces, slower.
        min_neighbors: overlapping hits a face needs; larger means fewer false faces.
        min_size: smallest face (W, H) in pixels of the full frame.
        downscale: detect on a copy whose longer side is at most this many pixels
            (boxes come back in full-frame pixels); ``None`` or 0 detects at full size.
            Faces smaller than about ``24 * longer_side / downscale`` pixels are missed.
        equalize: equalize the gray image's histogram first (helps in poor light).

    Example:
        >>> detector = HaarDetector(downscale=480)
        >>> faces = detector.detect(frame)
    """

    def __init__(
        self,
        model=None,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size=(30, 30),
        downscale: int | None = 640,
        equalize: bool = True,
    ) -> None:
        path = Path(str(model)).expanduser() if model else default_cascade()
        if not path.is_file():
            raise FervisionError(f"Haar cascade file not found: {path}")
        self.model = path
        self.classifier = cv2.CascadeClassifier(str(path))
        if self.classifier.empty():
            raise FervisionError(f"cannot load Haar cascade {path}: not a cascade XML file")
        try:
            self.scale_factor = float(scale_factor)
            self.min_neighbors = int(min_neighbors)
            self.downscale = int(downscale) if downscale else None
        except (TypeError, ValueError) as exc:
            raise FervisionError(f"invalid Haar option: {exc}") from None
        if self.scale_factor <= 1.0:
            raise FervisionError(f"scale_factor must be above 1, not {scale_factor}")
        if self.min_neighbors < 0:
            raise FervisionError(f"min_neighbors must be 0 or more, not {min_neighbors}")
        if self.downscale is not None and self.downscale < 32:
            raise FervisionError(f"downscale must be at least 32 pixels, not {downscale}")
        self.min_size = _pair(min_size, "min_size")
        self.equalize = bool(equalize)

    def detect(self, frame: Frame | np.ndarray) -> list[Face]:
        """Faces in ``frame`` (a Frame or a BGR/gray image), boxes clipped to it."""
        image = frame.image if isinstance(frame, Frame) else frame
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        full_h, full_w = gray.shape[:2]
        scale = 1.0
        if self.downscale and max(full_h, full_w) > self.downscale:
            scale = self.downscale / max(full_h, full_w)
            size = (max(1, round(full_w * scale)), max(1, round(full_h * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        if self.equalize:
            gray = cv2.equalizeHist(gray)
        min_size = tuple(max(1, round(v * scale)) for v in self.min_size)
        boxes, _, weights = self.classifier.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=min_size,
            outputRejectLevels=True,
        )
        faces = []
        for (x, y, w, h), weight in zip(
            np.asarray(boxes).reshape(-1, 4), np.ravel(weights), strict=True
        ):
            x0 = min(max(round(x / scale), 0), full_w)
            y0 = min(max(round(y / scale), 0), full_h)
            x1 = min(max(round((x + w) / scale), 0), full_w)
            y1 = min(max(round((y + h) / scale), 0), full_h)
            if x1 > x0 and y1 > y0:
                score = 1.0 / (1.0 + math.exp(-float(weight)))
                faces.append(Face(box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)), score=score))
        return faces
