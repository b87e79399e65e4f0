"""matplotlib's photo of Grace Hopper: a real face that needs no download or shared data.

The ``sample`` source animates it; :mod:`fervision.testing` runs stages on it.
"""

from __future__ import annotations

from pathlib import Path

from .errors import FervisionError

# Where the face is in grace_hopper.jpg (512x600): centre and width in pixels.
FACE_CENTER = (265.0, 215.0)
FACE_WIDTH = 231.0


def sample_image_path() -> Path:
    """Path of ``grace_hopper.jpg`` in matplotlib's sample data."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        try:
            from matplotlib import cbook

            path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        except Exception:
            pass
    if not path.is_file():
        raise FervisionError("the sample needs matplotlib's grace_hopper.jpg, which is missing")
    return path
