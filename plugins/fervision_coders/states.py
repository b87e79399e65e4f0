"""The state log: participant, label, onset, offset, duration; one row per segment (seconds),
the form Excel, Observer XT and R read, and one a coder may correct and give to ``agree``."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from fervision import csvsafe
from fervision.errors import FervisionError
from fervision.outputs import write_atomic

from .coding import Coding, Segment

COLUMNS = ["participant", "label", "onset", "offset", "duration"]


def write_states(coding: Coding, path, events: list[Segment] = ()) -> Path:
    """Write ``coding``'s segments (then ``events``, labelled ``event:LABEL``) at ``path``."""
    text = io.StringIO(newline="")
    out = csvsafe.writer(text)
    out.writerow(COLUMNS)
    rows = coding.segments() + [
        Segment(e.participant, f"event:{e.label}", e.onset, e.offset) for e in events
    ]
    for seg in rows:
        onset, offset = round(seg.onset, 3), round(seg.offset, 3)
        out.writerow(
            [seg.participant, seg.label, f"{onset:.3f}", f"{offset:.3f}", f"{offset - onset:.3f}"]
        )
    path = Path(path)
    write_atomic(path, text.getvalue().encode("utf-8"))
    return path


def read_states(path) -> dict[str, list[Segment]]:
    """A state log's segments per participant (``event:`` rows left out)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csvsafe.DictReader(f)
            fields = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FervisionError(f"{path} is not a readable state log: {exc}") from None
    missing = [c for c in ("label", "onset", "offset") if c not in fields]
    if missing:
        raise FervisionError(
            f"{path} is not a state log (no {missing[0]} column; it needs participant, label, "
            "onset, offset)"
        )
    out: dict[str, list[Segment]] = {}
    for line, row in enumerate(rows, start=2):
        if (row.get("label") or "").startswith("event:"):
            continue
        try:
            onset, offset = float(row["onset"]), float(row["offset"])
        except (TypeError, ValueError):
            raise FervisionError(f"{path} line {line}: onset and offset must be seconds") from None
        if not (math.isfinite(onset) and math.isfinite(offset)) or offset < onset:
            raise FervisionError(f"{path} line {line}: {onset}..{offset} is not a span of time")
        who = row.get("participant") or ""
        if row["label"] and offset > onset:
            out.setdefault(who, []).append(Segment(who, row["label"], onset, offset))
    return out
