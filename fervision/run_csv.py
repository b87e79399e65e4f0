"""Reading back the per-frame CSV of ``fervision run --csv``: opening it, and each row's frame
and time, with one-line errors for a file that is not one."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import csvsafe
from .errors import FervisionError


@contextmanager
def open_run_csv(path) -> Iterator[Iterator[list[str]]]:
    """A :func:`csvsafe.reader` on the CSV at ``path``; what stops it reading is one line."""
    path = Path(path)
    if not path.is_file():
        raise FervisionError(f"CSV file not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            yield csvsafe.reader(f)
    except UnicodeDecodeError:
        raise FervisionError(f"{path} is not an emotion CSV (not UTF-8 text)") from None
    except csv.Error as exc:
        raise FervisionError(f"{path} is not a readable CSV: {exc}") from None


def not_a_run_csv(path, missing: list[str]) -> FervisionError:
    """The error of a CSV whose header lacks the ``missing`` columns."""
    what = ", ".join(missing)
    return FervisionError(f"{path} is not an emotion CSV from fervision run (no {what} column)")


def frame_rows(reader, col: dict[str, int], path) -> Iterator[tuple[int, int, float, list[str]]]:
    """Each non-empty row after the header as (line, frame, timestamp_s, row)."""
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            frame, time = int(row[col["frame"]]), float(row[col["timestamp_s"]])
        except (ValueError, IndexError):
            raise FervisionError(f"{path} line {line}: no frame number and timestamp") from None
        yield line, frame, time, row


def natural_key(text: str) -> list:
    """Sort key for faces and participants: "face 2" before "face 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]
