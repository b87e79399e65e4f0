"""The emotion CSV log: one row per face per frame, written and flushed as frames arrive."""

from __future__ import annotations

import csv

from fervision.outputs import check_writable
from fervision.types import Frame, SourceInfo

FACE_COLUMNS = [
    "frame",
    "timestamp_s",
    "face_id",
    "x",
    "y",
    "w",
    "h",
    "det_score",
    "label",
    "confidence",
]


def csv_columns(labels) -> list[str]:
    """Column names, in order, for a model with ``labels``."""
    return FACE_COLUMNS + [f"p_{n}" for n in labels] + [f"raw_{n}" for n in labels]


def _probs(values, count: int) -> list[str]:
    return [f"{v:.4f}" for v in values] if values is not None else [""] * count


class CsvSink:
    """Long-format CSV; a frame with no face gets one row with empty face fields.

    Each frame's rows are flushed together, so a crash loses at most the frame in flight.
    """

    def __init__(self, path):
        self.path = check_writable(path, "CSV")
        self._file = None
        self._writer = None
        self.labels: tuple[str, ...] = ()

    def open(self, info: SourceInfo, labels) -> None:
        self.labels = tuple(labels)
        self._file = open(self.path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(csv_columns(self.labels))
        self._file.flush()

    def rows(self, frame: Frame) -> list[list]:
        """The rows of one frame."""
        n = len(self.labels)
        head = [frame.index, f"{frame.timestamp:.3f}"]
        if not frame.faces:
            return [head + [""] * (len(FACE_COLUMNS) - 2 + 2 * n)]
        rows = []
        for face in frame.faces:
            x, y, w, h = face.box
            rows.append(
                head
                + [
                    "" if face.track_id is None else face.track_id,
                    x,
                    y,
                    w,
                    h,
                    f"{face.score:.3f}",
                    face.label or "",
                    f"{face.confidence:.4f}" if face.confidence is not None else "",
                ]
                + _probs(face.smoothed, n)
                + _probs(face.probs, n)
            )
        return rows

    def write(self, frame: Frame) -> None:
        self._writer.writerows(self.rows(frame))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
