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


class _Groups:
    """The tracks as groups, in arrays: group k starts as the k-th track (by id) and a join
    keeps the lower index; ``members`` holds each group's tracks in time order."""

    def __init__(self, stats: list[TrackStats]):
        n = len(stats)
        self.first = np.array([s.first for s in stats], dtype=np.int64)
        self.last = np.array([s.last for s in stats], dtype=np.int64)
        self.label = np.arange(n)  # each track's group
        self.members = [np.array([k]) for k in range(n)]
        self.alive = np.ones(n, dtype=bool)
        self.frames = np.array([s.frames for s in stats], dtype=np.int64)
        self.sums = np.array([(s.cx, s.cy, s.w) for s in stats], dtype=np.float64).reshape(n, 3)
        self.has_look = np.array([s.look is not None for s in stats], dtype=bool)
        size = max((len(s.look) for s in stats if s.look is not None), default=0)
        self.look = np.zeros((n, size))
        for k in np.flatnonzero(self.has_look):
            self.look[k] = stats[k].look
        self.shares = np.zeros_like(self.look)
        for k in range(n):
            self._normalise(k)

    def _normalise(self, k: int) -> None:
        self.shares[k] = self.look[k] / max(self.look[k].sum(), 1e-9)

    def overlapping(self, k: int) -> np.ndarray:
        """Whether each group is seen in a frame that group ``k`` is seen in (its tracks'
        spans are apart and in time order, so one search a track finds it)."""
        spans = self.members[k]
        starts, ends = self.first[spans], self.last[spans]
        at = np.searchsorted(starts, self.last, side="right") - 1
        hit = (at >= 0) & (ends[np.maximum(at, 0)] >= self.first)
        out = np.zeros(len(self.alive), dtype=bool)
        out[self.label[hit]] = True
        return out

    def distances(self, k: int) -> np.ndarray:
        """Group ``k``'s distance to each group: place (face centres apart, in face widths)
        plus appearance when both looks are known; inf for itself, gone or overlapping."""
        n = np.maximum(self.frames, 1)
        cx, cy, w = (self.sums / n[:, None]).T
        width = (w[k] + w) / 2
        width[width == 0] = 1.0
        place = np.hypot(cx[k] - cx, cy[k] - cy) / width
        similar = np.minimum(self.shares[k], self.shares).sum(axis=1)
        both = self.has_look[k] & self.has_look
        d = np.where(both, place + APPEARANCE_WEIGHT * (1.0 - similar), place)
        d[~self.alive | self.overlapping(k)] = np.inf
        return d

    def join(self, i: int, j: int) -> None:
        """Group ``j`` joins group ``i``."""
        spans = np.concatenate([self.members[i], self.members[j]])
        self.members[i] = spans[np.argsort(self.first[spans], kind="stable")]
        self.label[self.members[j]] = i
        self.alive[j] = False
        self.frames[i] += self.frames[j]
        self.sums[i] += self.sums[j]
        if self.has_look[i] and self.has_look[j]:
            self.look[i] += self.look[j]
            self._normalise(i)


def group_tracks(tracks: dict[int, TrackStats], names) -> dict[int, str]:
    """Each track's participant among ``names`` (one group each, named left to right by
    where the faces were); tracks of groups beyond ``len(names)`` are left out.

    The closest pair is found from each group's nearest later group (ties: the lower
    indices), kept up to date as groups join, so a join costs a few rows, not all pairs."""
    ids = sorted(tracks)
    groups = _Groups([tracks[t] for t in ids])
    n = len(ids)
    best = np.full(n, np.inf)  # each group's distance to its nearest later group
    nearest = np.zeros(n, dtype=np.int64)

    def refresh(k: int) -> None:
        d = groups.distances(k)
        d[: k + 1] = np.inf
        nearest[k] = np.argmin(d)
        best[k] = d[nearest[k]]

    for k in range(n):
        refresh(k)
    left = n
    while left > len(names):
        i = int(np.argmin(best))
        if best[i] == np.inf:
            break
        j = int(nearest[i])
        groups.join(i, j)
        best[j], left = np.inf, left - 1
        d = groups.distances(i)
        stale = groups.alive & ((nearest == i) | (nearest == j))
        stale[i] = True
        closer = (d < best) | ((d == best) & (i < nearest))
        closer &= groups.alive & ~stale & (np.arange(n) < i)
        best[closer], nearest[closer] = d[closer], i
        for k in np.flatnonzero(stale):
            refresh(int(k))
    kept = sorted(np.flatnonzero(groups.alive).tolist(), key=lambda k: -groups.frames[k])
    kept = sorted(kept[: len(names)], key=lambda k: groups.sums[k, 0] / max(groups.frames[k], 1))
    return {ids[t]: name for k, name in zip(kept, names) for t in groups.members[k].tolist()}
