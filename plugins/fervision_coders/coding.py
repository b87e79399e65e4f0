"""A run's labels as coders see them: per participant, each frame's label, merged into segments.

A participant is the CSV's ``participant`` (or a face's ``participant``) when it is named,
else its track: ``face N`` for ``face_id`` N. Faces the tracker gave no id are left out.
A segment runs from its first frame's time to the next frame's time (the last frame's time
plus one frame interval at the end of the video): a face that leaves closes its segment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from fervision.errors import FervisionError
from fervision.run_csv import frame_rows, natural_key, not_a_run_csv, open_run_csv

DEFAULT_FRAME_INTERVAL = 1 / 30


@dataclass(frozen=True)
class Segment:
    """One coded stretch of time: who, what, from when to when (seconds)."""

    participant: str
    label: str
    onset: float
    offset: float

    @property
    def duration(self) -> float:
        return self.offset - self.onset


@dataclass
class Coding:
    """Every frame's time and, per participant, the label at each frame ("" when none)."""

    times: list[float]
    labels: dict[str, list[str]]
    label_names: tuple[str, ...] = ()  # the model's labels, in its order
    media: str | None = None  # the video the run read, when known
    fps: float | None = None
    csv: str | None = None  # the per-frame CSV, when there is one

    @property
    def frame_interval(self) -> float:
        """The mean time between frames (1/30 s for a single frame)."""
        if len(self.times) < 2 or self.times[-1] <= self.times[0]:
            return 1 / self.fps if self.fps else DEFAULT_FRAME_INTERVAL
        return (self.times[-1] - self.times[0]) / (len(self.times) - 1)

    @property
    def end(self) -> float:
        """When the video ends: the last frame's time plus one frame interval."""
        return self.times[-1] + self.frame_interval if self.times else 0.0

    @property
    def participants(self) -> list[str]:
        return list(self.labels)

    def all_labels(self) -> list[str]:
        """The model's labels, then any other label the frames hold, in order of appearance."""
        seen = list(self.label_names)
        for row in self.labels.values():
            seen += [label for label in dict.fromkeys(row) if label and label not in seen]
        return seen

    def segments(self) -> list[Segment]:
        """Each participant's runs of one label over consecutive frames, in time order."""
        out = []
        n = len(self.times)
        for who, row in self.labels.items():
            start = 0
            for i in range(1, n + 1):
                if i < n and row[i] == row[start]:
                    continue
                if row[start]:
                    offset = self.times[i] if i < n else self.end
                    out.append(Segment(who, row[start], self.times[start], offset))
                start = i
        return sorted(out, key=lambda s: (s.onset, natural_key(s.participant)))

    def shares(self) -> dict[str, dict[str, float]]:
        """Per participant, the fraction of its labelled frames with each label."""
        out = {}
        for who, row in self.labels.items():
            labelled = [label for label in row if label]
            out[who] = {
                label: labelled.count(label) / len(labelled) for label in dict.fromkeys(labelled)
            }
        return out


@dataclass
class CodingBuilder:
    """Gathers frames (time and each face's participant and label) into a :class:`Coding`."""

    label_names: tuple[str, ...] = ()
    times: list[float] = field(default_factory=list)
    _rows: dict[str, dict[int, str]] = field(default_factory=dict)

    def add_frame(self, time: float) -> int:
        """Start a frame at ``time``; return its position."""
        self.times.append(float(time))
        return len(self.times) - 1

    def add_face(self, position: int, participant: str, label: str) -> None:
        """A face of the frame at ``position`` (the first of a participant's faces counts)."""
        if participant:
            self._rows.setdefault(participant, {}).setdefault(position, label or "")

    def coding(self, **extra) -> Coding:
        n = len(self.times)
        labels = {
            who: [rows.get(i, "") for i in range(n)]
            for who, rows in sorted(self._rows.items(), key=by_name)
        }
        return Coding(list(self.times), labels, tuple(self.label_names), **extra)


def track_name(track_id) -> str:
    """A track's participant name: ``face N`` ("" for a face without an id)."""
    return "" if track_id is None or track_id == "" else f"face {track_id}"


def face_participant(face) -> str:
    """A face's participant: the name it was given, else its track's name."""
    return getattr(face, "participant", None) or track_name(face.track_id)


def read_run_csv(path) -> Coding:
    """The per-frame emotion CSV of ``fervision run``; a one-line error when it is not one."""
    path = Path(path)
    with open_run_csv(path) as reader:
        header = next(reader, None) or []
        missing = [c for c in ("frame", "timestamp_s", "face_id", "label") if c not in header]
        if missing:
            raise not_a_run_csv(path, missing[:1])
        return _read_rows(reader, header, path)


def _read_rows(reader, header: list[str], path: Path) -> Coding:
    col = {name: i for i, name in enumerate(header)}
    who_col = col.get("participant")
    builder = CodingBuilder(tuple(c[2:] for c in header if c.startswith("p_")))
    positions: dict[int, int] = {}
    for line, frame, time, row in frame_rows(reader, col, path):
        if not math.isfinite(time):
            raise FervisionError(f"{path} line {line}: timestamp {time} is not a number")
        if frame not in positions:
            positions[frame] = builder.add_frame(time)
        named = row[who_col] if who_col is not None and len(row) > who_col else ""
        track = row[col["face_id"]] if len(row) > col["face_id"] else ""
        label = row[col["label"]] if len(row) > col["label"] else ""
        builder.add_face(positions[frame], named or track_name(track), label)
    if not builder.times:
        raise FervisionError(f"{path} has no frames")
    if any(b < a for a, b in zip(builder.times, builder.times[1:])):
        raise FervisionError(f"{path}: timestamps go backwards; not one run's CSV")
    return builder.coding(csv=str(path))


def read_events(path) -> list[Segment]:
    """An events CSV (onset, offset, label[, participant]; seconds or HH:MM:SS) as segments."""
    from fervision.events import read_events as read

    events = read(path)
    return sorted(
        (Segment(e.participant, e.label, e.onset, e.offset) for e in events),
        key=lambda s: (s.onset, natural_key(s.participant)),
    )


def within(events: list[Segment], end: float) -> list[Segment]:
    """``events`` cut at the video's ``end``, as the tables cut them: one starting after it
    is left out, one running past it ends there."""
    cut = (Segment(e.participant, e.label, e.onset, min(e.offset, end)) for e in events)
    return [e for e in cut if e.onset < end]


def lanes(segments: list[Segment]) -> list[list[Segment]]:
    """Segments split into lists where none overlap (first fit, in time order)."""
    out: list[list[Segment]] = []
    for seg in sorted(segments, key=lambda s: s.onset):
        for lane in out:
            if lane[-1].offset <= seg.onset:
                lane.append(seg)
                break
        else:
            out.append([seg])
    return out


def ms(seconds: float) -> int:
    """Seconds as whole milliseconds (as ELAN keeps times)."""
    return int(round(seconds * 1000))


def by_name(item) -> list:
    """Sort key for (participant, ...) items: "face 2" before "face 10"."""
    return natural_key(item[0])
