"""A live webcam overlay: boxes, emotions with confidence, per-class bars and FPS.

The bar below the picture has Stop/Start (s: releases the camera and opens it again),
Pause/Resume (space), Snapshot (c: a PNG in the current folder) and Exit (q or Esc, or the
window's close button); click them or press their keys.

    python examples/live_overlay.py [CAMERA_INDEX]
"""

import sys

from fervision import FervisionError, Pipeline

camera = sys.argv[1] if len(sys.argv) > 1 else "0"
try:
    pipeline = Pipeline(
        f"webcam:{camera}",
        annotator="overlay",
        sinks=["display"],
        options={"annotator": {"bars": True}},
    )
    print(pipeline.run().describe())
except FervisionError as exc:  # no camera, no display: one line, not a traceback
    sys.exit(f"live_overlay: {exc}")
