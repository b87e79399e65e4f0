"""The CSV's ``participant`` column: named live by place or track id, or, for ``auto:N``,
filled in after the run from each track's place and look (the file rewritten row by row)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fervision import csvsafe
from fervision.participants import Participants, TrackStats, group_tracks

#: Auto grouping samples a track's look on every Nth frame it is in.
LOOK_EVERY = 5
BINS = 4  # per colour channel: a 64-bin histogram


def look(image: np.ndarray, box) -> np.ndarray | None:
    """A coarse colour histogram of the middle of a face box (None when it is empty)."""
    x, y, w, h = box
    x0, y0 = max(0, int(x + w / 4)), max(0, int(y + h / 4))
    crop = image[y0 : max(y0, int(y + 3 * h / 4)), x0 : max(x0, int(x + 3 * w / 4))]
    if crop.size == 0:
        return None
    step = max(1, min(crop.shape[:2]) // 16)
    pixels = crop[::step, ::step].reshape(-1, 3).astype(np.int64) * BINS // 256
    codes = (pixels[:, 0] * BINS + pixels[:, 1]) * BINS + pixels[:, 2]
    return np.bincount(codes, minlength=BINS**3).astype(np.float64)


class ParticipantColumn:
    """Names faces as they are written (place, ids) or collects tracks to name at the end."""

    def __init__(self, participants: Participants):
        self.participants = participants
        self.tracks: dict[int, TrackStats] = {}

    def name(self, frame, face) -> str:
        """The participant of ``face`` in ``frame`` ("" for auto: named when the run ends)."""
        if not self.participants.live:
            self._collect(frame, face)
            return ""
        return self.participants.name(face.track_id, face.box, frame.width, frame.height)

    def _collect(self, frame, face) -> None:
        if face.track_id is None:
            return
        stats = self.tracks.get(face.track_id)
        if stats is None:
            stats = self.tracks[face.track_id] = TrackStats(frame.index, frame.index)
        sample = stats.frames % LOOK_EVERY == 0 and frame.image is not None
        stats.add(frame.index, face.box, look(frame.image, face.box) if sample else None)

    def finish(self, path: Path) -> None:
        """For auto: write each track's participant into the finished CSV at ``path``."""
        if self.participants.live or not self.tracks:
            return
        fill_participants(path, group_tracks(self.tracks, self.participants.names))


def fill_participants(path: Path, names: dict[int, str]) -> None:
    """Rewrite the CSV at ``path`` with ``participant`` set from ``names`` (face id: name),
    row by row into a file beside it that then replaces it."""
    tmp = path.with_name(f".{path.name}.participants.partial")
    try:
        with (
            open(path, newline="", encoding="utf-8") as src,
            open(tmp, "w", newline="", encoding="utf-8") as dst,
        ):
            reader, writer = csvsafe.reader(src), csvsafe.writer(dst)
            header = next(reader)
            writer.writerow(header)
            fid, who = header.index("face_id"), header.index("participant")
            for row in reader:
                if len(row) > who and row[fid] != "":
                    row[who] = names.get(int(row[fid]), "")
                writer.writerow(row)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
