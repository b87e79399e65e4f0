"""Participants: names for the people in a video, by place, by track ids, or grouped
automatically (``auto:N``); parsed from ``"interviewer=left,guest=right"`` and friends.

Automatic grouping (:func:`group_tracks`) joins face tracks into N people: two tracks
seen in the same frame are never one person; of the rest, the two groups closest in place
(face centres, in face widths) and, when known, in appearance (a colour histogram of the
face) are joined first, until N groups are left. Groups beyond N that cannot be joined
(more people on screen at once than N) stay unnamed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .options import OptionError

#: Named places: (x0, y0, x1, y1) in fractions of the picture.
PLACES = {
    "left": (0.0, 0.0, 0.5, 1.0),
    "right": (0.5, 0.0, 1.0, 1.0),
    "top": (0.0, 0.0, 1.0, 0.5),
    "bottom": (0.0, 0.5, 1.0, 1.0),
    "top-left": (0.0, 0.0, 0.5, 0.5),
    "top-right": (0.5, 0.0, 1.0, 0.5),
    "bottom-left": (0.0, 0.5, 0.5, 1.0),
    "bottom-right": (0.5, 0.5, 1.0, 1.0),
}
EXAMPLES = '"interviewer=left,guest=right", "alice=1+4,bob=2" or "auto:2"'
#: Weight of appearance (0..1 apart) against place (face widths apart) in auto grouping.
APPEARANCE_WEIGHT = 4.0


@dataclass(frozen=True)
class Participants:
    """Who is who: ``places`` (name: fraction box), or ``ids`` (track id: name), or ``auto``
    (how many people to group tracks into)."""

    text: str
    names: tuple[str, ...] = ()
    places: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)
    auto: int = 0

    @property
    def live(self) -> bool:
        """Whether each face's participant is known as it is seen (not after the run)."""
        return not self.auto

    def by_place(self, box, width: int, height: int) -> str:
        """The first named place holding the face's centre ("" when none does)."""
        x, y, w, h = box
        cx, cy = (x + w / 2) / width, (y + h / 2) / height
        for name, (x0, y0, x1, y1) in self.places.items():
            if x0 <= cx < x1 or (x1 == 1.0 and cx == 1.0):
                if y0 <= cy < y1 or (y1 == 1.0 and cy == 1.0):
                    return name
        return ""

    def name(self, track_id, box, width: int, height: int) -> str:
        """A face's participant, by place or track id ("" when unassigned or auto)."""
        if self.places:
            return self.by_place(box, width, height)
        return self.ids.get(track_id, "") if track_id is not None else ""

    def check_ids(self, known) -> None:
        """A one-line OptionError for a track id the run does not have."""
        missing = sorted(set(self.ids) - set(known))
        if missing:
            have = ", ".join(str(i) for i in sorted(known)[:20]) or "none"
            raise OptionError(
                f"participants: face id {missing[0]} is not in this run (its ids: {have})"
            )


def _fraction_box(name: str, text: str) -> tuple[float, float, float, float]:
    parts = text.split(":")
    try:
        box = tuple(float(p) for p in parts)
    except ValueError:
        box = ()
    if len(box) != 4:
        places = ", ".join(PLACES)
        raise OptionError(
            f"participants: {name}={text} is not a place ({places}) nor a box x0:y0:x1:y1"
        )
    x0, y0, x1, y1 = box
    if not all(0.0 <= v <= 1.0 for v in box) or x0 >= x1 or y0 >= y1:
        raise OptionError(
            f"participants: {name}={text} is outside the picture (a box x0:y0:x1:y1 in "
            "fractions 0..1 of its width and height, x0 < x1, y0 < y1)"
        )
    return box


