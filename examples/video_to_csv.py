"""Log the emotions in a video file to CSV and print the run's summary.

python examples/video_to_csv.py interview.mp4 emotions.csv
"""

import sys

from fervision import FervisionError, Pipeline

source = sys.argv[1] if len(sys.argv) > 1 else "sample"
csv_path = sys.argv[2] if len(sys.argv) > 2 else "emotions.csv"

try:
    summary = Pipeline(source, sinks=[f"csv:{csv_path}"]).run()
except FervisionError as exc:  # a missing file, a bad path: one line, not a traceback
    sys.exit(f"error: {exc}")
print(summary.describe())
