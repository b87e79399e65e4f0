"""The MediaPipe BlazeFace face detector as a fervision detector stage.

mediapipe (which drags in TensorFlow, several seconds) loads when a detector is
built, not when this module is imported, so ``fervision plugins`` stays instant and a
pipeline's timing starts after the import.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np

from fervision.errors import FervisionError
from fervision.imaging import downscaled
from fervision.native import quiet_native_output
from fervision.types import Face, Frame, SourceInfo, to_bgr

from .models import get_spec, resolve_model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class MediaPipeDetector:
    """Faces from MediaPipe's BlazeFace through the Tasks API ``FaceDetector``.

    Args:
        variant: ``"short"`` (default; faces within about 2 m) or ``"full"`` (full
            range, sparse; finds small and distant faces too, about 2x slower).
        model: an explicit ``.tflite`` path; otherwise the model is found as
            :mod:`fervision_mediapipe.models` describes (environment, cache, download).
        min_confidence: drop detections scoring below this (0..1).
        downscale: shrink frames so their longer side is at most this many pixels
            before detection (``None``: full size). BlazeFace sees 128 or 192 pixels
            anyway, so this mostly saves colour conversion on large frames.

    Runs in MediaPipe's VIDEO mode, fed millisecond timestamps from
    ``frame.timestamp`` made strictly increasing (repeated or restarting timestamps,
    as image folders may give, move forward by 1 ms). On the 640x360 test clip VIDEO
    and IMAGE mode measured within noise of each other (VIDEO 1-4% ahead on median).

    Building one loads the model, so a missing or unusable file fails at once with one
    line; :meth:`close` releases it and :meth:`detect` after that reopens it.

    Example:
        >>> with MediaPipeDetector("full", min_confidence=0.6) as detector:
        ...     faces = detector.detect(frame)
    """

    def __init__(
        self,
        variant: str | None = None,
        *,
        model: str | os.PathLike | None = None,
        min_confidence: float = 0.5,
        downscale: int | str | None = None,
    ):
        self.spec = get_spec(variant)
        self.variant = self.spec.variant
        try:
            self.min_confidence = float(min_confidence)
        except (TypeError, ValueError):
            self.min_confidence = -1.0
        if not 0.0 <= self.min_confidence <= 1.0:
            raise FervisionError(
                f"mediapipe min_confidence must be in 0..1, got {min_confidence!r}"
            )
        self.downscale = _parse_downscale(downscale)
        self.model_path = resolve_model(self.variant, model)
        with quiet_native_output():
            self._mp = _import_mediapipe()
        self._detector = None
        self._detect = None
        self._last_ms = -1
        self.open()  # fail now, with one line, if MediaPipe cannot use the model

    def __repr__(self) -> str:
        return (
            f"MediaPipeDetector(variant={self.variant!r}, model='{self.model_path}', "
            f"min_confidence={self.min_confidence}, downscale={self.downscale})"
        )

    def open(self, info: SourceInfo | None = None) -> None:
        """Create the MediaPipe detector unless it is open already."""
        if self._detector is not None:
            return
        mp = self._mp
        options = mp.FaceDetectorOptions(
            base_options=mp.BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=mp.RunningMode.VIDEO,
            min_detection_confidence=self.min_confidence,
        )
        try:
            with quiet_native_output():
                self._detector = mp.FaceDetector.create_from_options(options)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with C++ text
            raise FervisionError(
                f"MediaPipe could not load {self.model_path} as a face detector "
                f"(the Tasks FaceDetector needs a BlazeFace .tflite): {_first_line(exc)}"
            ) from None
        self._detect = self._detector.detect_for_video
        with quiet_native_output():  # the first call logs native warnings; take it here
            blank = mp.Image(image_format=mp.SRGB, data=np.zeros((64, 64, 3), np.uint8))
            self._detect(blank, 0)
        self._last_ms = 0

    def detect(self, frame: Frame) -> list[Face]:
        """The faces in ``frame``: integer boxes clipped to the frame, best score first."""
        if self._detect is None:
            self.open()
        mp = self._mp
        cv2 = mp.cv2
        image = frame.image
        if image.ndim != 3 or image.shape[2] != 3:
            image = to_bgr(image)
        height, width = image.shape[:2]
        image, scale = downscaled(image, self.downscale)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        ms = int(frame.timestamp * 1000)
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        result = self._detect(mp.Image(image_format=mp.SRGB, data=rgb), ms)
        faces = []
        for detection in result.detections:
            box = detection.bounding_box
            x, y, w, h = box.origin_x, box.origin_y, box.width, box.height
            if scale != 1.0:
                x, y, w, h = x / scale, y / scale, w / scale, h / scale
            x0, y0 = max(0, round(x)), max(0, round(y))
            x1, y1 = min(width, round(x + w)), min(height, round(y + h))
            if x1 <= x0 or y1 <= y0:
                continue
            categories = detection.categories
            score = categories[0].score if categories else None
            faces.append(Face((x0, y0, x1 - x0, y1 - y0), 1.0 if score is None else float(score)))
        faces.sort(key=lambda face: face.score, reverse=True)
        return faces

    def close(self) -> None:
        """Release the MediaPipe detector; safe to call more than once."""
        detector, self._detector, self._detect = self._detector, None, None
        if detector is not None:
            with quiet_native_output():
                detector.close()

    def __enter__(self) -> MediaPipeDetector:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _import_mediapipe() -> SimpleNamespace:
    """OpenCV and the MediaPipe Tasks names the detector uses (imports TensorFlow too)."""
    try:
        import cv2
        import mediapipe
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import FaceDetector, FaceDetectorOptions, RunningMode
    except ImportError as exc:
        raise FervisionError(
            f"the mediapipe detector needs mediapipe>=0.10.14 with the Tasks API "
            f"(pip install mediapipe): {_first_line(exc)}"
        ) from None
    return SimpleNamespace(
        cv2=cv2,
        Image=mediapipe.Image,
        SRGB=mediapipe.ImageFormat.SRGB,
        BaseOptions=BaseOptions,
        FaceDetector=FaceDetector,
        FaceDetectorOptions=FaceDetectorOptions,
        RunningMode=RunningMode,
    )


def _parse_downscale(value) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "0")):
        return None
    try:
        pixels = int(value)
    except (TypeError, ValueError):
        pixels = -1
    if pixels == 0:
        return None
    if pixels < 64:
        raise FervisionError(
            f"mediapipe downscale must be a longer-side size of at least 64 pixels "
            f"or none, got {value!r}"
        )
    return pixels
