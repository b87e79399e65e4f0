"""Flat, dim faces (a dark room, a face against a bright window) and their equalized form.

FER2013 faces are well lit: 3% of them have a grey-level spread (standard deviation)
under 30, where the dim talking head of benchmarks/real_videos.py has 20 to 23. The
classifier averages a flat face's prediction with that of its histogram-equalized copy,
a second view like the mirror image. On that clip's labelled frames the raw label was
right 0.24 of the time alone and 0.78 averaged (benchmarks/face_crops.py); the FER2013
test split scores 0.701 either way, and 0.691 if every face were averaged so.
"""

from __future__ import annotations

import numpy as np

#: Faces whose grey levels spread less than this (standard deviation, 0-255) are flat.
DEFAULT_EQUALIZE_BELOW = 30.0


def flat_faces(crops: np.ndarray, below: float) -> np.ndarray:
    """Indices of the uint8 crops (N, size, size, channels) with a grey-level spread under
    ``below``; none when ``below`` is 0 or the crops are not uint8."""
    if not below or not len(crops) or crops.dtype != np.uint8:
        return np.zeros(0, np.intp)
    grey = crops.reshape(len(crops), -1, crops.shape[-1]).mean(-1, dtype=np.float32)
    return np.flatnonzero(grey.std(1) < below)


def equalized(crops: np.ndarray) -> np.ndarray:
    """Histogram-equalized copies of uint8 crops: grey ones directly, RGB ones on their luma."""
    import cv2

    out = np.empty_like(crops)
    for i, crop in enumerate(crops):
        if crop.shape[-1] == 1:
            out[i, ..., 0] = cv2.equalizeHist(np.ascontiguousarray(crop[..., 0]))
        else:
            ycc = cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb)
            ycc[..., 0] = cv2.equalizeHist(ycc[..., 0])
            out[i] = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    return out
