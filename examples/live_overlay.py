"""A live webcam overlay: boxes, emotions with confidence, per-class bars and FPS.

Space pauses and resumes, q or Esc quits (the window's close button too).

    python examples/live_overlay.py [CAMERA_INDEX]
"""

import sys

from fervision import Pipeline

camera = sys.argv[1] if len(sys.argv) > 1 else "0"
pipeline = Pipeline(f"webcam:{camera}", annotator="overlay", sinks=["display"])
print(pipeline.run().describe())
