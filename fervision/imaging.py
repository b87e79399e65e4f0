"""Small image and box helpers shared by stages (OpenCV is imported when one is called)."""

from __future__ import annotations

import numpy as np

#: Still-image suffixes OpenCV decodes (the ``image`` and ``folder`` sources read these).
IMAGE_SUFFIXES = frozenset(
    (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp")
    + (".pgm", ".ppm", ".pbm", ".pnm", ".jp2", ".avif", ".exr", ".hdr")
)


def box_intersection(a, b):
    """The area two ``(x, y, w, h)`` boxes share."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih


def box_iou(a, b) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    inter = box_intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if inter > 0 and union > 0 else 0.0


def downscaled(image: np.ndarray, longest: int | None) -> tuple[np.ndarray, float]:
    """``image`` shrunk so its longer side is at most ``longest`` pixels, and the scale used."""
    height, width = image.shape[:2]
    if not longest or max(height, width) <= longest:
        return image, 1.0
    import cv2

    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale
