"""The ``sample`` source: an offline demo clip made from matplotlib's Grace Hopper photo.

The portrait pans, zooms and tilts slightly over a blurred copy of itself, so the face
moves and changes size like a person in front of a camera. Needs no camera, download
or shared data; the motion depends only on time, so any frame count shows the same path.
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from fervision.errors import FervisionError
from fervision.options import OptionError
from fervision.sample_photo import FACE_CENTER, sample_image_path
from fervision.types import Frame, SourceInfo

from .images import read_image


class SampleSource:
    """A finite, not-live demo clip of a moving face.

    Args:
        frames: how many frames (default 150: five seconds at 30 fps).
        fps: frame rate for timestamps and sinks.
        width, height: frame size (default 640x480).
    """

    live = False

    def __init__(
        self, frames: int = 150, *, fps: float = 30.0, width: int = 640, height: int = 480
    ) -> None:
        try:
            self.count = int(frames)
            self.fps = float(fps)
            self.width, self.height = int(width), int(height)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"invalid sample option: {exc}") from None
        if self.count < 1 or not 0 < self.fps <= 1000 or min(self.width, self.height) < 64:
            raise OptionError(
                "sample needs frames >= 1, 0 < fps <= 1000 and a size of at least 64x64"
            )
        self.path = sample_image_path()
        self.source_id = "sample"
        self._photo: np.ndarray | None = None
        self._background: np.ndarray | None = None

    def open(self) -> SourceInfo:
        photo = read_image(self.path)
        if photo is None:
            raise FervisionError(f"cannot decode the sample image {self.path}")
        self._photo = photo
        size = (self.width, self.height)
        cover = max(self.width / photo.shape[1], self.height / photo.shape[0])
        big = cv2.resize(photo, None, fx=cover, fy=cover, interpolation=cv2.INTER_AREA)
        y0 = (big.shape[0] - self.height) // 2
        x0 = (big.shape[1] - self.width) // 2
        crop = big[y0 : y0 + self.height, x0 : x0 + self.width]
        blurred = cv2.GaussianBlur(cv2.resize(crop, size), (0, 0), sigmaX=max(size) / 40)
        self._background = cv2.convertScaleAbs(blurred, alpha=0.55, beta=10)
        return SourceInfo(
            self.source_id, self.width, self.height, self.fps, frame_count=self.count, live=False
        )

    def render(self, t: float) -> np.ndarray:
        """The frame at ``t`` seconds."""
        photo, background = self._photo, self._background
        if photo is None or background is None:
            raise FervisionError("sample is not open: call open() first")
        w, h = self.width, self.height
        unit = min(w / 640, h / 480)
        # Face width between about 125 and 245 px (at 640x480), centre on a Lissajous path.
        scale = unit * (0.8 + 0.26 * math.sin(2 * math.pi * t / 5.0))
        cx = w / 2 + 0.17 * w * math.sin(2 * math.pi * t / 4.0)
        cy = h / 2 + 0.10 * h * math.sin(2 * math.pi * t / 3.0 + 0.5)
        angle = 4.0 * math.sin(2 * math.pi * t / 6.0)
        m = cv2.getRotationMatrix2D(FACE_CENTER, angle, scale)
        m[:, 2] += (cx - FACE_CENTER[0], cy - FACE_CENTER[1])
        out = background.copy()
        cv2.warpAffine(
            photo,
            m,
            (w, h),
            dst=out,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )
        return out

    def frames(self):
        for index in range(self.count):
            t = index / self.fps
            yield Frame(
                image=self.render(t),
                index=index,
                timestamp=t,
                source_id=self.source_id,
                captured_at=time.perf_counter(),
            )

    def close(self) -> None:
        self._photo = self._background = None
