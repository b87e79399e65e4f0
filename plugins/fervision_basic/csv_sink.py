"""The emotion CSV log: one row per face per frame, written as frames arrive.

Each frame's rows go to the file in one write call, so a reader of the growing file sees
whole rows; if a write fails (a full disk), the file is cut back to the last whole frame.
"""

from __future__ import annotations

import io
import logging
import os

from fervision import csvsafe
from fervision.errors import FervisionError
from fervision.outputs import check_not_input, check_writable
from fervision.participants import parse_participants
from fervision.types import Frame, SourceInfo
from fervision.valence import NO_VALENCE, valence, valence_index

from .participant_column import ParticipantColumn

log = logging.getLogger("fervision")

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


#: The frame whose classification the ``raw_`` columns hold; older CSVs call it ``raw_frame``
#: (readers take either: they find the labels by the ``p_`` prefix alone).
CLASSIFIED_FRAME = "classified_frame"


def csv_columns(labels, photos: bool = False) -> list[str]:
    """Column names, in order, for a model with ``labels`` (and a ``file`` for photos)."""
    probs = [f"p_{n}" for n in labels] + [f"raw_{n}" for n in labels]
    tail = [CLASSIFIED_FRAME, "valence", "participant"] + (["file"] if photos else [])
    columns = FACE_COLUMNS + probs + tail
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise FervisionError(
            f"the model's labels {list(labels)} would give the CSV column "
            f"{', '.join(twice)} twice; each label must be a different name"
        )
    return columns


def _probs(values, count: int) -> list[str]:
    return [f"{v:.4f}" for v in values] if values is not None else [""] * count


def _classified_frame(face, index: int):
    """The frame whose classification the ``raw_`` columns hold ("" when there is none)."""
    if face.probs is None:
        return ""
    return index if face.probs_from is None else face.probs_from


def _valence(face, index) -> str:
    value = valence(face.smoothed, index)
    return "" if value is None else f"{value:.4f}"


class CsvSink:
    """Long-format CSV; a frame with no face gets one row with empty face fields.

    Each frame's rows are written together in one call, unbuffered: a crash loses at most
    the frame in flight, and a failed write leaves the file ending with a whole row. The
    file is replaced when the first frame arrives: a run that fails or is stopped before
    then leaves an earlier CSV at the path as it was.

    ``valence`` is the smoothed happy minus the strongest smoothed angry, fear or sad
    (empty for a model without those labels); ``participant`` names the face's person
    (empty when unassigned).

    Args:
        path: the CSV file to write (its folder must exist).
        participants: who is who, e.g. "interviewer=left,guest=right", "alice=1+4,bob=2"
            or "auto:2" (filled in when the run ends).
    """

    def __init__(self, path=None, participants: str = ""):
        self.path = check_writable(path, "CSV")
        who = parse_participants(participants) if participants else None
        self._participants = ParticipantColumn(who) if who else None
        self._valence = None
        self._file = None
        self._size = 0  # bytes of whole rows in the file
        self.last_frame: int | None = None  # the last frame whose rows are in the file
        self.labels: tuple[str, ...] = ()
        self._header: list[str] = []
        self._photos_in: str | None = None  # photos: the folder their names are relative to

    def open(self, info: SourceInfo, labels) -> None:
        check_not_input(self.path, info.source_id, "CSV")
        self.labels = tuple(labels)
        self._photos_in = None
        if info.stills:
            folder = os.path.isdir(info.source_id)
            self._photos_in = info.source_id if folder else os.path.dirname(info.source_id) or "."
        self._header = csv_columns(self.labels, photos=info.stills)
        self._valence = valence_index(self.labels)
        if self._valence is None and self.labels:
            log.warning("note: %s: %s", self.path, NO_VALENCE)
        self._size = 0
        self.last_frame = None

    def rows(self, frame: Frame) -> list[list]:
        """The rows of one frame."""
        rows = self._face_rows(frame)
        if self._photos_in is not None:  # which photo: frame numbers skip unreadable ones
            name = os.path.relpath(frame.source_id, self._photos_in)
            rows = [row + [name] for row in rows]
        return rows

    def _face_rows(self, frame: Frame) -> list[list]:
        n = len(self.labels)
        head = [frame.index, f"{frame.timestamp:.3f}"]
        if not frame.faces:
            return [head + [""] * (len(FACE_COLUMNS) - 2 + 2 * n + 3)]
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
                + [_classified_frame(face, frame.index), _valence(face, self._valence)]
                + [self._who(frame, face)]
            )
        return rows

    def _who(self, frame: Frame, face) -> str:
        return "" if self._participants is None else self._participants.name(frame, face)

    def write(self, frame: Frame) -> None:
        rows = self.rows(frame)
        if self._file is None:  # the first frame: now the file is replaced
            try:
                self._file = open(self.path, "wb", buffering=0)
            except OSError as exc:
                raise FervisionError(f"cannot write CSV {self.path}: {exc.strerror}") from None
            rows.insert(0, self._header)
        self._append(rows)
        self.last_frame = frame.index

    def _append(self, rows: list[list]) -> None:
        """Write ``rows`` whole, or cut the file back to where it was and raise one line."""
        text = io.StringIO(newline="")
        csvsafe.writer(text).writerows(rows)
        data = text.getvalue().encode("utf-8")
        try:
            done = 0
            while done < len(data):  # one call, unless the system writes less than asked
                done += self._file.write(memoryview(data)[done:])
        except OSError as exc:
            self._cut_back()
            raise FervisionError(
                f"cannot write CSV {self.path}: {exc.strerror or exc} ({self._kept()})"
            ) from None
        self._size += len(data)

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._file.fileno(), self._size)
        except OSError:
            pass  # not a regular file (a pipe, /dev/full): nothing to cut

    def _kept(self) -> str:
        if self._size == 0:
            return "nothing was written"
        if self.last_frame is None:
            return "it holds the header only"
        return f"it holds frames up to {self.last_frame}, every row whole"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if self._participants is not None:
                self._participants.finish(self.path)
