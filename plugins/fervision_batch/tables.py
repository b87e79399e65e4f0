"""Tables for research from a finished emotion CSV, read row by row (memory stays flat):
per second, per segment (``--events``) and the study's summary, per participant.

A row belongs to its participant when it has one (the CSV's ``participant`` column, or
``participants`` given here), else to its face track (``face_id``); untracked faces with
no participant count in no row. Each function returns plain dicts, one a row.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fervision import csvsafe
from fervision.errors import FervisionError
from fervision.events import Event, read_events  # noqa: F401  (read_events: part of the tables API)
from fervision.options import OptionError
from fervision.outputs import write_atomic
from fervision.participants import Participants, TrackStats, group_tracks, parse_participants
from fervision.run_csv import frame_rows, natural_key, open_run_csv
from fervision.valence import valence, valence_index


@dataclass
class Face:
    """One face row of the CSV, as the tables use it."""

    frame: int
    time: float
    face_id: int | None
    box: tuple[int, int, int, int] | None
    label: str
    p: list[float]  # smoothed probabilities, NaN where empty
    valence: float | None
    participant: str = ""

    @property
    def key(self) -> tuple[str, str] | None:
        """(participant, face id): a participant's rows merge its tracks; None for neither."""
        if self.participant:
            return self.participant, ""
        return None if self.face_id is None else ("", str(self.face_id))


@dataclass
class Run:
    """A finished emotion CSV and who is who in it (``participants``: a Participants or its
    text, e.g. "alice=1+4,bob=2"; default: the CSV's ``participant`` column).

    Example:
        >>> run = Run("run.csv", "interviewer=left,guest=right", size=(1280, 720))
        >>> rows = segments(run, read_events("events.csv"))  # plain dicts
        >>> frame = as_dataframe(rows)  # with pandas installed
    """

    path: Path
    participants: Participants | None = None
    size: tuple[int, int] | None = None  # the picture's, for participants by place
    listed: tuple[str, ...] = ()  # names to list even when unseen (default: participants')
    labels: tuple[str, ...] = ()
    _names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self):
        self.path = Path(self.path)
        if isinstance(self.participants, str):
            self.participants = parse_participants(self.participants) if self.participants else None
        with open_run_csv(self.path) as reader:
            header = next(reader, [])
        if "frame" not in header or "face_id" not in header:
            raise FervisionError(f"{self.path} is not an emotion CSV from fervision run")
        self.labels = tuple(c[2:] for c in header if c.startswith("p_"))
        who = self.participants
        if who is not None and who.places and self.size is None:
            raise OptionError("participants by place need the picture's size: --size WxH")
        if who is not None and (who.ids or who.auto):
            tracks = self._tracks()
            if who.ids:
                who.check_ids(tracks)
            else:
                self._names = group_tracks(tracks, who.names)

    @property
    def names(self) -> tuple[str, ...]:
        """The participants named before the data is read (their rows come even when unseen)."""
        if self.listed or self.participants is None:
            return tuple(self.listed)
        return self.participants.names

    def _tracks(self) -> dict[int, TrackStats]:
        tracks: dict[int, TrackStats] = {}
        for face in self._faces():
            if face.face_id is not None and face.box is not None:
                stats = tracks.setdefault(face.face_id, TrackStats(face.frame, face.frame))
                stats.add(face.frame, face.box)
        return tracks

    def _who(self, face: Face) -> str:
        who = self.participants
        if who is None:
            return face.participant
        if who.auto:
            return self._names.get(face.face_id, "")
        if who.places:
            return who.by_place(face.box, *self.size) if face.box else ""
        return who.ids.get(face.face_id, "")

    def frames(self) -> Iterator[tuple[int, float, list[Face]]]:
        """Each frame's number, time and faces, in file order."""
        current = None
        for face in self._faces(with_empty=True):
            if current is None or face.frame != current[0]:
                if current is not None:
                    yield current
                current = (face.frame, face.time, [])
            if face.box is not None:
                face.participant = self._who(face)
                current[2].append(face)
        if current is not None:
            yield current

    def _faces(self, with_empty: bool = False) -> Iterator[Face]:
        with open_run_csv(self.path) as reader:
            header = next(reader)
            col = {name: i for i, name in enumerate(header)}
            p_cols = [col[f"p_{label}"] for label in self.labels]
            index = valence_index(self.labels)
            v_col, who_col = col.get("valence"), col.get("participant")
            for line, frame, time, row in frame_rows(reader, col, self.path):
                try:
                    face = _face(frame, time, row, col, p_cols, v_col, who_col, index)
                except (ValueError, IndexError):
                    raise FervisionError(f"{self.path} line {line}: unreadable row") from None
                if face.box is not None or with_empty:
                    yield face


