"""The report sink's frames and face rows as compact growing arrays, not Python objects."""

from __future__ import annotations

import numpy as np

from .report import EmotionTable


class _Column:
    """One growing numpy column (doubling its room when full)."""

    def __init__(self, dtype, width: int = 0) -> None:
        self.width = width
        self._data = np.empty((256, width) if width else 256, dtype)
        self.size = 0

    def append(self, value) -> None:
        if self.size == len(self._data):
            grown = np.empty((2 * self.size,) + self._data.shape[1:], self._data.dtype)
            grown[: self.size] = self._data
            self._data = grown
        self._data[self.size] = value
        self.size += 1

    def values(self) -> np.ndarray:
        return self._data[: self.size]


class FaceRows:
    """Each frame's index and time, and each face's frame, time, track, label (a code into
    the labels seen) and probabilities (float32; NaN when a face has none): about 45 bytes a
    face for seven labels, where a row of Python objects took ten times that.

    ``width``: the number of probabilities a row has (the classifier's labels).
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._frame_index = _Column(np.int64)
        self._frame_time = _Column(np.float64)
        self._face_frame = _Column(np.int64)
        self._face_time = _Column(np.float64)
        self._face_id = _Column(np.int32)
        self._face_label = _Column(np.int32)
        self._face_p = _Column(np.float32, width) if width else None
        self._codes: dict[str, int] = {}

    @property
    def frames(self) -> int:
        return self._frame_index.size

    def last_time(self) -> float | None:
        """The latest frame's time (None before the first)."""
        times = self._frame_time.values()
        return float(times[-1]) if len(times) else None

    def first_time(self) -> float | None:
        times = self._frame_time.values()
        return float(times[0]) if len(times) else None

    def add_frame(self, index: int, time: float) -> None:
        self._frame_index.append(index)
        self._frame_time.append(time)

    def add_face(self, index: int, time: float, face_id: int, label: str, probs) -> None:
        """One face of the frame last added (``probs``: its probabilities, or None)."""
        self._face_frame.append(index)
        self._face_time.append(time)
        self._face_id.append(face_id)
        self._face_label.append(self._codes.setdefault(label, len(self._codes)))
        if self._face_p is not None:
            ok = probs is not None and len(probs) == self.width
            self._face_p.append(np.asarray(probs, np.float32) if ok else np.nan)

    def table(self, labels) -> EmotionTable:
        """The rows as the report reads them (frames in order, each once)."""
        index, first = np.unique(self._frame_index.values(), return_index=True)
        names = np.array(list(self._codes) or [""], dtype=object)
        width = len(labels) if self.width == len(labels) else 0
        faces = self._face_frame.size
        p = self._face_p.values() if self._face_p is not None and width else None
        return EmotionTable(
            labels=tuple(labels),
            frame_index=index,
            frame_time=self._frame_time.values()[first],
            face_frame=self._face_frame.values().copy(),
            face_time=self._face_time.values().copy(),
            face_id=self._face_id.values().astype(np.int64),
            face_label=names[self._face_label.values()].tolist(),
            face_p=(
                p.astype(np.float64) if p is not None else np.full((faces, len(labels)), np.nan)
            ),
        )
