"""A constant-velocity Kalman filter for one box, in the form SORT and ByteTrack use.

State: centre x, centre y, aspect ratio w/h, height, and their velocities. Noise is
scaled by the box height, so a small far face and a large near one move alike.
"""

from __future__ import annotations

import numpy as np

_POSITION_NOISE = 1 / 20
_VELOCITY_NOISE = 1 / 160
_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_H = np.eye(4, 8)


def xywh_to_xyah(box) -> np.ndarray:
    x, y, w, h = (float(v) for v in box)
    return np.array([x + w / 2, y + h / 2, w / max(h, 1e-6), h])


def xyah_to_xywh(xyah) -> np.ndarray:
    cx, cy, a, h = xyah[:4]
    w = a * h
    return np.array([cx - w / 2, cy - h / 2, w, h])


class BoxKalman:
    """Predicts where a box will be and corrects the guess with each measurement."""

    def __init__(self, box):
        measurement = xywh_to_xyah(box)
        h = measurement[3]
        self.mean = np.concatenate([measurement, np.zeros(4)])
        std = [2 * _POSITION_NOISE * h] * 2 + [1e-2, 2 * _POSITION_NOISE * h]
        std += [10 * _VELOCITY_NOISE * h] * 2 + [1e-5, 10 * _VELOCITY_NOISE * h]
        self.covariance = np.diag(np.square(std))

    def predict(self) -> None:
        """Advance one frame."""
        h = self.mean[3]
        std = [_POSITION_NOISE * h] * 2 + [1e-2, _POSITION_NOISE * h]
        std += [_VELOCITY_NOISE * h] * 2 + [1e-5, _VELOCITY_NOISE * h]
        self.mean = _F @ self.mean
        self.covariance = _F @ self.covariance @ _F.T + np.diag(np.square(std))

    def update(self, box) -> None:
        """Correct the state with a measured box (x, y, w, h)."""
        h = self.mean[3]
        std = [_POSITION_NOISE * h] * 2 + [1e-1, _POSITION_NOISE * h]
        projected = _H @ self.covariance @ _H.T + np.diag(np.square(std))
        gain = np.linalg.solve(projected, _H @ self.covariance).T
        self.mean = self.mean + gain @ (xywh_to_xyah(box) - _H @ self.mean)
        self.covariance = self.covariance - gain @ projected @ gain.T

    @property
    def box(self) -> np.ndarray:
        """The current estimate as x, y, w, h."""
        return xyah_to_xywh(self.mean)
