"""One BlazeFace model run through LiteRT, decoded as MediaPipe does, on whole images or tiles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fervision.errors import FervisionError
from fervision.imaging import box_iou
from fervision.native import quiet_native_output
from fervision.types import Face

#: MediaPipe's face detection graph for each BlazeFace input size (SsdAnchorsCalculator
#: options): anchor strides, and whether each cell has a second, interpolated anchor.
#: 128: short range (896 anchors); 192: full range (2304 anchors).
ANCHORS = {128: ((8, 16, 16, 16), True), 192: ((4,), False)}
INPUT_SHAPES = {(1, size, size, 3) for size in ANCHORS}
#: MediaPipe's FaceDetector default: detections overlapping more are merged.
MIN_SUPPRESSION = 0.3


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def ssd_anchors(size: int) -> np.ndarray:
    """Anchor centres (N, 2) in 0..1, in the order of the model's outputs."""
    strides, interpolated = ANCHORS[size]
    centres, layer = [], 0
    while layer < len(strides):  # layers of equal stride share one grid
        same = strides[layer:].count(strides[layer])
        cells = math.ceil(size / strides[layer])
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1) + 0.5) / cells
        per_cell = same * (1 + int(interpolated))
        centres.append(np.repeat(grid.reshape(-1, 2), per_cell, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


class BlazeFace:
    """A BlazeFace model run through LiteRT; :meth:`detect` finds faces in a BGR image.

    Decoded as MediaPipe's face detection graph (the Tasks ``FaceDetector``) decodes it:
    the image letterboxed into the model's square input and scaled to -1..1, boxes and
    six keypoints relative to SSD anchors, sigmoid scores, weighted non-maximum
    suppression. ``benchmarks/blazeface_litert.py`` checks the boxes against the Tasks
    API's on the real clips.
    """

    def __init__(self, path: Path, min_confidence: float):
        self.min_confidence = min_confidence
        try:
            with quiet_native_output():
                from ai_edge_litert.interpreter import Interpreter

                interpreter = Interpreter(model_path=str(path), num_threads=1)
                interpreter.allocate_tensors()
            shape = tuple(interpreter.get_input_details()[0]["shape"])
            outputs = sorted(interpreter.get_output_details(), key=lambda d: d["shape"][-1])
            self.size = int(shape[1])
            self.anchors = ssd_anchors(self.size) if shape in INPUT_SHAPES else None
            found = [tuple(d["shape"]) for d in outputs]
            if self.anchors is None or found != [(1, len(self.anchors), k) for k in (1, 16)]:
                raise ValueError(f"input {shape} and outputs {found} are not BlazeFace's")
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError with C++ text
            raise FervisionError(
                f"MediaPipe could not load {path} as a face detector "
                f"(it needs a BlazeFace .tflite): {first_line(exc)}"
            ) from None
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]["index"]
        self._scores, self._boxes = (d["index"] for d in outputs)
        self._x = np.empty((1, self.size, self.size, 3), np.float32)  # the model's input
        self.detect(np.zeros((64, 64, 3), np.uint8))  # fail now, and warm XNNPACK up

    def detect(self, bgr: np.ndarray, origin=(0, 0), drop_cut: bool = False) -> list[Face]:
        """Faces in a BGR image, boxes and eyes shifted by ``origin``.

        ``drop_cut`` leaves out faces touching the image's edge (a tile's, where the
        neighbouring tile sees the whole face).
        """
        import cv2

        height, width = bgr.shape[:2]
        side = max(width, height)
        pad = np.array([side - width, side - height], np.float32) / 2
        scale = self.size / side
        affine = np.float32([[scale, 0, pad[0] * scale], [0, scale, pad[1] * scale]])
        square = cv2.warpAffine(bgr, affine, (self.size, self.size), flags=cv2.INTER_LINEAR)
        # RGB scaled to -1..1, converted on the model-sized square rather than the frame
        rgb = cv2.cvtColor(square, cv2.COLOR_BGR2RGB)
        np.multiply(rgb, np.float32(1 / 127.5), out=self._x[0], dtype=np.float32)
        np.subtract(self._x, np.float32(1.0), out=self._x)
        interpreter = self._interpreter
        interpreter.set_tensor(self._input, self._x)
        interpreter.invoke()
        logits = interpreter.get_tensor(self._scores)[0, :, 0].astype(np.float64)
        scores = 1 / (1 + np.exp(-np.clip(logits, -100, 100)))
        keep = scores >= self.min_confidence
        if not keep.any():
            return []
        raw, anchors = interpreter.get_tensor(self._boxes)[0][keep], self.anchors[keep]
        points = raw[:, 4:].reshape(len(raw), -1, 2) / self.size + anchors[:, None]
        centre, half = raw[:, :2] / self.size + anchors, raw[:, 2:4] / self.size / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        ox, oy = origin
        faces = []
        for box, keypoints, score in weighted_nms(boxes, points, scores[keep]):
            x0, y0, x1, y1 = box * side - np.tile(pad, 2)
            x, y, w, h = int(x0), int(y0), int(x1 - x0), int(y1 - y0)
            if drop_cut and (x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1):
                continue
            # MediaPipe's keypoints 0 and 1 are the person's right and left eye.
            eyes = sorted((float(px + ox), float(py + oy)) for px, py in keypoints[:2] * side - pad)
            faces.append(Face((x + ox, y + oy, w, h), float(score), eyes=tuple(eyes)))
        return faces

    def close(self) -> None:
        self._interpreter = None


def weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray):
    """MediaPipe's WEIGHTED suppression: each cluster of overlapping detections becomes the
    score-weighted mean of its boxes and keypoints, with its best score. Best first."""
    order = np.argsort(-scores, kind="stable")
    while order.size:
        iou = _ious(boxes[order[0]], boxes[order])
        iou[0] = 1.0  # the best is in its own cluster, even a degenerate box
        members = order[iou > MIN_SUPPRESSION]
        weights = scores[members][:, None]
        yield (
            (weights * boxes[members]).sum(0) / weights.sum(),
            (weights[:, :, None] * points[members]).sum(0) / weights.sum(),
            scores[order[0]],
        )
        order = order[iou <= MIN_SUPPRESSION]


def _ious(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one ``(x0, y0, x1, y1)`` box with each of ``boxes``."""
    corner0, corner1 = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(corner1 - corner0, 0, None), axis=1)
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = areas + np.prod(box[2:] - box[:2]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


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
