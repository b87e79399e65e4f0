"""Frames per second of the `fer` package (justinshenk/fer) on a clip, for comparison.

    /work/fer-venv/bin/python benchmarks/fer_baseline.py CLIP [--repeats 3] [--model tflite]

Run this with the Python of a separate environment that has `fer` installed (it pulls in
TensorFlow, so it is kept out of fervision's venv); it imports nothing from fervision.
Two figures, each the median of the repeats, the two alternated so a noisy machine does
not favour one:

* analyze: what fer's users run on a video, ``Video(clip).analyze(FER(mtcnn=False), ...)``
  with no display, no saved frames or video, no annotation, and its default CSV output
  (written in a temporary directory), timed around the whole ``analyze`` call;
* loop: ``cv2.VideoCapture`` decode + ``detector.detect_emotions(frame)`` per frame.

Both use fer's default face detector (OpenCV Haar cascade) and emotion model (the
quantized TFLite mini-Xception in fer >= 25.10.3; ``--model keras`` picks the Keras
.hdf5 model, fer's only one before that). Model loading and one warm-up frame are
outside the timings. The last line of stdout is machine-readable:

    FER_FPS <analyze fps> <loop fps>

The environment (Python 3.11; CPU torch first so facenet-pytorch, which fer requires
but only uses for ``mtcnn=True``, does not pull a CUDA one; pkg_resources, which fer
imports, is gone from setuptools >= 81):

    python3.11 -m venv /work/fer-venv
    /work/fer-venv/bin/pip install torch==2.13.0
    /work/fer-venv/bin/pip install fer==25.10.3 torch==2.13.0 "setuptools<81" \
        "opencv-contrib-python<5"
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import tempfile
import time
import warnings

import cv2

FER = Video = None  # fer's classes, imported by load_fer()


def load_fer() -> None:
    global FER, Video
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    try:
        from fer import FER, Video
    except ModuleNotFoundError as error:
        if error.name != "fer":
            raise
        sys.exit(
            f"`fer` is not installed for {sys.executable}: run this with the fer venv's python"
        )
    except ImportError:  # fer 25.10.3 stopped re-exporting them from the package
        from fer.classes import Video
        from fer.fer import FER


# What a user who only wants the numbers passes; each is kept only if this fer has it.
ANALYZE_OPTIONS = {
    "display": False,
    "save_frames": False,
    "save_video": False,
    "annotate_frames": False,
    "zip_images": False,
    "include_audio": False,
}


def count_frames(clip: str) -> tuple[int, int, int]:
    capture = cv2.VideoCapture(clip)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = 0
    while capture.grab():
        frames += 1
    capture.release()
    return frames, width, height


def first_frame(clip: str):
    capture = cv2.VideoCapture(clip)
    ok, image = capture.read()
    capture.release()
    if not ok:
        sys.exit(f"cannot read a frame from {clip}")
    return image


def run_analyze(clip: str, detector, workdir: str) -> tuple[int, float]:
    """fer's own video API; returns (frames processed, seconds)."""
    accepted = inspect.signature(Video.analyze).parameters
    options = {k: v for k, v in ANALYZE_OPTIONS.items() if k in accepted}
    here = os.getcwd()
    os.chdir(workdir)  # analyze(output="csv") writes ./data.csv
    try:
        video = Video(clip, outdir=os.path.join(workdir, "output"))
        start = time.perf_counter()
        video.analyze(detector, **options)
        seconds = time.perf_counter() - start
    finally:
        os.chdir(here)
    return int(getattr(video, "frameCount", 0)), seconds


def run_loop(clip: str, detector) -> tuple[int, float]:
    """Plain decode + detect_emotions per frame; returns (frames, seconds)."""
    capture = cv2.VideoCapture(clip)
    frames = 0
    start = time.perf_counter()
    while True:
        ok, image = capture.read()
        if not ok:
            break
        detector.detect_emotions(image)
        frames += 1
    seconds = time.perf_counter() - start
    capture.release()
    return frames, seconds


def make_detector(model: str):
    kwargs = {"mtcnn": False}
    if "use_tflite" in inspect.signature(FER.__init__).parameters:
        kwargs["use_tflite"] = model == "tflite"
    elif model == "tflite":
        print("note: this fer has no TFLite model; using its Keras model", file=sys.stderr)
    return FER(**kwargs)


def versions() -> str:
    import fer

    parts = [f"fer {getattr(fer, '__version__', '?')}", f"opencv {cv2.__version__}"]
    try:
        import tensorflow as tf

        parts.append(f"tensorflow {tf.__version__}")
    except ImportError:
        pass
    return ", ".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", help="video file")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each figure (3)")
    parser.add_argument(
        "--model",
        choices=("tflite", "keras"),
        default="tflite",
        help="fer's emotion model: tflite (its default) or keras",
    )
    args = parser.parse_args(argv)
    clip = os.path.abspath(args.clip)
    if not os.path.isfile(clip):
        sys.exit(f"no such clip: {clip}")

    load_fer()
    total, width, height = count_frames(clip)
    warnings.filterwarnings("ignore")  # tf.lite / keras deprecation notices, once per run
    detector = make_detector(args.model)
    detector.detect_emotions(first_frame(clip))  # warm-up: interpreter / graph set-up
    print(
        f"{versions()}; clip {os.path.basename(clip)} {width}x{height}, {total} frames; "
        f"model {args.model}; {os.cpu_count()} CPUs"
    )

    fps = {"analyze": [], "loop": []}
    with tempfile.TemporaryDirectory(prefix="fer_baseline_") as workdir:
        for repeat in range(args.repeats):
            for name in ("analyze", "loop") if repeat % 2 == 0 else ("loop", "analyze"):
                if name == "analyze":
                    frames, seconds = run_analyze(clip, detector, workdir)
                else:
                    frames, seconds = run_loop(clip, detector)
                if frames != total:
                    print(f"warning: {name} processed {frames} of {total} frames", file=sys.stderr)
                fps[name].append(frames / seconds)
                print(
                    f"  run {repeat + 1} {name:8s} {frames} frames in {seconds:6.2f} s"
                    f" = {frames / seconds:6.1f} fps",
                    flush=True,
                )

    for name, values in fps.items():
        print(
            f"{name:8s} median {statistics.median(values):6.1f} fps, "
            f"best {max(values):6.1f} fps over {len(values)} runs"
        )
    print(f"FER_FPS {statistics.median(fps['analyze']):.2f} {statistics.median(fps['loop']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
