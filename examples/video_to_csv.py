"""Log the emotions in a video file to CSV and print the run's summary.

python examples/video_to_csv.py interview.mp4 emotions.csv
"""

import sys

from fervision import Pipeline

source = sys.argv[1] if len(sys.argv) > 1 else "sample"
csv_path = sys.argv[2] if len(sys.argv) > 2 else "emotions.csv"

pipeline = Pipeline(source, sinks=[f"csv:{csv_path}"])
summary = pipeline.run()
print(summary.describe())
