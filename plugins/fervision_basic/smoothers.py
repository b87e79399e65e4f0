"""Temporal smoothing of per-face emotion probabilities, one state per track."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fervision.options import require_between, require_non_negative
from fervision.types import Face, Frame, SourceInfo


def _set_label(face: Face, labels, index: int) -> None:
    face.label = labels[index] if index < len(labels) else str(index)
    face.confidence = float(face.smoothed[index])


#: The calm label a face returns to when its expression fades (when the model has it).
CALM = "neutral"


def _calm_index(labels) -> int | None:
    labels = list(labels or ())
    return labels.index(CALM) if CALM in labels else None


class PassThroughSmoother:
    """No smoothing: the label is the classifier's top class of this frame."""

    def update(self, frame: Frame) -> None:
        for face in frame.faces:
            if face.probs is not None:
                face.smoothed = face.probs
                _set_label(face, frame.labels, int(np.argmax(face.probs)))

    def forget(self, track_ids) -> None:
        pass


#: Durations are compared this much short of their settings: 3 frames at 30 fps are 0.1 s
#: whatever the rounding of the timestamps (the same footage later in a file, or elsewhere).
EPSILON_S = 1e-6


@dataclass
class _EmaState:
    probs: np.ndarray
    timestamp: float
    label: int
    since: float  # when the label was entered
    start: float  # when the track was first seen
    pending: int | None = None
    pending_since: float = 0.0


class EmaSmoother:
    """Exponential moving average of probabilities per track, with a calm label.

    ``tau`` is the averaging time constant in seconds (the same smoothing at any frame
    rate). The shown label changes only on sustained evidence: another class must lead
    it by ``margin`` (a higher bar to enter a label than to stay in it; none once the
    shown label's average is below chance, one over the number of classes: the face then
    returns to ``neutral``, when the model has it, unless another class leads neutral by
    ``margin``) for ``hold`` seconds, and a label stays at least ``dwell`` seconds unless
    the newcomer leads by ``urgent`` (a clear change, such as a sudden surprise, shows at
    once). In video, a new track's label is its average's top class, with no hysteresis,
    for its first ``settle`` seconds while the average gathers evidence (a single image, or
    images at under 5 frames/s, skip this). The raw probabilities stay on each face
    (``probs``) for the CSV.
    The defaults were chosen by ``benchmarks/smoother_tuning.py --hashes 6`` on the
    labelled real clips: the most clips right and calm, averaged over six ways of picking
    the classified frames (not tuned to the one that ships).

    Args:
        tau: averaging time constant in seconds.
        margin: how far another class must lead the shown label to replace it.
        hold: seconds another class must lead before the label changes.
        dwell: least seconds a label stays shown (unless another class leads by ``urgent``).
        urgent: a lead that replaces the label before ``dwell`` has passed.
        settle: seconds a new track's label in video follows its average freely.
        confidence: least averaged probability another class needs to replace the shown
            label (weak evidence, however far it leads, holds the label).
    """

    def __init__(
        self,
        tau: float = 0.25,
        margin: float = 0.175,
        hold: float = 0.1,
        dwell: float = 0.5,
        urgent: float = 0.5,
        settle: float = 0.3,
        confidence: float = 0.0,
    ):
        self.tau = float(tau)
        self.margin = float(margin)
        self.hold = float(hold)
        self.dwell = float(dwell)
        self.urgent = float(urgent)
        self.settle = float(settle)
        self.confidence = float(confidence)
        require_non_negative(
            "smoother",
            tau=self.tau,
            margin=self.margin,
            hold=self.hold,
            dwell=self.dwell,
            urgent=self.urgent,
            settle=self.settle,
        )
        require_between("smoother", 0, 1, confidence=self.confidence)
        self._settle = self.settle
        self.states: dict[int, _EmaState] = {}
        self._fallback = PassThroughSmoother()

    def open(self, info: SourceInfo | None = None) -> None:
        """Start a run with no track's history; settle new tracks only in video (not in a
        photo or a slow slide show)."""
        self.states.clear()
        self._settle = 0.0 if info is not None and info.stills else self.settle

    def update(self, frame: Frame) -> None:
        calm = _calm_index(frame.labels)
        for face in frame.faces:
            if face.probs is None:
                continue
            if face.track_id is None:  # nothing to follow: pass through
                self._fallback.update(
                    Frame(
                        frame.image, frame.index, frame.timestamp, faces=[face], labels=frame.labels
                    )
                )
                continue
            self._update_face(face, frame.timestamp, frame.labels, calm)

    def _update_face(self, face: Face, now: float, labels, calm: int | None) -> None:
        probs = np.asarray(face.probs, dtype=np.float32)
        state = self.states.get(face.track_id)
        if state is None:
            state = _EmaState(probs.copy(), now, int(probs.argmax()), now, now)
            self.states[face.track_id] = state
        else:
            dt = max(now - state.timestamp, 0.0)
            alpha = 1.0 - math.exp(-dt / self.tau) if self.tau > 0 else 1.0
            state.probs = (1 - alpha) * state.probs + alpha * probs
            state.timestamp = now
            self._maybe_switch(state, now, calm)
        face.smoothed = state.probs.copy()
        if now - state.start < self._settle - EPSILON_S:  # follow the average meanwhile
            state.label, state.since = int(state.probs.argmax()), now
        _set_label(face, labels, state.label)

    def _maybe_switch(self, state: _EmaState, now: float, calm: int | None = None) -> None:
        leader = int(state.probs.argmax())
        lead = state.probs[leader] - state.probs[state.label]
        weak = state.probs[leader] < self.confidence
        # a label whose average fell below chance is not held by the margin
        fallen = state.probs[state.label] < 1 / len(state.probs)
        if (
            fallen
            and calm is not None
            and leader not in (calm, state.label)
            and state.probs[leader] - state.probs[calm] < self.margin
        ):  # leaving an expression: back to calm unless another one clearly leads it
            leader, lead = calm, state.probs[calm] - state.probs[state.label]
        if leader == state.label or (lead < self.margin and not fallen) or weak:
            state.pending = None
            return
        if state.pending != leader:
            state.pending, state.pending_since = leader, now
        dwelt = now - state.since >= self.dwell - EPSILON_S or lead >= self.urgent
        if now - state.pending_since >= self.hold - EPSILON_S and dwelt:
            state.label, state.pending, state.since = leader, None, now

    def forget(self, track_ids) -> None:
        for track_id in track_ids:
            self.states.pop(track_id, None)