def _face(frame, time, row, col, p_cols, v_col, who_col, index) -> Face:
    if row[col["x"]] == "":
        return Face(frame, time, None, None, "", [], None)
    fid = row[col["face_id"]]
    box = tuple(int(row[col[c]]) for c in ("x", "y", "w", "h"))
    p = [float(row[i]) if row[i] != "" else math.nan for i in p_cols]
    if v_col is not None and len(row) > v_col:
        v = float(row[v_col]) if row[v_col] != "" else None
    else:  # a CSV from before the valence column
        v = valence(p, index) if p else None
    who = row[who_col] if who_col is not None and len(row) > who_col else ""
    return Face(frame, time, int(fid) if fid else None, box, row[col["label"]], p, v, who)


def _dominant(labels, counts: dict[str, int]) -> str:
    """The most frequent label (the model's order breaks ties), "" when none."""
    best = max(labels, key=lambda label: counts.get(label, 0), default="")
    return best if counts.get(best, 0) else ""


def _mean(total: float, n: int) -> float | str:
    return round(total / n, 4) if n else ""


class _Tally:
    """Sums over one participant's (or track's) face rows in a span of time."""

    def __init__(self, labels):
        self.labels = labels
        self.frames: set[int] = set()
        self.rows = 0
        self.counts: dict[str, int] = {}
        self.p_sum = [0.0] * len(labels)
        self.p_n = [0] * len(labels)
        self.p_max = [math.nan] * len(labels)
        self.v_sum, self.v_n = 0.0, 0
        self.last_label: dict[int | None, str] = {}
        self.changes = 0

    def add(self, face: Face) -> None:
        self.frames.add(face.frame)
        self.rows += 1
        if face.label:
            self.counts[face.label] = self.counts.get(face.label, 0) + 1
            before = self.last_label.get(face.face_id)
            self.changes += before is not None and before != face.label
            self.last_label[face.face_id] = face.label
        for j, value in enumerate(face.p):
            if not math.isnan(value):
                self.p_sum[j] += value
                self.p_n[j] += 1
                self.p_max[j] = value if math.isnan(self.p_max[j]) else max(self.p_max[j], value)
        if face.valence is not None:
            self.v_sum += face.valence
            self.v_n += 1

    def mean_p(self) -> dict[str, float | str]:
        return {
            f"p_{label}": _mean(self.p_sum[j], self.p_n[j]) for j, label in enumerate(self.labels)
        }

    def valence(self) -> float | str:
        return _mean(self.v_sum, self.v_n)


def per_second(run: Run) -> Iterator[dict]:
    """A row per second and participant (or track): frames in that second, the share with
    the face, mean smoothed probabilities, the dominant label and the mean valence."""
    second, frames, tallies = None, 0, {}

    def rows():
        keys = [(name, "") for name in run.names] + sorted(
            set(tallies) - {(n, "") for n in run.names}, key=_face_order
        )
        for key in keys:
            tally = tallies.get(key) or _Tally(run.labels)
            yield {
                "second": second,
                "participant": key[0],
                "face_id": key[1],
                "frames": frames,
                "face_share": round(len(tally.frames) / frames, 4) if frames else 0.0,
                **tally.mean_p(),
                "dominant": _dominant(run.labels, tally.counts),
                "valence": tally.valence(),
            }

    for _frame, time, faces in run.frames():
        now = int(math.floor(time))
        if now != second:
            if second is not None:
                yield from rows()
            second, frames, tallies = now, 0, {}
        frames += 1
        for face in faces:
            if face.key is not None:
                tallies.setdefault(face.key, _Tally(run.labels)).add(face)
    if second is not None:
        yield from rows()


def per_second_columns(labels) -> list[str]:
    """The per-second table's columns, in order."""
    return (
        ["second", "participant", "face_id", "frames", "face_share"]
        + [f"p_{label}" for label in labels]
        + ["dominant", "valence"]
    )


WHOLE = Event(0.0, math.inf, "")  # the whole video, as a segment


