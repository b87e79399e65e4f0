"""One BlazeFace model run through MediaPipe's Tasks ``FaceDetector``, on whole images or tiles."""

from __future__ import annotations

import math
import threading
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from fervision.errors import FervisionError
from fervision.imaging import box_iou
from fervision.native import quiet_native_output
from fervision.types import Face


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def import_mediapipe() -> SimpleNamespace:
    """The MediaPipe Tasks names the detector uses (importing mediapipe loads TensorFlow too)."""
    try:
        import mediapipe
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import FaceDetector, FaceDetectorOptions, RunningMode
    except ImportError as exc:
        raise FervisionError(
            f"the mediapipe detector needs mediapipe>=0.10.14 with the Tasks API "
            f"(pip install mediapipe): {first_line(exc)}"
        ) from None
    return SimpleNamespace(
        Image=mediapipe.Image,
        SRGB=mediapipe.ImageFormat.SRGB,
        BaseOptions=BaseOptions,
        FaceDetector=FaceDetector,
        FaceDetectorOptions=FaceDetectorOptions,
        RunningMode=RunningMode,
    )


class BlazeFace:
    """A loaded BlazeFace model (IMAGE mode); :meth:`detect` finds faces in an RGB array."""

    def __init__(self, mp: SimpleNamespace, path: Path, min_confidence: float):
        options = mp.FaceDetectorOptions(
            base_options=mp.BaseOptions(model_asset_path=str(path)),
            running_mode=mp.RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
        )
        self._mp = mp
        try:
            with quiet_native_output():
                self._detector = mp.FaceDetector.create_from_options(options)
                self._detector.detect(self._image(np.zeros((64, 64, 3), np.uint8)))
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with C++ text
            raise FervisionError(
                f"MediaPipe could not load {path} as a face detector "
                f"(the Tasks FaceDetector needs a BlazeFace .tflite): {first_line(exc)}"
            ) from None
        self._close = weakref.finalize(self, _close_quietly, self._detector)
        self._close.atexit = False
        _close_at_exit(self._close)

    def _image(self, rgb: np.ndarray):
        return self._mp.Image(image_format=self._mp.SRGB, data=np.ascontiguousarray(rgb))

    def detect(self, rgb: np.ndarray, origin=(0, 0), drop_cut: bool = False) -> list[Face]:
        """Faces in ``rgb``, boxes and eyes shifted by ``origin``.

        ``drop_cut`` leaves out faces touching the image's edge (a tile's, where the
        neighbouring tile sees the whole face).
        """
        height, width = rgb.shape[:2]
        ox, oy = origin
        faces = []
        for detection in self._detector.detect(self._image(rgb)).detections:
            box = detection.bounding_box
            x, y, w, h = box.origin_x, box.origin_y, box.width, box.height
            if drop_cut and (x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1):
                continue
            categories = detection.categories
            score = float(categories[0].score) if categories else 1.0
            points = detection.keypoints or []
            eyes = None
            if len(points) >= 2:  # MediaPipe: 0 = the person's right eye, 1 = their left
                eyes = tuple((p.x * width + ox, p.y * height + oy) for p in points[:2])
                eyes = tuple(sorted(eyes))  # left-most in the image first
            faces.append(Face((x + ox, y + oy, w, h), score, eyes=eyes))
        return faces

    def close(self) -> None:
        self._close()


def _close_quietly(detector) -> None:
    with quiet_native_output():
        detector.close()


def _close_at_exit(finalizer) -> None:
    """Close a detector nobody closed when the interpreter exits, while mediapipe still can.

    mediapipe closes through a thread pool that shuts down with the other threads, before
    ``atexit`` runs; its own ``__del__`` would then print a traceback after a clean
    one-line error. Threading's exit hooks run in reverse order, so this one runs first.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # not CPython 3.9+: a plain atexit hook is the best there is
        finalizer.atexit = True
        return
    register(lambda: finalizer() if finalizer.alive else None)


def tile_grid(width: int, height: int, tile: int, overlap: float = 0.25) -> list[tuple]:
    """Overlapping tiles ``(x0, y0, x1, y1)`` of about ``tile`` pixels covering the image.

    One tile (the whole image) when it is no larger than ``tile`` both ways.
    """
    cols, rows = math.ceil(width / tile), math.ceil(height / tile)
    tw = min(width, round(width / cols * (1 + overlap))) if cols > 1 else width
    th = min(height, round(height / rows * (1 + overlap))) if rows > 1 else height
    xs = [round(c * (width - tw) / (cols - 1)) if cols > 1 else 0 for c in range(cols)]
    ys = [round(r * (height - th) / (rows - 1)) if rows > 1 else 0 for r in range(rows)]
    return [(x, y, x + tw, y + th) for y in ys for x in xs]


def merge_faces(faces: list[Face], max_iou: float = 0.3) -> list[Face]:
    """Non-maximum suppression: of faces overlapping by more than ``max_iou``, the best stays."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(box_iou(face.box, other.box) <= max_iou for other in kept):
            kept.append(face)
    return kept
