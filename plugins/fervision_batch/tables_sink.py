"""The ``tables`` sink: a run's per-second and per-segment tables, made from its emotion CSV
when the run ends (``fervision run --csv C --per-second P --events E --segments S``)."""

from __future__ import annotations

from pathlib import Path

from fervision.errors import FervisionError
from fervision.outputs import check_writable
from fervision.participants import parse_participants


class TablesSink:
    """Reads the run's CSV once the CSV sink (listed before it) has closed, and writes the
    tables; :attr:`lines` then holds the per-segment table as text for the terminal.

    Args:
        csv: the run's emotion CSV (written by the ``csv`` sink of the same run).
        per_second: where to write the per-second table ("" for none).
        segments: where to write the per-segment table ("" for none).
        events: an events CSV (onset, offset, label, participant) marking the segments.
        participants: who is who, as the ``csv`` sink was given it (names listed even unseen).
    """

    def __init__(
        self,
        csv=None,
        per_second: str = "",
        segments: str = "",
        events: str = "",
        participants: str = "",
    ):
        from .tables import read_events

        if not csv:
            raise FervisionError("the tables sink needs the run's CSV (csv=PATH)")
        self.csv = Path(csv)
        self.per_second = check_writable(per_second, "per-second table") if per_second else None
        self.segments = check_writable(segments, "segments table") if segments else None
        self.participants = parse_participants(participants) if participants else None
        names = self.participants.names if self.participants else ()
        self.events = read_events(events, names) if events else []
        self.lines: list[str] = []
        self._frames = 0

    def open(self, info, labels) -> None:
        self._frames = 0
        self.lines = []

    def write(self, frame) -> None:
        self._frames += 1

    def close(self) -> None:
        from .tables import (
            Run,
            format_segments,
            per_second,
            per_second_columns,
            segment_columns,
            segments,
            write_table,
        )

        if not self._frames:  # nothing written: the CSV there is an earlier run's
            return
        names = self.participants.names if self.participants is not None else ()
        run = Run(self.csv, listed=names)  # the CSV names each face's participant
        if self.per_second is not None:
            write_table(self.per_second, per_second(run), per_second_columns(run.labels))
        rows = segments(run, self.events)
        if self.segments is not None:
            write_table(self.segments, rows, segment_columns(run.labels))
        self.lines = format_segments(rows, run.labels)
