"""The emotion classifier stage: crops the faces of a frame and classifies them in one batch."""

from __future__ import annotations

import os

import numpy as np

from fervision.imaging import box_iou
from fervision.options import OptionError, require_between, require_non_negative
from fervision.scene import frame_key
from fervision.types import Frame

from .model_io import DEFAULT_MODEL, read_metadata

#: An untracked face keeps the probabilities of an untracked face classified this recently
#: (as a tracked face keeps its own) that it overlaps at least this much.
PLACE_IOU = 0.5
#: A face is classified again between these many classifier periods after its last
#: classification, on the first frame whose ``frame_key`` is below the share of the window
#: gone: the pictures, not a clock started by the track, pick the frames.
AGAIN = (0.6, 1.4)


def crop_faces(
    image: np.ndarray, boxes, size: int, channels: int, margin: float, lift: float = 0.0
) -> np.ndarray:
    """Square crops around each box (with ``margin``, moved up by ``lift`` box heights)."""
    import cv2

    h, w = image.shape[:2]
    crops = np.empty((len(boxes), size, size, channels), np.uint8)
    for i, (x, y, bw, bh) in enumerate(boxes):
        side = max(bw, bh) * (1 + 2 * margin)
        cx, cy = x + bw / 2, y + bh / 2 - lift * bh
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
        crop = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
        pads = (max(-y0, 0), max(y1 - h, 0)), (max(-x0, 0), max(x1 - w, 0))
        if crop.size == 0:
            crops[i] = 0
            continue
        if any(p for pair in pads for p in pair):
            crop = cv2.copyMakeBorder(crop, *pads[0], *pads[1], cv2.BORDER_REPLICATE)
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        if channels == 1 and crop.ndim == 3:  # grey after resizing: equal up to rounding, cheaper
            crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        elif channels == 3:
            crop = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        crops[i] = crop.reshape(size, size, channels)
    return crops


class EmotionClassifier:
    """Keras CNN classifier; labels and input conventions come from the model file.

    Each face is cropped square around its box with the model's margin, moved up by
    ``lift`` box heights: FER2013 faces show the forehead, and on the labelled clips of
    benchmarks/real_videos.py a lift of 0.1 scored 1.7 points better than none.

    A face is classified about ``rate`` times a second of video, 0.6 to 1.4 periods apart
    (``AGAIN``), on frames that a hash of the picture picks (``still_stands``): the same
    footage is classified on the same frames wherever it lies in a file (issue 42). In
    between it keeps its last probabilities (``probs_from`` names the frame they came
    from). A tracked face is followed by its id, one without an id (no tracker, or a
    track not yet confirmed) by place: it keeps those of the untracked face it overlaps by
    ``PLACE_IOU``. On the labelled clips 7.5 a second labelled 0.824 of segment frames
    right against 0.828 at 10 and 0.831 for every frame, with the same worst clip (0.69)
    and calm clips (<= 0.2 switches a second) as at 10 (benchmarks/smoother_tuning.py
    --rates), at a quarter of the cost at 30 fps.

    Args:
        model: a ``.keras`` model file (default: the shipped one).
        backend: ``litert`` (the model's LiteRT form, no TensorFlow) or ``keras``.
        flip_average: average each face with its mirror image (default: on).
        equalize_below: average a flat face (grey levels spread less than this) with its
            histogram-equalized copy; 0 turns it off (see ``lighting``).
        lift: how far the crop moves up, in box heights.
        rate: classifications a second per tracked face, about; 0 classifies every frame.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        backend: str | None = None,
        flip_average: bool | None = None,
        lift: float = 0.1,
        rate: float = 7.5,
        equalize_below: float = 30.0,  # lighting.DEFAULT_EQUALIZE_BELOW; options read literals
    ):
        from .inference import BACKENDS, DEFAULT_BACKEND, DEFAULT_FLIP_AVERAGE

        backend = backend or DEFAULT_BACKEND

        self.path = model or DEFAULT_MODEL
        self.metadata = read_metadata(self.path)  # fails fast, before TensorFlow loads
        self.labels = tuple(self.metadata.labels)
        if backend not in BACKENDS:
            raise OptionError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        self.backend = backend
        self.flip_average = DEFAULT_FLIP_AVERAGE if flip_average is None else flip_average
        self.lift = float(lift)
        self.equalize_below = float(equalize_below)
        self.rate = float(rate)
        require_non_negative("classifier", rate=self.rate, equalize_below=self.equalize_below)
        require_between("classifier", -1, 1, lift=self.lift)
        self._last: dict[int, tuple[float, int, np.ndarray]] = {}  # id: time, frame, probs
        self._places: list[tuple[float, int, tuple, np.ndarray]] = []  # time, frame, box, probs
        self._predictor = None

    def open(self, info=None) -> None:
        """Load the model unless it is loaded; a run (``info`` given) starts with no
        earlier classifications to reuse."""
        if info is not None:
            self._last.clear()
            self._places.clear()
        if self._predictor is None:
            from .inference import Predictor

            # the detector runs on its own thread beside the classifier: leave it a core
            self._predictor = Predictor.from_path(
                self.path, self.backend, self.flip_average, 1, self.equalize_below
            )

    def classify(self, frame: Frame) -> None:
        """Set ``probs`` on every face of ``frame``: classified now, or its recent ones."""
        self.open()
        now = frame.timestamp
        key = frame_key(frame.image) if self.rate > 0 else 0.0
        self._places = [p for p in self._places if still_stands(p[0], now, self.rate, key)]
        earlier = [self._earlier(face, now, key) for face in frame.faces]
        due = [face for face, kept in zip(frame.faces, earlier) if kept is None]
        for face, kept in zip(frame.faces, earlier):
            if kept is not None:
                face.probs_from, face.probs = kept
        if due:
            m = self.metadata
            boxes = [face.box for face in due]
            crops = crop_faces(frame.image, boxes, m.input_size, m.channels, m.margin, self.lift)
            for face, probs in zip(due, self._predictor(crops)):
                face.probs, face.probs_from = probs, None
                if face.track_id is not None:
                    self._last[face.track_id] = (now, frame.index, probs)
                else:
                    self._places.append((now, frame.index, face.box, probs))
        self._last = {k: v for k, v in self._last.items() if 0 <= now - v[0] < 5.0}

    def _earlier(self, face, now: float, key: float) -> tuple[int, np.ndarray] | None:
        """The frame and probabilities ``face`` keeps, or None if it is classified now."""
        if face.track_id is None:
            overlap, place = max(
                ((box_iou(p[2], face.box), p) for p in self._places),
                key=lambda scored: scored[0],
                default=(0.0, None),
            )
            return (place[1], place[3]) if overlap >= PLACE_IOU else None
        last = self._last.get(face.track_id)
        stands = last is not None and still_stands(last[0], now, self.rate, key)
        return (last[1], last[2]) if stands else None


def still_stands(then: float, now: float, rate: float, key: float) -> bool:
    """Whether a classification at ``then`` still stands at ``now`` (``rate`` a second), on
    a frame with ``frame_key`` ``key``: while the key is at least the share of ``AGAIN`` gone."""
    first, last = AGAIN
    gone = (round((now - then) * rate, 6) - first) / (last - first)
    return rate > 0 and now >= then and key >= gone
