"""A conformance kit for stage authors: one check per kind, e.g. ``check_detector(MyDetector())``.

Each check first holds the stage to its kind's protocol (:mod:`fervision.stages`), then
runs it as a pipeline would (``open``, the kind's verb frame after frame, ``close``) on
real frames: matplotlib's photo of Grace Hopper moving across a gray background, with
the true face box where a check needs one. A stage that breaks the contract fails with
an AssertionError naming it and what it did; each check returns what the stage made,
for checks of your own.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import PluginError
from .imaging import box_iou
from .sample_photo import FACE_CENTER, FACE_WIDTH, sample_image_path
from .stages import check_stage
from .types import Face, Frame, SourceInfo

FPS = 10.0
SIZE = (640, 480)  # width, height of the sample frames
SCALE = 0.8  # the photo's size in them
LABELS = ("angry", "happy", "sad")
AFRESH = "open() should start a run afresh"
__all__ = [
    "check_annotator",
    "check_classifier",
    "check_detector",
    "check_sink",
    "check_smoother",
    "check_source",
    "check_tracker",
    "sample_frames",
]


def sample_frames(count: int = 20) -> list[Frame]:
    """The photo moving right 6 pixels a frame at 10 frames/s; ``faces`` left empty."""
    import cv2

    photo = cv2.imread(str(sample_image_path()))
    photo = cv2.resize(photo, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
    width, height = SIZE
    frames = []
    for index in range(count):
        image = np.full((height, width, 3), 114, np.uint8)
        x = _offset(index)
        visible = photo[:height, : width - x]
        image[: visible.shape[0], x : x + visible.shape[1]] = visible
        frames.append(Frame(image, index, index / FPS, "fervision.testing"))
    return frames


def face_box(frame: Frame) -> tuple[int, int, int, int]:
    """Where the face is in a frame of :func:`sample_frames`."""
    side = FACE_WIDTH * SCALE
    x = FACE_CENTER[0] * SCALE - side / 2 + _offset(frame.index)
    y = FACE_CENTER[1] * SCALE - side / 2
    return round(x), round(y), round(side), round(side)


def check_source(source, max_frames: int = 30) -> list[Frame]:
    """``open()`` describes the frames, which come as BGR images, indexed from 0, in time order."""
    what = _conforms("source", source)
    info = source.open()
    _expect(isinstance(info, SourceInfo), what, f"open() returned {info!r}, not a SourceInfo")
    _expect(info.width > 0 and info.height > 0 and info.fps > 0, what, f"opened as {info}")
    frames = []
    try:
        for frame in source.frames():
            _expect(isinstance(frame, Frame), what, f"yielded {type(frame).__name__}, not a Frame")
            image = frame.image
            bgr = image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
            _expect(bgr, what, f"yielded a {image.dtype} image of shape {image.shape}, not BGR")
            _expect(
                frame.index == len(frames), what, f"frame {len(frames)} has index {frame.index}"
            )
            if frames:
                later = frame.timestamp >= frames[-1].timestamp
                _expect(later, what, f"timestamps go back at frame {frame.index}")
            else:
                size = (frame.width, frame.height) == (info.width, info.height)
                _expect(size, what, f"frames are {frame.width}x{frame.height}, not as opened")
            frames.append(frame)
            if len(frames) == max_frames:
                break
    finally:
        _close(source)
    _expect(bool(frames), what, "yielded no frames")
    return frames


def check_detector(detector) -> list[list[Face]]:
    """``detect`` finds the face (as Face objects with boxes inside the frame and scores in
    0..1) in most sample frames, none in a blank one, and leaves images as they are."""
    what = _conforms("detector", detector)
    frames = sample_frames()
    _open(detector, frames)
    try:
        found = [_detect(detector, frame, what) for frame in frames]
        blank = Frame(np.full_like(frames[0].image, 114), len(frames), len(frames) / FPS)
        _expect(not _detect(detector, blank, what), what, "found faces in a blank frame")
        stream = getattr(detector, "detect_stream", None)
        if stream is not None:
            again = [Frame(f.image.copy(), f.index + 100, f.timestamp + 100) for f in frames]
            out = list(stream(iter(again)))
            order = [f.index for f in out] == [f.index for f in again]
            _expect(order, what, "detect_stream did not yield every frame once, in order")
            for frame in out:
                _check_faces(frame.faces, frame, what)
    finally:
        _close(detector)
    hits = sum(
        any(box_iou(f.box, face_box(frame)) >= 0.3 for f in faces)
        for frame, faces in zip(frames, found)
    )
    _expect(hits >= len(frames) / 2, what, f"found the face in {hits} of {len(frames)} frames")
    return found


def check_tracker(tracker) -> list[int | None]:
    """``update`` gives a steadily moving face one id within 5 frames and keeps it; the id
    is among ``ended`` (when the tracker has it) within 3 s after the face is gone; a
    second run (``open`` again) gives the same ids."""
    what = _conforms("tracker", tracker)
    first = _track(tracker, what)
    again = _track(tracker, what)
    _expect(again == first, what, f"gave ids {first}, then {again} in a second run ({AFRESH})")
    return first


def _track(tracker, what: str) -> list[int | None]:
    """One run of :func:`check_tracker`: the ids of the moving face, frame by frame."""
    frames = _with_faces(sample_frames())
    _open(tracker, frames)
    ids = []
    try:
        for frame in frames:
            tracker.update(frame)
            _check_faces(frame.faces, frame, what)
            kept = [f.track_id for f in frame.faces]
            whole = all(i is None or _is_whole(i) for i in kept)
            _expect(whole, what, f"gave ids {kept}")
            ids.append(kept[0] if kept else None)
        confirmed = [i for i in ids[5:] if i is not None]
        _expect(len(confirmed) == len(ids[5:]), what, f"gave the moving face the ids {ids}")
        _expect(len(set(confirmed)) == 1, what, f"changed the moving face's id: {ids}")
        ended = set()
        for index in range(len(frames), len(frames) + math.ceil(3 * FPS)):
            empty = Frame(frames[-1].image, index, index / FPS)
            tracker.update(empty)
            ended.update(getattr(tracker, "ended", None) or ())
        if hasattr(tracker, "ended"):
            _expect(
                confirmed[0] in ended, what, f"never ended id {confirmed[0]} of a face gone 3 s"
            )
    finally:
        _close(tracker)
    return ids


def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_classifier(classifier) -> list[np.ndarray]:
    """``labels`` names the classes; ``classify`` gives every face one probability per
    label (finite, at least 0, summing to 1) and leaves the boxes as they are."""
    what = _conforms("classifier", classifier)
    frames = _with_faces(sample_frames(4))
    frames[-1].faces.append(Face((10, 10, 80, 80), 0.9))  # a second face: a patch of wall
    _open(classifier, frames)
    try:
        given = classifier.labels
        labels = tuple(given)
        named = not isinstance(given, str) and bool(labels)
        named = (
            named and all(isinstance(x, str) for x in labels) and len(set(labels)) == len(labels)
        )
        _expect(named, what, f"has labels {given!r}")
        probs = []
        for frame in frames:
            boxes = [f.box for f in frame.faces]
            classifier.classify(frame)
            _expect([f.box for f in frame.faces] == boxes, what, "changed the face boxes")
            for face in frame.faces:
                p = _numbers(face.probs)
                shaped = p is not None and p.shape == (len(labels),) and np.isfinite(p).all()
                _expect(shaped, what, f"set probs {face.probs!r} for {len(labels)} labels")
                valid = (p >= 0).all() and abs(p.sum() - 1) < 1e-3
                _expect(valid, what, f"probs {p} are not probabilities")
                probs.append(p)
    finally:
        _close(classifier)
    return probs


def check_smoother(smoother) -> list[str | None]:
    """``update`` sets ``smoothed``, ``label`` and ``confidence`` on every face with probs,
    and a class held for 2 s becomes the label; ``forget`` (when it has one) takes ids; a
    second run (``open`` again) shows the same labels."""
    what = _conforms("smoother", smoother)
    first = _smooth(smoother, what)
    again = _smooth(smoother, what)
    _expect(again == first, what, f"showed {first}, then {again} in a second run ({AFRESH})")
    return first


def _smooth(smoother, what: str) -> list[str | None]:
    """One run of :func:`check_smoother`: the label shown for the tracked face."""
    frames = _with_faces(sample_frames(30), track_id=1)
    for frame in frames:  # "angry" leads for a second, then "happy"
        frame.faces[0].probs = _probs(0 if frame.index < FPS else 1)
        frame.faces.append(Face((10, 10, 80, 80), 0.9, probs=_probs(2)))  # not tracked
    _open(smoother, frames)
    shown = []
    try:
        for frame in frames:
            smoother.update(frame)
            for face in frame.faces:
                s = _numbers(face.smoothed)
                ok = s is not None and s.shape == (len(LABELS),) and np.isfinite(s).all()
                _expect(ok, what, f"set smoothed {s!r} for {len(LABELS)} labels")
                _expect(face.label in (None, *LABELS), what, f"set label {face.label!r}")
                c = face.confidence
                fraction = isinstance(c, numbers.Real) and 0 <= c <= 1
                _expect(c is None or fraction, what, f"set confidence {c!r}")
            shown.append(frame.faces[0].label)
        _expect(shown[-1] == "happy", what, f"showed {shown} for a face happy from 1 s on")
        forget = getattr(smoother, "forget", None)
        if forget is not None:
            forget([1])
    finally:
        _close(smoother)
    return shown


def check_annotator(annotator) -> list[np.ndarray]:
    """``annotate`` returns a new BGR image of the frame's size with something drawn on it,
    and leaves the frame's own image as it is."""
    what = _conforms("annotator", annotator)
    frames = _labelled(sample_frames(3))
    _open(annotator, frames)
    images = []
    try:
        for frame in frames:
            before = frame.image.copy()
            image = annotator.annotate(frame)
            same = isinstance(image, np.ndarray) and image.shape == before.shape
            _expect(same and image.dtype == np.uint8, what, "did not return a BGR image")
            _expect(np.array_equal(frame.image, before), what, "drew on the frame's own image")
            _expect(not np.array_equal(image, before), what, "drew nothing")
            images.append(image)
    finally:
        _close(annotator)
    return images


