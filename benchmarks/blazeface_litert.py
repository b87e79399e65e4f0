"""BlazeFace through MediaPipe's Tasks API against the same .tflite run through LiteRT.

    python benchmarks/blazeface_litert.py [--variant short|full] [--clips NAME...]

Issue 17 asked which way the MediaPipe detector should load without TensorFlow: the
``mediapipe`` package behind a guard on its optional TensorFlow import, or the BlazeFace
models run directly through LiteRT with MediaPipe's decoding (``fervision_mediapipe.
blazeface.BlazeFace``, what ships). This prints, per real clip, the share of the Tasks
API's faces that fervision's engine finds with IoU >= 0.95, both ways' milliseconds per
frame, and both ways' import + model load time in a fresh process. Needs ``pip install
mediapipe`` (fervision itself does not).
"""

from __future__ import annotations

import argparse
import importlib.abc
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fervision.imaging import box_iou

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CLIPS = (
    "talking_head_suit",
    "talking_head_map",
    "expressions_animated",
    "portrait_talk_smile",
    "short_hamilton_clip",
)


class _NoTensorFlowForMediaPipe(importlib.abc.MetaPathFinder):
    """mediapipe imports TensorFlow when installed, only for its API docs and file access
    (``tasks/python/core/optional_dependencies.py``, ``tasks/python/metadata``), and falls
    back on ModuleNotFoundError: the guard that was measured against LiteRT."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


class TasksBlazeFace:
    """The same model through the mediapipe package's Tasks ``FaceDetector`` (IMAGE mode)."""

    def __init__(self, path: Path, min_confidence: float = 0.4):
        guard = _NoTensorFlowForMediaPipe()
        sys.meta_path.insert(0, guard)
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions
            from mediapipe.tasks.python.vision import FaceDetector, FaceDetectorOptions, RunningMode
        finally:
            sys.meta_path.remove(guard)
        options = FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
        )
        self._mp, self._detector = mp, FaceDetector.create_from_options(options)

    def detect(self, bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # the Tasks API takes RGB
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        boxes = [d.bounding_box for d in self._detector.detect(image).detections]
        return [(b.origin_x, b.origin_y, b.width, b.height) for b in boxes]


def litert_blazeface(path: Path, min_confidence: float = 0.4):
    """fervision's engine: the model through LiteRT with MediaPipe's decoding."""
    from fervision_mediapipe.blazeface import BlazeFace

    engine = BlazeFace(path, min_confidence)
    return lambda bgr: [face.box for face in engine.detect(bgr)]


def frames_of(clip: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def ms_per_frame(detect, frames, repeats=3) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for bgr in frames:
            detect(bgr)
        runs.append((time.perf_counter() - start) / len(frames) * 1000)
    return statistics.median(runs)


def startup(kind: str, path: Path) -> float:
    """Seconds to import and load one model in a fresh process."""
    import subprocess

    make = "TasksBlazeFace" if kind == "tasks" else "litert_blazeface"
    code = (
        "import sys, time; t = time.perf_counter(); "
        f"sys.path.insert(0, {str(Path(__file__).parent)!r}); import blazeface_litert as b; "
        f"b.{make}(b.Path({str(path)!r})); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from machine import processor

    from fervision_mediapipe.models import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("short", "full"), default="short")
    parser.add_argument("--clips", nargs="+", default=CLIPS)
    args = parser.parse_args()
    path = resolve_model(args.variant)
    tasks, litert = TasksBlazeFace(path).detect, litert_blazeface(path)
    print(f"BlazeFace {args.variant} range ({path.name}), {processor()}")
    print(
        f"{'clip':<24} {'faces':>6} {'IoU>=0.95':>10} {'median IoU':>10} {'extra':>6} "
        f"{'Tasks ms':>9} {'LiteRT ms':>10}"
    )
    for name in args.clips:
        frames = frames_of(SHARED / "media" / f"{name}.mp4")
        ious, extra = [], 0
        for bgr in frames:
            ref, got = tasks(bgr), litert(bgr)
            ious += [max((box_iou(r, g) for g in got), default=0.0) for r in ref]
            extra += max(len(got) - len(ref), 0)
        matched = np.mean(np.array(ious) >= 0.95) if ious else float("nan")
        tasks_ms, litert_ms = ms_per_frame(tasks, frames), ms_per_frame(litert, frames)
        print(
            f"{name:<24} {len(ious):>6} {matched:>10.3f} {np.median(ious):>10.3f} "
            f"{extra:>6} {tasks_ms:>9.2f} {litert_ms:>10.2f}"
        )
    for kind in ("tasks", "litert"):
        runs = [startup(kind, path) for _ in range(3)]
        print(f"import + load, {kind}: {statistics.median(runs):.2f} s (median of 3 processes)")


if __name__ == "__main__":
    main()
