"""Frames per second of decoding a clip alone and decoding + MediaPipe face detection.

    python benchmarks/mediapipe_detect.py [CLIP] [--detector mediapipe:full] [--repeat 5]

Decodes with cv2.VideoCapture on the main thread, detects with the registered
``mediapipe`` detector, and prints the best and median of the repeats (the machine may
be shared, so the best run is the fairest estimate of what the code costs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2

from fervision import Frame, get_registry

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def run_once(clip: str, detector) -> tuple[int, float, int]:
    capture = cv2.VideoCapture(clip)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = faces = 0
    start = time.perf_counter()
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if detector is not None:
            faces += len(detector.detect(Frame(image, frames, frames / fps)))
        frames += 1
    seconds = time.perf_counter() - start
    capture.release()
    return frames, seconds, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", default=str(SHARED / "media/short_hamilton_clip.mp4"))
    parser.add_argument("--detector", default="mediapipe")
    parser.add_argument("--model", help="model file (default: found as the plugin finds it)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    detector = get_registry().build(
        "detector", args.detector, **({"model": args.model} if args.model else {})
    )
    detector.open(None)
    run_once(args.clip, detector)  # warm up: decoder, XNNPACK, caches
    results: dict[str, list[float]] = {"decode": [], "decode+detect": []}
    faces = 0
    for _ in range(args.repeat):
        n, s, _ = run_once(args.clip, None)
        results["decode"].append(n / s)
        n, s, faces = run_once(args.clip, detector)
        results["decode+detect"].append(n / s)
    detector.close()
    print(f"{args.clip}: {n} frames, {faces} faces ({detector!r})")
    for name, values in results.items():
        print(
            f"{name:>14}: best {max(values):6.1f} fps, median {statistics.median(values):6.1f} fps"
        )


if __name__ == "__main__":
    main()
