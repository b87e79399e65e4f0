"""Small image helpers shared by stages (OpenCV is imported when one is called)."""

from __future__ import annotations

import numpy as np


def downscaled(image: np.ndarray, longest: int | None) -> tuple[np.ndarray, float]:
    """``image`` shrunk so its longer side is at most ``longest`` pixels, and the scale used."""
    height, width = image.shape[:2]
    if not longest or max(height, width) <= longest:
        return image, 1.0
    import cv2

    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale
