"""Face track ids across frames: IoU matching with motion, gaps and scene cuts; or none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fervision.options import require_between, require_non_negative
from fervision.scene import SceneCutDetector
from fervision.types import Frame


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes given as (N, 4) and (M, 4) arrays of x, y, w, h."""
    ax0, ay0, ax1, ay1 = a[:, 0], a[:, 1], a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1) - np.maximum(ax0[:, None], bx0), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1) - np.maximum(ay0[:, None], by0), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return inter / np.maximum(union, 1e-9)


@dataclass
class Track:
    track_id: int
    box: np.ndarray  # x, y, w, h (float)
    velocity: np.ndarray  # per-frame motion of x, y, w, h
    last_seen: int

    def predicted(self, frame_index: int) -> np.ndarray:
        gap = frame_index - self.last_seen
        return self.box + self.velocity * gap


class NoTracker:
    """No tracking: every face keeps ``track_id`` None (smoothers then pass labels through)."""

    ended: tuple[int, ...] = ()

    def update(self, frame: Frame) -> None:
        """Leave the faces of ``frame`` as they are."""


class IouTracker:
    """Greedy IoU tracker with constant-velocity prediction.

    A track survives ``max_age`` frames without a detection; a scene cut (the frame's
    colour histogram jumps by more than ``cut_threshold``) ends every track.

    Args:
        min_iou: least overlap of a face with a track's predicted box to continue it.
        max_age: frames a track survives without a detection.
        cut_threshold: colour-histogram jump that counts as a scene cut.
    """

    def __init__(self, min_iou: float = 0.2, max_age: int = 15, cut_threshold: float = 0.5):
        self.min_iou = float(min_iou)
        self.max_age = int(max_age)
        require_between("tracker", 0, 1, min_iou=self.min_iou)
        require_between("tracker", 0, 2, cut_threshold=float(cut_threshold))
        require_non_negative("tracker", max_age=self.max_age)
        self.cut_threshold = float(cut_threshold)
        self.open()

    def open(self, info=None) -> None:
        """Start a run afresh: no tracks, ids from 1."""
        self.is_scene_cut = SceneCutDetector(self.cut_threshold)
        self.tracks: list[Track] = []
        self.ended: list[int] = []
        self._next_id = 1

    def update(self, frame: Frame) -> None:
        """Set ``track_id`` on every face of ``frame``; ids that ended go to ``self.ended``."""
        self.ended = []
        if self.is_scene_cut(frame.image):
            self.ended = [t.track_id for t in self.tracks]
            self.tracks = []
        boxes = np.array([f.box for f in frame.faces], dtype=np.float64).reshape(-1, 4)
        matched_tracks: set[int] = set()
        matched_faces: set[int] = set()
        if self.tracks and len(boxes):
            predicted = np.array([t.predicted(frame.index) for t in self.tracks])
            ious = iou_matrix(predicted, boxes)
            for ti, fi in zip(*np.unravel_index(np.argsort(-ious, axis=None), ious.shape)):
                if ious[ti, fi] < self.min_iou:
                    break
                if ti in matched_tracks or fi in matched_faces:
                    continue
                matched_tracks.add(ti)
                matched_faces.add(fi)
                self._follow(self.tracks[ti], boxes[fi], frame.index)
                frame.faces[fi].track_id = self.tracks[ti].track_id
        for fi, face in enumerate(frame.faces):
            if fi not in matched_faces:
                track = Track(self._next_id, boxes[fi], np.zeros(4), frame.index)
                self._next_id += 1
                self.tracks.append(track)
                face.track_id = track.track_id
        alive = []
        for track in self.tracks:
            if frame.index - track.last_seen > self.max_age:
                self.ended.append(track.track_id)
            else:
                alive.append(track)
        self.tracks = alive

    @staticmethod
    def _follow(track: Track, box: np.ndarray, frame_index: int) -> None:
        gap = max(frame_index - track.last_seen, 1)
        motion = (box - track.box) / gap
        track.velocity = 0.5 * track.velocity + 0.5 * motion
        track.box = box
        track.last_seen = frame_index
