"""What each stage gives, checked between stages: a stage that breaks its kind's contract
is named in one line at the frame it did so, not blamed on the sink that trips on it."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from .errors import StageFailed
from .types import Face, Frame


def checked_faces(faces, title: str, frame: Frame) -> list[Face]:
    """A detector's result as a list of Faces with whole-pixel boxes clipped to the frame
    (a face wholly outside it is left out); one line if it is not."""
    index = frame.index
    if not isinstance(faces, list):
        if faces is None or isinstance(faces, (str, bytes, dict)) or not hasattr(faces, "__iter__"):
            raise StageFailed(f"{title} gave {type(faces).__name__} at frame {index}, not a list")
        faces = list(faces)
    for face in faces:
        if not isinstance(face, Face):
            raise StageFailed(
                f"{title} gave a {type(face).__name__} at frame {index}, not a fervision Face"
            )
        box = face.box
        if not (
            isinstance(box, (tuple, list, np.ndarray))
            and len(box) == 4
            and all(isinstance(v, Real) and math.isfinite(v) for v in box)
        ):
            raise StageFailed(f"{title} gave box {box!r} at frame {index}, not (x, y, w, h)")
        if not all(type(v) is int for v in box):
            face.box = tuple(int(round(float(v))) for v in box)
        if not (isinstance(face.score, Real) and 0 <= face.score <= 1):  # False for NaN
            raise StageFailed(
                f"{title} gave score {face.score!r} at frame {index}, not a number from 0 to 1"
            )
    height, width = frame.image.shape[:2]
    inside = []
    for face in faces:
        x, y, w, h = face.box
        x0, y0 = min(max(x, 0), width), min(max(y, 0), height)
        x1, y1 = min(max(x + w, 0), width), min(max(y + h, 0), height)
        if x1 > x0 and y1 > y0:
            if (x0, y0, x1 - x0, y1 - y0) != face.box:
                face.box = (x0, y0, x1 - x0, y1 - y0)
            inside.append(face)
    return inside


def check_ids(frame: Frame, title: str) -> None:
    """Each face's ``track_id`` is a whole number or None (numpy integers become int)."""
    for face in frame.faces:
        track_id = face.track_id
        if track_id is None or type(track_id) is int:
            continue
        if not isinstance(track_id, Integral) or isinstance(track_id, bool):
            raise StageFailed(
                f"{title} gave track_id {track_id!r} at frame {frame.index}, not a whole number"
            )
        face.track_id = int(track_id)


def check_labels(frame: Frame, title: str) -> None:
    """Each face's ``label`` is text or None, its ``confidence`` 0 to 1 or None."""
    for face in frame.faces:
        label, confidence = face.label, face.confidence
        if label is not None and not isinstance(label, str):
            what = f"label {label!r} at frame {frame.index}, not text"
        elif confidence is not None and not (isinstance(confidence, Real) and 0 <= confidence <= 1):
            what = f"confidence {confidence!r} at frame {frame.index}, not a number 0 to 1"
        else:
            continue
        raise StageFailed(f"{title} gave {what}")


def check_probs(frame: Frame, title: str, field: str = "probs") -> None:
    """Each classified face has one probability (0 to 1) per label in ``field`` (the
    classifier's ``probs``, or the smoother's ``smoothed``)."""
    n = len(frame.labels)
    what = "probabilities" if field == "probs" else f"{field} probabilities"
    for face in frame.faces:
        given = getattr(face, field)
        if given is None:
            continue
        try:
            probs = np.asarray(given, dtype=np.float64)
        except (TypeError, ValueError):
            probs = None
        if probs is None or probs.ndim != 1:
            shape = f"a {type(given).__name__}" if probs is None else f"shape {probs.shape}"
            raise StageFailed(
                f"{title} gave {what} as {shape} at frame {frame.index}, not one number a label"
            )
        if len(probs) != n:
            raise StageFailed(
                f"{title} gave {len(probs)} {what} for its {n} labels at frame {frame.index}"
            )
        if not (np.all(probs >= -1e-3) and np.all(probs <= 1 + 1e-3)):  # False for NaN
            shown = ", ".join(f"{p:.3g}" for p in probs)
            raise StageFailed(
                f"{title} gave {what} [{shown}] at frame {frame.index}, not numbers from 0 to 1"
            )


def check_annotated(image, frame: Frame, title: str) -> None:
    """An annotator's drawing is a BGR image (uint8) of the frame's size."""
    if (
        isinstance(image, np.ndarray)
        and image.shape == frame.image.shape
        and image.dtype == np.uint8
        and image.ndim == 3
    ):
        return
    if isinstance(image, np.ndarray):
        shape = "x".join(map(str, image.shape))
        what = f"a {shape} {image.dtype} image"
    else:
        what = type(image).__name__
    height, width = frame.image.shape[:2]
    raise StageFailed(
        f"{title} gave {what} at frame {frame.index}, not a {height}x{width}x3 uint8 BGR image"
    )
