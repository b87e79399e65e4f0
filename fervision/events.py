"""Events: the stimuli or questions a researcher marks in a video, read from a CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .options import OptionError
from .timecode import FORMS, seconds


@dataclass(frozen=True)
class Event:
    """A segment of the video: a stimulus or question, maybe for one participant."""

    onset: float
    offset: float
    label: str
    participant: str = ""


EVENT_COLUMNS = ("onset", "offset", "label", "participant")


def read_events(path, names=()) -> list[Event]:
    """The events CSV at ``path`` (onset, offset, label, optional participant); a one-line
    OptionError naming the row for anything wrong."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise OptionError(f"cannot read events {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise OptionError(f"events {path} is not UTF-8 text") from None
    if not rows:
        raise OptionError(f"events {path} is empty (columns: onset, offset, label)")
    header = [c.strip().lower() for c in rows[0]]
    unknown = [c for c in header if c not in EVENT_COLUMNS]
    missing = [c for c in EVENT_COLUMNS[:3] if c not in header]
    if unknown or missing:
        what = f"unknown column {unknown[0]!r}" if unknown else f"no {missing[0]!r} column"
        raise OptionError(f"events {path}: {what} (columns: onset, offset, label, participant)")
    events = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header, (cell.strip() for cell in row)))
        where = f"events {path} row {line}"
        try:
            onset = seconds(values.get("onset", ""))
            offset = seconds(values.get("offset", ""))
        except OptionError:
            raise OptionError(
                f"{where}: onset and offset are {FORMS} "
                f"(not {values.get('onset', '')!r}, {values.get('offset', '')!r})"
            ) from None
        if offset < onset:
            raise OptionError(
                f"{where}: offset {values['offset']} is before onset {values['onset']}"
            )
        who = values.get("participant", "")
        if who and names and who not in names:
            raise OptionError(f"{where}: participant {who!r} is not one of {', '.join(names)}")
        events.append(Event(onset, offset, values.get("label", ""), who))
    return events