def check_sink(sink) -> list[Frame]:
    """``open(info, labels)``, ``write`` of frames with labelled faces (and one without a
    face), then ``close()``, all without an error and leaving the images as they are;
    returns the frames it was given."""
    what = _conforms("sink", sink)
    frames = _labelled(sample_frames(5))
    frames[2].faces = []
    info = _info(frames)
    opener = getattr(sink, "open", None)
    if opener is not None:
        opener(info, LABELS)
    try:
        for frame in frames:
            before = frame.image.copy()
            sink.write(frame)
            _expect(np.array_equal(frame.image, before), what, "changed the frame's image")
    finally:
        _close(sink)
    return frames


def _offset(index: int) -> int:
    return 30 + 6 * index


def _info(frames: list[Frame]) -> SourceInfo:
    width, height = SIZE
    return SourceInfo("fervision.testing", width, height, FPS, frame_count=len(frames))


def _with_faces(frames: list[Frame], track_id: int | None = None) -> list[Frame]:
    for frame in frames:
        frame.faces = [Face(face_box(frame), 0.9, track_id=track_id)]
        frame.labels = LABELS
    return frames


def _labelled(frames: list[Frame]) -> list[Frame]:
    """Frames whose face went through every stage: id, probs, label, confidence."""
    for frame in _with_faces(frames, track_id=1):
        face = frame.faces[0]
        face.probs = face.smoothed = _probs(1)
        face.label, face.confidence = "happy", float(face.probs[1])
    return frames


