"""Iterate a pipeline frame by frame and use the results in your own code.

python examples/iterate_frames.py [SOURCE]
"""

import sys

from fervision import FervisionError, Pipeline

source = sys.argv[1] if len(sys.argv) > 1 else "sample"
try:
    for frame in Pipeline(source).frames(max_frames=60):
        for face in frame.faces:
            if face.label is None:  # only without a classifier or smoother
                continue
            print(
                f"frame {frame.index:4d} t={frame.timestamp:6.2f}s face #{face.track_id}: "
                f"{face.label} {face.confidence:.0%}"
            )
except FervisionError as exc:  # a missing file, a bad path: one line, not a traceback
    sys.exit(f"error: {exc}")