def segments(run: Run, events=()) -> list[dict]:
    """A row per segment and participant (or track): seconds seen, each label's share,
    each emotion's mean and peak probability, the mean valence and label changes.
    Without ``events``, one segment: the whole video (``segment`` empty)."""
    events = list(events) or [WHOLE]
    tallies: dict[tuple[int, tuple[str, str]], _Tally] = {}
    first = last = None
    for frame, time, faces in run.frames():
        first = first or (frame, time)
        last = (frame, time)
        for i, event in enumerate(events):
            if not event.onset <= time < event.offset:
                continue
            for face in faces:
                if face.key is None or (
                    event.participant and face.participant != event.participant
                ):
                    continue
                tallies.setdefault((i, face.key), _Tally(run.labels)).add(face)
    dt = _interval(first, last)
    end = last[1] + dt if last else 0.0
    rows = []
    for i, event in enumerate(events):
        named = [(n, "") for n in run.names if not event.participant or n == event.participant]
        seen = sorted((key for j, key in tallies if j == i and key not in named), key=_face_order)
        stop = min(event.offset, end)
        for key in named + seen:
            tally = tallies.get((i, key)) or _Tally(run.labels)
            labelled = sum(tally.counts.values())
            rows.append(
                {
                    "segment": event.label,
                    "onset": round(event.onset, 3),
                    "offset": round(stop, 3),
                    "participant": key[0],
                    "face_id": key[1],
                    # a frame counts dt; the last may end past the segment: not beyond it
                    "seconds_seen": round(min(len(tally.frames) * dt, stop - event.onset), 3),
                    **{
                        f"share_{label}": round(tally.counts.get(label, 0) / labelled, 4)
                        if labelled
                        else ""
                        for label in run.labels
                    },
                    **{f"mean_{k}": v for k, v in tally.mean_p().items()},
                    **{
                        f"peak_p_{label}": "" if math.isnan(v) else round(v, 4)
                        for label, v in zip(run.labels, tally.p_max)
                    },
                    "valence": tally.valence(),
                    "dominant": _dominant(run.labels, tally.counts),
                    "label_changes": tally.changes,
                }
            )
    return rows


def _interval(first, last) -> float:
    """The mean time between frames (1/30 s for a single frame), as ``report`` counts it."""
    if first is None or last is None or last[0] <= first[0] or last[1] <= first[1]:
        return 1 / 30
    return (last[1] - first[1]) / (last[0] - first[0])


def segment_columns(labels) -> list[str]:
    """The per-segment table's columns, in order."""
    return (
        ["segment", "onset", "offset", "participant", "face_id", "seconds_seen"]
        + [f"share_{label}" for label in labels]
        + [f"mean_p_{label}" for label in labels]
        + [f"peak_p_{label}" for label in labels]
        + ["valence", "dominant", "label_changes"]
    )


SUMMARY_COLUMNS = ["video", "participant", "segment", "start", "end", "seconds_seen"]


def study_rows(video: str, run: Run, events=()) -> list[dict]:
    """The study table's rows of one video: the whole video, then each segment, per
    participant (or track)."""
    rows = segments(run) + (segments(run, events) if events else [])
    return [
        {
            "video": video,
            "participant": row["participant"] or (f"face {row['face_id']}"),
            "segment": row["segment"],
            "start": row["onset"],
            "end": row["offset"],
            "seconds_seen": row["seconds_seen"],
            **{k: v for k, v in row.items() if k.startswith("share_")},
            "valence": row["valence"],
            "dominant": row["dominant"],
        }
        for row in rows
    ]


def summary_columns(labels) -> list[str]:
    """The study table's columns, in order."""
    return SUMMARY_COLUMNS + [f"share_{label}" for label in labels] + ["valence", "dominant"]


def write_table(path, rows, columns) -> int:
    """Write ``rows`` as CSV; the number written. A file appears whole or not at all (an
    interruption leaves any earlier one); a device or a pipe (``/dev/stdout``) is written
    as it is."""
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "w", newline="", encoding="utf-8") as f:
            return _write_rows(f, rows, columns)
    text = io.StringIO(newline="")
    count = _write_rows(text, rows, columns)
    write_atomic(path, text.getvalue().encode("utf-8"))
    return count


def _write_rows(f, rows, columns) -> int:
    writer = csvsafe.DictWriter(f, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def format_segments(rows, labels) -> list[str]:
    """The per-segment table as aligned text lines, for the terminal."""
    head = ["segment", "participant", "seen s", "dominant", "valence", "changes"]
    head += [f"{label[:7]}%" for label in labels]
    table = [head]
    for row in rows:
        who = row["participant"] or f"face {row['face_id']}"
        shares = [row[f"share_{label}"] for label in labels]
        table.append(
            [
                row["segment"] or "(whole video)",
                who,
                f"{row['seconds_seen']:.1f}",
                row["dominant"] or "-",
                f"{row['valence']:+.2f}" if row["valence"] != "" else "-",
                str(row["label_changes"]),
            ]
            + [f"{100 * s:.0f}" if s != "" else "-" for s in shares]
        )
    widths = [max(len(str(r[i])) for r in table) for i in range(len(head))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]


def as_dataframe(rows):
    """``rows`` as a pandas DataFrame (pandas is not a dependency: install it for this)."""
    try:
        import pandas
    except ImportError:
        raise FervisionError("a DataFrame needs pandas: pip install pandas") from None
    return pandas.DataFrame(list(rows))


def _face_order(key: tuple[str, str]) -> list:
    """(participant, face) keys with "face 2" before "face 10"."""
    return [natural_key(part) for part in key]