def _probs(leader: int) -> np.ndarray:
    p = np.full(len(LABELS), 0.1, np.float32)
    p[leader] = 0.8
    return p / p.sum()


def _detect(detector, frame: Frame, what: str) -> list[Face]:
    before = frame.image.copy()
    faces = detector.detect(frame)
    _expect(isinstance(faces, list), what, f"detect returned {type(faces).__name__}, not a list")
    _check_faces(faces, frame, what)
    _expect(np.array_equal(frame.image, before), what, "changed the frame's image")
    return faces


def _numbers(values) -> np.ndarray | None:
    """``values`` as a float array, or None when they are none or not numbers."""
    try:
        return None if values is None else np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None


def _check_faces(faces, frame: Frame, what: str) -> None:
    for face in faces:
        _expect(isinstance(face, Face), what, f"gave {type(face).__name__}, not a Face")
        box = _numbers(face.box)
        _expect(box is not None and box.shape == (4,), what, f"gave box {face.box!r}")
        _expect(isinstance(face.score, numbers.Real), what, f"gave score {face.score!r}")
        x, y, w, h = face.box
        inside = w > 0 and h > 0 and x >= 0 and y >= 0
        inside = inside and x + w <= frame.width and y + h <= frame.height
        _expect(inside, what, f"gave box {face.box} in a {frame.width}x{frame.height} frame")
        _expect(0 <= face.score <= 1, what, f"gave score {face.score}")


def _conforms(kind: str, stage) -> str:
    """How messages name ``stage``, once it has what its kind's protocol requires."""
    if isinstance(stage, type):
        name = stage.__name__
        raise AssertionError(f"{kind} {name} is a class: give an object of it, {name}()")
    what = f"{kind} {type(stage).__name__}"
    try:
        check_stage(kind, stage, what)
    except PluginError as exc:
        raise AssertionError(str(exc)) from None
    return what


def _open(stage, frames: list[Frame]) -> None:
    opener = getattr(stage, "open", None)
    if opener is not None:
        opener(_info(frames))


def _close(stage) -> None:
    closer = getattr(stage, "close", None)
    if closer is not None:
        closer()


def _expect(condition: bool, what: str, problem: str) -> None:
    if not condition:
        raise AssertionError(f"{what} {problem}")
