"""Latency of the push API (``Analyzer.process``) and the lag of live in-memory sources.

    python benchmarks/push_latency.py [--clip PATH] [--loops 3] [--body-ms 50]

On the real clip (decoded once by OpenCV, looped ``--loops`` times), with the default
stages: each image pushed at 30 frames a second, as a camera app would (the median and
99th percentile of the time ``process`` takes per frame); then pushed back to back (its
throughput). Then a generator delivering the clip at 30 frames a second read by a
pipeline whose loop body takes ``--body-ms``: capture-to-loop-body lag and frames
dropped, with and without ``options={"source": {"live": True}}``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
from machine import processor
from throughput import read_frames

from fervision import Analyzer, Pipeline

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))
RATE = 30.0


def paced(images: list[np.ndarray]) -> list[float]:
    """Seconds ``process`` took for each image, pushed at RATE frames a second."""
    took = []
    with Analyzer(fps=RATE) as analyzer:
        analyzer.process(images[0])  # models warm: an app starts before its camera
        start = time.perf_counter()
        for i, image in enumerate(images):
            wait = start + i / RATE - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            began = time.perf_counter()
            analyzer.process(image)
            took.append(time.perf_counter() - began)
    return took


def back_to_back(images: list[np.ndarray]) -> float:
    """Frames a second ``process`` keeps up with when pushed without pause."""
    with Analyzer(fps=RATE) as analyzer:
        analyzer.process(images[0])
        start = time.perf_counter()
        for image in images:
            analyzer.process(image)
        return len(images) / (time.perf_counter() - start)


def generator_lag(images: list[np.ndarray], body_s: float, live: bool) -> tuple[float, int, int]:
    """Median capture-to-loop-body lag (ms), frames processed and dropped, for a 30 fps
    generator read by a loop whose body takes ``body_s``."""

    def camera():
        start = time.perf_counter()
        for i, image in enumerate(images):
            wait = start + i / RATE - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent.append(time.perf_counter())
            yield image

    sent: list[float] = []
    lags = []
    pipeline = Pipeline(camera(), options={"source": {"live": live, "fps": RATE}})
    for frame in pipeline:
        lags.append(time.perf_counter() - sent[frame.index])
        time.sleep(body_s)  # the app's own work on the frame
    summary = pipeline.summary
    return statistics.median(lags) * 1000, summary.frames, summary.dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SHARED / "media/short_hamilton_clip.mp4")
    parser.add_argument("--loops", type=int, default=3)
    parser.add_argument("--body-ms", type=float, default=50.0)
    args = parser.parse_args()
    clip = read_frames(args.clip)
    images = clip * args.loops
    print(f"processor: {processor()}")
    print(f"clip: {args.clip.name}, {len(clip)} frames x {args.loops} = {len(images)}")
    took = np.array(paced(images)) * 1000
    print(
        f"push at 30 fps: median {np.median(took):.1f} ms, p99 {np.percentile(took, 99):.1f} ms"
        f", max {took.max():.1f} ms per frame ({len(took)} frames)"
    )
    print(f"push back to back: {back_to_back(images):.1f} frames/s")
    for live in (False, True):
        lag, frames, dropped = generator_lag(clip, args.body_ms / 1000, live)
        print(
            f"30 fps generator, {args.body_ms:g} ms loop body, live={live}: median lag "
            f"{lag:.0f} ms, {frames} frames processed, {dropped} dropped"
        )


if __name__ == "__main__":
    main()
