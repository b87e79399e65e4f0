"""A study's tables from finished emotion CSVs: ``summary.csv`` (a row per video, participant
and segment) and each video's per-second table, for ``batch`` and ``report``."""

from __future__ import annotations

from pathlib import Path

from fervision.options import OptionError
from fervision.participants import Participants, parse_participants

from .tables import (
    Run,
    per_second,
    per_second_columns,
    read_events,
    study_rows,
    summary_columns,
    write_table,
)

SUMMARY_NAME = "summary.csv"
PER_SECOND = ".per_second.csv"


def study_options(participants: str | None, events: str | None, many: bool = False):
    """``--participants`` and ``--events`` read and checked before any work (OptionError:
    exit 2); ``many``: for several videos, where face ids mean nothing from one to the next."""
    who = parse_participants(participants) if participants else None
    if who is not None and who.ids and many:
        raise OptionError(
            "participants: face ids differ from video to video; give places or auto:N"
        )
    return who, read_events(events, who.names if who else ()) if events else []


def video_size(path) -> tuple[int, int] | None:
    """A video's picture size, read from its header (None when it does not open)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    return size if all(size) else None


def open_run(csv_path, who: Participants | None, size=None, video=None) -> Run:
    """The finished CSV with ``who`` applied (by place: ``size``, or ``video``'s)."""
    if who is not None and who.places and size is None and video is not None:
        size = video_size(video)
    return Run(csv_path, who, size)


def write_study(path: Path, runs: list[tuple[str, Run]], events) -> int:
    """Write the study table over ``runs`` ((video name, Run)); the number of rows."""
    labels = next((run.labels for _, run in runs if run.labels), ())
    rows = (row for video, run in runs for row in study_rows(video, run, events))
    return write_table(path, rows, summary_columns(labels))


def write_per_second(path: Path, run: Run) -> int:
    """Write one video's per-second table (streamed); the number of rows."""
    return write_table(path, per_second(run), per_second_columns(run.labels))