@dataclass
class _VoteState:
    votes: deque = field(default_factory=deque)
    probs: deque = field(default_factory=deque)


class VoteSmoother:
    """Majority vote of the top class over the last ``window`` frames of each track.

    Args:
        window: how many recent frames of a track vote.
    """

    def __init__(self, window: int = 9):
        self.window = int(window)
        require_between("smoother", 1, math.inf, window=self.window)
        self.states: dict[int, _VoteState] = {}
        self._fallback = PassThroughSmoother()

    def open(self, info: SourceInfo | None = None) -> None:
        """Start a run with no track's history."""
        self.states.clear()

    def update(self, frame: Frame) -> None:
        for face in frame.faces:
            if face.probs is None:
                continue
            if face.track_id is None:
                self._fallback.update(
                    Frame(
                        frame.image, frame.index, frame.timestamp, faces=[face], labels=frame.labels
                    )
                )
                continue
            state = self.states.setdefault(face.track_id, _VoteState())
            state.votes.append(int(np.argmax(face.probs)))
            state.probs.append(np.asarray(face.probs, dtype=np.float32))
            if len(state.votes) > self.window:
                state.votes.popleft()
                state.probs.popleft()
            counts = np.bincount(state.votes, minlength=len(face.probs))
            # Ties go to the most recent of the tied classes.
            tied = set(np.flatnonzero(counts == counts.max()))
            winner = next(v for v in reversed(state.votes) if v in tied)
            face.smoothed = np.mean(state.probs, axis=0)
            _set_label(face, frame.labels, winner)

    def forget(self, track_ids) -> None:
        for track_id in track_ids:
            self.states.pop(track_id, None)
