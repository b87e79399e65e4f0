"""An app that owns its capture loop: push each image, get its faces back at once.

python examples/push_frames.py VIDEO [CSV]

The loop reads with OpenCV, as an app reading its own camera would; the Analyzer keeps
the tracker and smoother between calls, so each face keeps its id. With CSV, the
frames are also written there, as ``fervision run --csv`` writes them.
"""

import sys
import time

import cv2

from fervision import Analyzer, FervisionError


def main(video: str, csv: str | None = None) -> None:
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise FervisionError(f"cannot read {video}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    sinks = [f"csv:{csv}"] if csv else None
    shown: dict[int, str] = {}  # the label last shown per face: print only changes
    try:
        with Analyzer(sinks=sinks, fps=fps) as analyzer:
            while True:
                ok, image = capture.read()  # the app's own frame (BGR), from wherever
                if not ok:
                    break
                # a file's frames carry their own time; a camera app leaves timestamp out
                # (then it is the clock: seconds since the first image)
                at = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
                started = time.perf_counter()
                faces = analyzer.process(image, timestamp=at)
                took = (time.perf_counter() - started) * 1000
                for face in faces:
                    if face.track_id is None or face.label in (None, shown.get(face.track_id)):
                        continue
                    shown[face.track_id] = face.label
                    print(
                        f"face #{face.track_id} at {face.box}: {face.label} "
                        f"{face.confidence:.0%} ({took:.0f} ms)"
                    )
    finally:
        capture.release()
    print(analyzer.summary.describe())  # closed: its time and speed are final


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: " + __doc__.splitlines()[2])
    try:
        main(*sys.argv[1:3])
    except FervisionError as exc:  # a bad CSV path, a plugin's failure: one line
        sys.exit(f"error: {exc}")
