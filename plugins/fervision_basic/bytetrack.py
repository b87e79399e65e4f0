"""ByteTrack-style face tracking: Kalman-predicted boxes, confident faces first, then weak ones.

After Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection
Box" (ECCV 2022), written here on numpy and scipy's Hungarian assignment.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from fervision.options import require_between, require_non_negative
from fervision.scene import SceneCutDetector
from fervision.types import Frame, SourceInfo

from .kalman import BoxKalman
from .tracker import iou_matrix


@dataclass(eq=False)
class _Track:
    kalman: BoxKalman
    last_seen: int  # frame index of the last matched detection
    at: int  # frame index the Kalman state refers to
    hits: int = 1  # consecutive matched frames while tentative
    track_id: int | None = None  # given once confirmed, never reused
    pending: list = field(default_factory=list)  # its faces while tentative (held frames')


class ByteTracker:
    """Stable face ids: one per person through motion, brief occlusion and missed detections.

    Each frame, tracks (boxes moved by a Kalman filter) are matched to faces scoring at
    least ``high_score`` by IoU (at least ``min_iou``, Hungarian assignment); tracks
    seen in the previous frame that are still unmatched then take weaker faces that
    overlap them by ``low_iou``. Weak faces that match no track are dropped. A new
    track gets an id only after ``min_hits`` consecutive frames (at once on the first
    frame), so one-frame false faces use no ids; a track that misses detections keeps
    its id for ``buffer`` seconds. A scene cut ends every track. Faces of tracks not yet
    confirmed stay in the frame with ``track_id`` None; over recorded video,
    :meth:`track_stream` holds ``min_hits - 1`` frames back and gives a confirmed track's
    id to its faces from its first frame. Photos (one image, or images at under 5 a second)
    are each a scene of their own: every face gets a new id at once.

    Args:
        high_score: least detector score of a face in the first, confident matching.
        min_iou: least overlap of a confident face with a track's predicted box.
        low_iou: least overlap of a weak face with a track that the first matching missed.
        min_hits: frames running a new face must be seen before it gets an id.
        buffer: seconds a track keeps its id through missed detections.
        cut_threshold: colour-histogram jump that counts as a scene cut (ending every track).
    """

    def __init__(
        self,
        high_score: float = 0.6,
        min_iou: float = 0.2,
        low_iou: float = 0.5,
        min_hits: int = 3,
        buffer: float = 1.0,
        cut_threshold: float = 0.3,
    ):
        self.high_score = float(high_score)
        self.min_iou = float(min_iou)
        self.low_iou = float(low_iou)
        self.min_hits = int(min_hits)
        self.buffer = float(buffer)
        require_between(
            "tracker", 0, 1, high_score=self.high_score, min_iou=self.min_iou, low_iou=self.low_iou
        )
        require_between("tracker", 1, math.inf, min_hits=self.min_hits)
        require_between("tracker", 0, 2, cut_threshold=float(cut_threshold))
        require_non_negative("tracker", buffer=self.buffer)
        self.cut_threshold = float(cut_threshold)
        self.open()

    def open(self, info: SourceInfo | None = None) -> None:
        """Start a run afresh (no tracks, ids from 1), the lost-track buffer scaled by the
        source's frame rate (rounded up)."""
        fps = info.fps if info is not None and info.fps and info.fps > 0 else 30.0
        self.buffer_frames = math.ceil(self.buffer * fps)
        self._stills = info is not None and info.stills
        self.is_scene_cut = SceneCutDetector(self.cut_threshold)
        self.tracks: list[_Track] = []
        self.ended: list[int] = []
        self._next_id = 1
        self._last_index: int | None = None
        self._holding = False  # track_stream: a confirmed track's id reaches its held faces

    def track_stream(self, frames):
        """Track recorded ``frames``, yielding each ``min_hits - 1`` frames later, when a
        track confirmed since has given its id to the faces it had there (``ended``: as of
        the frame yielded)."""
        held: deque = deque()
        self._holding = True
        try:
            for frame in frames:
                self.update(frame)
                held.append((frame, self.ended))
                if len(held) >= self.min_hits:
                    frame, self.ended = held.popleft()
                    yield frame
        except (Exception, KeyboardInterrupt):  # the source failed: tracked frames go on first
            while held:
                frame, self.ended = held.popleft()
                yield frame
            raise
        finally:
            self._holding = False
        while held:
            frame, self.ended = held.popleft()
            yield frame

    def update(self, frame: Frame) -> None:
        """Set ``track_id`` on the faces of ``frame``, dropping weak unmatched ones."""
        self.ended = []
        first = self._last_index is None or self._stills
        if self.is_scene_cut(frame.image) or self._stills:
            self._end(list(self.tracks))
        previous = self._last_index
        for track in self.tracks:
            for _ in range(min(frame.index - track.at, self.buffer_frames + 1)):
                track.kalman.predict()
            track.at = frame.index
        faces = frame.faces
        strong = [i for i, face in enumerate(faces) if face.score >= self.high_score]
        weak = [i for i, face in enumerate(faces) if face.score < self.high_score]
        confirmed = [t for t in self.tracks if t.track_id is not None]
        tentative = [t for t in self.tracks if t.track_id is None]

        matches, left_tracks, strong = self._associate(confirmed, faces, strong, self.min_iou)
        recent = [t for t in left_tracks if t.last_seen == previous]
        matches += self._associate(recent, faces, weak, self.low_iou)[0]
        more, unmatched_tentative, strong = self._associate(tentative, faces, strong, 0.3)
        matches += more

        kept = []
        for track, i in matches:
            track.kalman.update(faces[i].box)
            if track.track_id is None:
                track.hits = track.hits + 1 if track.last_seen == previous else 1
                track.pending = (track.pending if track.hits > 1 else []) + [faces[i]]
            track.last_seen = frame.index
            self._confirm_if_due(track, first)
            faces[i].track_id = track.track_id
            kept.append(i)
        self.tracks = [t for t in self.tracks if t not in unmatched_tentative]
        for i in strong:
            track = _Track(BoxKalman(faces[i].box), frame.index, frame.index)
            track.pending.append(faces[i])
            self._confirm_if_due(track, first)
            faces[i].track_id = track.track_id
            self.tracks.append(track)
            kept.append(i)
        self._end([t for t in self.tracks if frame.index - t.last_seen > self.buffer_frames])
        frame.faces = [faces[i] for i in sorted(kept)]
        self._last_index = frame.index

    def _confirm_if_due(self, track: _Track, first: bool) -> None:
        if track.track_id is None and (first or track.hits >= self.min_hits):
            track.track_id = self._next_id
            self._next_id += 1
            for face in track.pending if self._holding else ():  # frames not yet passed on
                face.track_id = track.track_id
        if track.track_id is not None:
            track.pending = []

    def _associate(self, tracks, faces, candidates, min_iou):
        """Hungarian matching on IoU: (track, face index) pairs, unmatched tracks and faces."""
        if not tracks or not candidates:
            return [], list(tracks), list(candidates)
        predicted = np.array([t.kalman.box for t in tracks])
        boxes = np.array([faces[i].box for i in candidates], dtype=np.float64)
        ious = iou_matrix(predicted, boxes)
        rows, cols = linear_sum_assignment(-ious)
        pairs = [(r, c) for r, c in zip(rows, cols) if ious[r, c] >= min_iou]
        used_rows, used_cols = {r for r, _ in pairs}, {c for _, c in pairs}
        matches = [(tracks[r], candidates[c]) for r, c in pairs]
        left_tracks = [t for r, t in enumerate(tracks) if r not in used_rows]
        left_faces = [i for c, i in enumerate(candidates) if c not in used_cols]
        return matches, left_tracks, left_faces

    def _end(self, tracks) -> None:
        self.ended += [t.track_id for t in tracks if t.track_id is not None]
        self.tracks = [t for t in self.tracks if t not in tracks]