def parse_participants(text: str) -> Participants:
    """``text`` as :class:`Participants`; a one-line OptionError when it is wrong."""
    text = (text or "").strip()
    auto = re.fullmatch(r"auto:(\d+)", text)
    if auto:
        n = int(auto.group(1))
        if n < 1:
            raise OptionError("participants: auto:N needs N of 1 or more")
        return Participants(text, tuple(f"person{i + 1}" for i in range(n)), auto=n)
    places: dict = {}
    ids: dict[int, str] = {}
    names: list[str] = []
    for item in [p.strip() for p in text.split(",")]:
        name, equals, where = (s.strip() for s in item.partition("="))
        if not (name and equals and where):
            raise OptionError(f"participants: {item!r} is not NAME=PLACE; e.g. {EXAMPLES}")
        if name in names:
            raise OptionError(f"participants: {name} is given twice")
        names.append(name)
        if re.fullmatch(r"\d+(\+\d+)*", where):
            for track in (int(t) for t in where.split("+")):
                if track in ids:
                    raise OptionError(f"participants: face id {track} is given to two names")
                ids[track] = name
        else:
            places[name] = PLACES.get(where) or _fraction_box(name, where)
    if places and ids:
        raise OptionError("participants: give places or face ids, not both")
    return Participants(text, tuple(names), places=places, ids=ids)


@dataclass
class TrackStats:
    """What auto grouping knows of one track: when, where, how large, and how it looks."""

    first: int
    last: int
    frames: int = 0
    cx: float = 0.0  # sums over frames, in pixels
    cy: float = 0.0
    w: float = 0.0
    look: np.ndarray | None = None  # summed appearance histogram, or None

    def add(self, frame: int, box, look: np.ndarray | None = None) -> None:
        """Count one frame of the track, with its box and (when known) its histogram."""
        x, y, w, h = box
        self.first, self.last = min(self.first, frame), max(self.last, frame)
        self.frames += 1
        self.cx += x + w / 2
        self.cy += y + h / 2
        self.w += w
        if look is not None:
            self.look = look.astype(np.float64) if self.look is None else self.look + look


class _Group:
    def __init__(self, track_id: int, stats: TrackStats):
        self.ids = [track_id]
        self.spans = [(stats.first, stats.last)]
        self.frames, self.cx, self.cy, self.w = stats.frames, stats.cx, stats.cy, stats.w
        self.look = None if stats.look is None else stats.look.copy()

    def overlaps(self, other: _Group) -> bool:
        return any(a <= d and c <= b for a, b in self.spans for c, d in other.spans)

    def distance(self, other: _Group) -> float:
        n, m = max(self.frames, 1), max(other.frames, 1)
        width = (self.w / n + other.w / m) / 2 or 1.0
        place = np.hypot(self.cx / n - other.cx / m, self.cy / n - other.cy / m) / width
        if self.look is None or other.look is None:
            return float(place)
        a, b = self.look / max(self.look.sum(), 1e-9), other.look / max(other.look.sum(), 1e-9)
        return float(place + APPEARANCE_WEIGHT * (1.0 - np.minimum(a, b).sum()))

    def join(self, other: _Group) -> None:
        self.ids += other.ids
        self.spans += other.spans
        self.frames += other.frames
        self.cx, self.cy, self.w = self.cx + other.cx, self.cy + other.cy, self.w + other.w
        if self.look is not None and other.look is not None:
            self.look = self.look + other.look


def group_tracks(tracks: dict[int, TrackStats], names) -> dict[int, str]:
    """Each track's participant among ``names`` (one group each, named left to right by
    where the faces were); tracks of groups beyond ``len(names)`` are left out."""
    groups = [_Group(tid, stats) for tid, stats in sorted(tracks.items())]
    while len(groups) > len(names):
        best = None
        for i, a in enumerate(groups):
            for j in range(i + 1, len(groups)):
                b = groups[j]
                if a.overlaps(b):
                    continue
                d = a.distance(b)
                if best is None or d < best[0]:
                    best = (d, i, j)
        if best is None:
            break
        _, i, j = best
        groups[i].join(groups.pop(j))
    kept = sorted(groups, key=lambda g: -g.frames)[: len(names)]
    kept.sort(key=lambda g: g.cx / max(g.frames, 1))
    return {tid: name for group, name in zip(kept, names) for tid in group.ids}
