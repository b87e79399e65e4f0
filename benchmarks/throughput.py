"""Throughput of fervision against its decode+detect ceilings, measured side by side.

    python benchmarks/throughput.py [--clip PATH] [--repeats 3] [--quick]

On the real clip (looped to thousands of frames), in one run and alternating the
variants so a noisy machine does not decide the result, this prints medians of:
decode only; decode + detect (the default MediaPipe detector, which picks its range per
video, and Haar); the full default pipeline to CSV (detect, track, classify, smooth,
CSV; each face and its mirror in one call, 7.5 times a second per tracked face), the
same with the classifier's single pass and classifying 10 times a second, and with Haar;
the full pipeline with overlay and video, written as
H.264 (PyAV) and as OpenCV's mp4v;
then cost by resolution (640x360, 1280x720, 1920x1080) and by faces per frame (1, 4,
16), the Haar search-near-faces and detect-every-N options against full detection,
memory after 2,000 and 20,000 frames, and the latency of a live source that is faster
than processing.

``--large-only`` (and a section of the full run): a real talking head as recordings are
made, 1920x1080 H.264 (and with ``--4k`` 3840x2160), built with ffmpeg: decode + convert
(OpenCV and PyAV) beside the default pipeline to CSV, their ratio in each round, and the
CPU time each spends a frame (what two cores can share out).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from machine import processor

from fervision import Frame, Pipeline, SourceInfo, get_registry
from fervision.pipeline import counted, open_source

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FER_FPS_FROM_ISSUE = 28.0  # the `fer` package on this clip, as the issue measured it
FER_PYTHON = os.environ.get("FER_PYTHON")  # a Python with `fer` (see fer_baseline.py)


def read_frames(path: Path, size=None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA) if size else image)
    capture.release()
    return frames


def write_video(frames: list[np.ndarray], path: Path, loops: int, fps: float = 29.97) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for _ in range(loops):
        for image in frames:
            writer.write(image)
    writer.release()
    return path


class MemorySource:
    """Frames cycled from memory; ``live`` ones are stamped at a fixed camera rate."""

    def __init__(self, images, count, fps=30.0, live=False):
        self.images, self.count, self.fps, self.live = images, count, fps, live

    def open(self):
        h, w = self.images[0].shape[:2]
        return SourceInfo("memory", w, h, self.fps, self.count, self.live)

    def frames(self):
        start = time.perf_counter()
        for i in range(self.count):
            if self.live:  # a camera delivers frame i at start + i / fps
                delay = start + i / self.fps - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield Frame(
                self.images[i % len(self.images)].copy(),
                i,
                i / self.fps,
                "memory",
                captured_at=time.perf_counter(),
            )

    def close(self):
        pass


def detector(name: str):
    return get_registry().build("detector", name)


def classifier(**options):
    return get_registry().build("classifier", "keras", **options)


def classifier_without_model():
    """The default classifier with its network's inference replaced by even odds: faces are
    still cropped and scheduled, so a run with it bounds what any cheaper model could give."""
    stage = classifier()
    stage._predictor = lambda crops: np.full(
        (len(crops), len(stage.labels)), 1 / len(stage.labels), np.float32
    )
    return stage


def decode_only(video: Path) -> tuple[int, float]:
    capture = cv2.VideoCapture(str(video))
    frames, start = 0, time.perf_counter()
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames, time.perf_counter() - start


def decode_detect(video: Path, detector_name: str) -> tuple[int, float]:
    stage = detector(detector_name)
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames, start = 0, time.perf_counter()
    while True:
        ok, image = capture.read()
        if not ok:
            break
        stage.detect(Frame(image, frames, frames / fps))
        frames += 1
    seconds = time.perf_counter() - start
    capture.release()
    getattr(stage, "close", lambda: None)()
    return frames, seconds


def fer_run(clip: Path) -> tuple[int, float]:
    """The `fer` package's Video.analyze on ``clip``, in its own interpreter."""
    script = Path(__file__).with_name("fer_baseline.py")
    out = subprocess.run(
        [FER_PYTHON, str(script), str(clip), "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    analyze_fps = float([ln for ln in out.splitlines() if ln.startswith("FER_FPS ")][-1].split()[1])
    frames = int(cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT))
    return frames, frames / analyze_fps


#: The research outputs of issue 36, as `run --csv out.csv --participants auto:2 --per-second
#: per_second.csv --events events.csv` makes them (auto: the costliest way to name people).
RESEARCH_PARTICIPANTS = "auto:2"
RESEARCH_EVENTS = "onset,offset,label\n0,3,first\n2,6,second\n5,60,third\n"


RESEARCH = "pipeline to CSV + participants + per-second + events, mediapipe"


def research_sinks(outdir: Path) -> list:
    """The CSV sink naming participants, and the tables sink after it (per second, segments)."""
    csv_path, events = outdir / "out.csv", outdir / "events.csv"
    events.write_text(RESEARCH_EVENTS)
    registry = get_registry()
    return [
        registry.build("sink", "csv", path=str(csv_path), participants=RESEARCH_PARTICIPANTS),
        registry.build(
            "sink",
            "tables",
            csv=str(csv_path),
            participants=RESEARCH_PARTICIPANTS,
            per_second=str(outdir / "per_second.csv"),
            events=str(events),
        ),
    ]


def pipeline_run(
    source, detector_name: str, outdir: Path, video=False, codec=None, research=False, **options
):
    """``video``: also the overlay and an .mp4 (H.264 through PyAV, or OpenCV's ``codec``);
    ``research``: the CSV with participants, and the per-second and per-segment tables."""
    sinks = [get_registry().build("sink", "csv", path=str(outdir / "out.csv"))]
    if research:
        sinks = research_sinks(outdir)
    if video:
        out = str(outdir / "out.mp4")
        sinks.append(get_registry().build("sink", "video", path=out, codec=codec))
    pipeline = Pipeline(
        source,
        detector=detector(detector_name) if isinstance(detector_name, str) else detector_name,
        annotator="overlay" if video else None,
        sinks=sinks,
        **options,
    )
    summary = pipeline.run()
    return summary.frames, summary.seconds, summary


def rounds_fps(variants: dict, repeats: int) -> dict[str, list[float]]:
    """Run every variant once per round, ``repeats`` rounds; frames/s of each, per round."""
    results: dict[str, list] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            frames, seconds, *_ = run()
            results[name].append(frames / seconds)
    return results


def medians(per_round: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in per_round.items()}


def alternate(variants: dict, repeats: int) -> dict[str, float]:
    """Median frames/s of each variant over ``repeats`` alternating rounds."""
    return medians(rounds_fps(variants, repeats))


def show(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def iou(a, b) -> float:
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter) if inter else 0.0


def frames_matched(reference: list[list], faces: list[list]) -> float:
    """Share of frames where every reference face has a face at IoU >= 0.3."""
    ok = [all(any(iou(r, f) >= 0.3 for f in fs) for r in rs) for rs, fs in zip(reference, faces)]
    return float(np.mean(ok))


class FrameByFrame:
    """A detector used through ``detect`` alone, as for live sources (no look-back)."""

    def __init__(self, stage):
        self.detect = stage.detect


def boxes_per_frame(images, stage, detect_every=1, tracker=None) -> tuple[list[list], float]:
    pipeline = Pipeline(
        MemorySource(images, len(images)),
        detector=stage,
        tracker=tracker,
        classifier=None,
        smoother=None,
        detect_every=detect_every,
    )
    boxes = [[f.box for f in frame.faces] for frame in pipeline]
    return boxes, pipeline.summary.fps


def main_comparison(work: Path, clip: Path, clip_frames, loops: int, haar_loops: int, repeats: int):
    looped = write_video(clip_frames, work / "looped.mp4", loops)
    haar_video = write_video(clip_frames, work / "haar.mp4", haar_loops)
    mp_frames, haar_frames = len(clip_frames) * loops, len(clip_frames) * haar_loops
    print(
        f"clip looped: {mp_frames} frames for decode/MediaPipe variants, "
        f"{haar_frames} for Haar variants; {repeats} alternating rounds, medians shown"
    )

    def video(path):
        return lambda: open_source(str(path))

    variants = {
        "decode only": lambda: decode_only(looped),
        "decode + mediapipe": lambda: decode_detect(looped, "mediapipe"),
        "pipeline to CSV, mediapipe": lambda: pipeline_run(video(looped)(), "mediapipe", work),
        RESEARCH: lambda: pipeline_run(video(looped)(), "mediapipe", work, research=True),
        "pipeline to CSV, mediapipe, classifier single pass": lambda: pipeline_run(
            video(looped)(), "mediapipe", work, classifier=classifier(flip_average=False)
        ),
        "pipeline to CSV, mediapipe, classifier 10 a second": lambda: pipeline_run(
            video(looped)(), "mediapipe", work, classifier=classifier(rate=10)
        ),
        "pipeline + overlay + video, mediapipe": lambda: pipeline_run(
            video(looped)(), "mediapipe", work, video=True
        ),
        "pipeline + overlay + video (OpenCV mp4v), mediapipe": lambda: pipeline_run(
            video(looped)(), "mediapipe", work, video=True, codec="mp4v"
        ),
        "decode + haar": lambda: decode_detect(haar_video, "haar"),
        "pipeline to CSV, haar": lambda: pipeline_run(video(haar_video)(), "haar", work),
        "pipeline to CSV, haar-fast": lambda: pipeline_run(video(haar_video)(), "haar-fast", work),
    }
    if FER_PYTHON:
        variants["fer (Haar + mini-Xception), Video.analyze"] = lambda: fer_run(clip)
    per_round = rounds_fps(variants, repeats)
    fps = medians(per_round)
    fer_fps = fps.get("fer (Haar + mini-Xception), Video.analyze", FER_FPS_FROM_ISSUE)
    fer_note = "measured above" if FER_PYTHON else "from the issue; set FER_PYTHON to measure"
    mp_ceiling, haar_ceiling = fps["decode + mediapipe"], fps["decode + haar"]
    mp4v_fps = fps["pipeline + overlay + video (OpenCV mp4v), mediapipe"]
    rows = [
        (name, f"{fps[name]:8.1f} frames/s  (rounds {min(v):.1f} to {max(v):.1f})")
        for name, v in per_round.items()
    ]
    show("frames per second (640x360 clip; mediapipe = the default, range chosen per video)", rows)
    show(
        "ratios (targets in brackets)",
        [
            (
                "CSV pipeline / mediapipe ceiling",
                f"{fps['pipeline to CSV, mediapipe'] / mp_ceiling:.2f}  [>= 0.8]"
                "  (each round: "
                + ", ".join(
                    f"{a / b:.2f}"
                    for a, b in zip(
                        per_round["pipeline to CSV, mediapipe"], per_round["decode + mediapipe"]
                    )
                )
                + ")",
            ),
            *(
                (
                    f"CSV pipeline, classifier {way} / mediapipe ceiling",
                    f"{fps[f'pipeline to CSV, mediapipe, classifier {way}'] / mp_ceiling:.2f}",
                )
                for way in ("single pass", "10 a second")
            ),
            (
                "CSV + participants + per-second + events / CSV alone",
                f"{fps[RESEARCH] / fps['pipeline to CSV, mediapipe']:.2f}  [>= 0.95]  (each round: "
                + ", ".join(
                    f"{a / b:.2f}"
                    for a, b in zip(per_round[RESEARCH], per_round["pipeline to CSV, mediapipe"])
                )
                + ")",
            ),
            (
                "overlay+video pipeline / mediapipe ceiling",
                f"{fps['pipeline + overlay + video, mediapipe'] / mp_ceiling:.2f}  [>= 0.6]",
            ),
            (
                "H.264 video pipeline / mp4v video pipeline",
                f"{fps['pipeline + overlay + video, mediapipe'] / mp4v_fps:.2f}  [>= 0.85]",
            ),
            (
                f"CSV pipeline with mediapipe / fer ({fer_fps:.1f} fps, {fer_note})",
                f"{fps['pipeline to CSV, mediapipe'] / fer_fps:.1f}x  [>= 5]",
            ),
            ("CSV pipeline / haar ceiling", f"{fps['pipeline to CSV, haar'] / haar_ceiling:.2f}"),
            (
                f"CSV pipeline with haar / fer ({fer_fps:.1f} fps, {fer_note})",
                f"{fps['pipeline to CSV, haar'] / fer_fps:.2f}x",
            ),
            (
                f"CSV pipeline with haar-fast / fer ({fer_fps:.1f} fps, {fer_note})",
                f"{fps['pipeline to CSV, haar-fast'] / fer_fps:.2f}x  [>= 2; faces below]",
            ),
        ],
    )


def resolution_costs(work: Path, repeats: int):
    rows = []
    for w, h in ((640, 360), (1280, 720), (1920, 1080)):
        frames = read_frames(SHARED / "media" / "short_hamilton_clip.mp4", (w, h))
        path = write_video(frames, work / f"clip_{h}p.mp4", 1)
        fps = alternate(
            {
                "decode": lambda p=path: decode_only(p),
                "decode + mediapipe": lambda p=path: decode_detect(p, "mediapipe"),
                "pipeline": lambda p=path: pipeline_run(open_source(str(p)), "mediapipe", work),
            },
            repeats,
        )
        rows.append((f"{w}x{h}", "  ".join(f"{k} {v:6.1f}" for k, v in fps.items())))
    show("frames per second by resolution (mediapipe)", rows)


#: The talking head the large-video rows upscale (512x512, 448 frames; looped 4 times: 1,792).
TALKING_HEAD = "talking_woman.mp4"


def large_clip(work: Path, height: int, loops: int) -> Path:
    """The talking head scaled to ``height`` lines, centred on a grey 16:9 canvas, H.264
    (ffmpeg's libx264, CRF 20, yuv420p) as cameras write it; ``loops`` times over."""
    out = work / f"talking_{height}p.mp4"
    width = height * 16 // 9
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1)]
        + ["-i", str(SHARED / "media" / TALKING_HEAD), "-an"]
        + [
            "-vf",
            f"scale={height}:{height},pad={width}:{height}:{(width - height) // 2}:0:0x808080",
        ]
        + ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )
    return out


def pyav_decode(video: Path) -> tuple[int, float]:
    """PyAV's decode (FFmpeg's own threads) + conversion to BGR arrays, frames and seconds."""
    import av

    frames, start = 0, time.perf_counter()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="bgr24")
            frames += 1
    return frames, time.perf_counter() - start


def with_cpu(run):
    """``run`` measured: (frames, seconds, CPU seconds of every thread of this process)."""

    def measured():
        before = os.times()
        frames, seconds, *_ = run()
        after = os.times()
        return frames, seconds, after.user - before.user + after.system - before.system

    return measured


def large_videos(work: Path, repeats: int, heights=(1080,)):
    """Decode + convert against the default pipeline to CSV on large H.264 video."""
    for height in heights:
        loops = 4 if height <= 1080 else 1
        video = large_clip(work, height, loops)
        variants = {
            "decode + convert, OpenCV": with_cpu(lambda v=video: decode_only(v)),
            "decode + convert, PyAV": with_cpu(lambda v=video: pyav_decode(v)),
            "pipeline to CSV, mediapipe": with_cpu(
                lambda v=video: pipeline_run(open_source(str(v)), "mediapipe", work)
            ),
            "the same, the classifier's network not run": with_cpu(
                lambda v=video: pipeline_run(
                    open_source(str(v)), "mediapipe", work, classifier=classifier_without_model()
                )
            ),
        }
        per_round: dict[str, list] = {name: [] for name in variants}
        for _ in range(repeats):
            for name, run in variants.items():
                per_round[name].append(run())
        frames = per_round["pipeline to CSV, mediapipe"][0][0]
        fps = {k: [f / s for f, s, _ in v] for k, v in per_round.items()}
        cpu = {k: statistics.median(c / f * 1000 for f, _, c in v) for k, v in per_round.items()}
        rows = [
            (name, f"{statistics.median(v):7.1f} frames/s  (rounds {min(v):.1f} to {max(v):.1f}),"
             f" CPU {cpu[name]:5.2f} ms a frame")
            for name, v in fps.items()
        ]  # fmt: skip
        decode = [max(a, b) for a, b in zip(*(fps[k] for k in list(variants)[:2]))]
        ratios = [p / d for p, d in zip(fps["pipeline to CSV, mediapipe"], decode)]
        rows.append(
            (
                "pipeline / the faster decode + convert",
                f"{statistics.median(ratios):.2f}  [>= 0.8]  (each round: "
                + ", ".join(f"{r:.2f}" for r in ratios)
                + ")",
            )
        )
        bound = [p / d for p, d in zip(fps["the same, the classifier's network not run"], decode)]
        rows.append(
            (
                "the same without the network / decode",
                f"{statistics.median(bound):.2f}  (a bound for any cheaper classifier)",
            )
        )
        cores = os.cpu_count() or 1
        rows.append(
            (
                f"CPU bound on {cores} cores: pipeline at most",
                f"{min(cpu[k] for k in list(variants)[:2]) / cpu['pipeline to CSV, mediapipe']:.2f}"
                " of decode (its CPU a frame over the pipeline's)",
            )
        )
        show(
            f"{height * 16 // 9}x{height} H.264 talking head ({TALKING_HEAD} upscaled, {frames} "
            f"frames; {repeats} alternating rounds, medians)",
            rows,
        )


def face_costs(photo: Path, repeats: int = 20):
    """Classification time per face when a frame holds 1, 4 or 16 faces (tiled photo)."""
    image = cv2.imread(str(photo))
    faces = detector("mediapipe").detect(Frame(image, 0, 0))
    if not faces:
        print("\n(no face in the photo: skipping per-face costs)")
        return
    x, y, w, h = faces[0].box
    pad = w // 2
    tile = image[max(y - pad, 0) : y + h + pad, max(x - pad, 0) : x + w + pad]
    tile = cv2.resize(tile, (160, 160))
    rows = []
    for backend in ("litert", "keras"):
        # rate 0: classify on every call (by default a face keeps its output a while)
        classifier = get_registry().build("classifier", "keras", backend=backend, rate=0)
        classifier.open()
        for n in (1, 4, 16):
            side = int(np.ceil(np.sqrt(n)))
            canvas = np.zeros((side * 160, side * 160, 3), np.uint8)
            boxes = []
            for i in range(n):
                r, c = divmod(i, side)
                canvas[r * 160 : (r + 1) * 160, c * 160 : (c + 1) * 160] = tile
                boxes.append((c * 160 + 40, r * 160 + 40, 80, 80))
            frame = Frame(canvas, 0, 0)
            from fervision.types import Face

            frame.faces = [Face(b) for b in boxes]
            classifier.classify(frame)  # warm up this batch size
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                classifier.classify(frame)
                times.append(time.perf_counter() - start)
            per_face = statistics.median(times) / n * 1000
            rows.append((f"{backend}, {counted(n, 'face'):8}", f"{per_face:6.2f} ms per face"))
    show("classification cost per face (crop + one batched model call per frame)", rows)


def option_accuracy(clip_frames):
    """What the speed options cost in faces, against detecting every frame in full."""
    from fervision_opencv.haar import HaarDetector

    rows = []
    reference, full_fps = boxes_per_frame(clip_frames, HaarDetector())
    rows.append(("haar, full scan every frame", f"{full_fps:6.1f} frames/s, 1.000 matched"))
    fast = lambda: get_registry().build("detector", "haar-fast")  # noqa: E731
    variants = (
        (
            "full scan every 3, near-recent faces between, live",
            FrameByFrame(HaarDetector(full_every=3)),
        ),
        (
            "full scan every 3, large + near-recent, live",
            FrameByFrame(HaarDetector(full_every=3, large_faces=1 / 6)),
        ),
        ("haar-fast (full scan every 6, lenient near-recent), live", FrameByFrame(fast())),
        ("haar-fast in recorded video (+ look-back)", fast()),
    )
    for name, stage in variants:
        boxes, fps = boxes_per_frame(clip_frames, stage)
        rows.append(
            (
                f"haar, {name}",
                f"{fps:6.1f} frames/s, {frames_matched(reference, boxes):.3f} matched",
            )
        )
    boxes, fps = boxes_per_frame(clip_frames, HaarDetector(downscale=480))
    rows.append(
        (
            "haar, detect on a copy downscaled to 480 px",
            f"{fps:6.1f} frames/s, {frames_matched(reference, boxes):.3f} matched",
        )
    )
    mp_reference, mp_fps = boxes_per_frame(clip_frames, detector("mediapipe"))
    rows.append(("mediapipe, every frame", f"{mp_fps:6.1f} frames/s, 1.000 matched"))
    small = get_registry().build("detector", "mediapipe", downscale=320)
    boxes, fps = boxes_per_frame(clip_frames, small)
    rows.append(
        (
            "mediapipe, detect on a copy downscaled to 320 px",
            f"{fps:6.1f} frames/s, {frames_matched(mp_reference, boxes):.3f} matched",
        )
    )
    for n in (2, 3):
        boxes, fps = boxes_per_frame(
            clip_frames, detector("mediapipe"), detect_every=n, tracker="iou"
        )
        rows.append(
            (
                f"mediapipe, detect every {n} (tracker carries boxes)",
                f"{fps:6.1f} frames/s, {frames_matched(mp_reference, boxes):.3f} matched",
            )
        )
    show("speed options against full detection (frames where every reference face is found)", rows)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_growth(clip_frames, work: Path, total: int):
    marks = {}

    class Probe:
        def open(self, info, labels):
            pass

        def write(self, frame):
            if frame.index + 1 in (2_000, total):
                marks[frame.index + 1] = rss_mb()

        def close(self):
            pass

    pipeline = Pipeline(
        MemorySource(clip_frames, total),
        detector=detector("mediapipe"),
        sinks=[get_registry().build("sink", "csv", path=str(work / "m.csv")), Probe()],
    )
    summary = pipeline.run()
    growth = marks[total] - marks[2_000]
    show(
        f"memory over {total} frames ({summary.fps:.0f} frames/s)",
        [
            ("resident after 2,000 frames", f"{marks[2_000]:.0f} MB"),
            (f"resident after {total:,} frames", f"{marks[total]:.0f} MB"),
            ("growth", f"{growth:+.1f} MB  [within 50 MB]"),
        ],
    )


def live_latency(clip_frames):
    camera_fps = 1000.0  # far faster than processing, so frames must be dropped
    pipeline = Pipeline(
        MemorySource(clip_frames, 1500, fps=camera_fps, live=True), detector=detector("mediapipe")
    )
    summary = pipeline.run()
    interval = 1000 / summary.fps
    show(
        f"live source at {camera_fps:.0f} frames/s (faster than processing)",
        [
            ("processed", f"{summary.frames} frames, {summary.dropped} stale frames dropped"),
            ("processing interval", f"{interval:.1f} ms ({summary.fps:.0f} frames/s)"),
            ("median capture-to-sink latency", f"{summary.latency_ms:.1f} ms"),
            ("latency / interval", f"{summary.latency_ms / interval:.2f}  [under 2]"),
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SHARED / "media" / "short_hamilton_clip.mp4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loops", type=int, default=8, help="clip loops for MediaPipe variants")
    parser.add_argument("--haar-loops", type=int, default=2)
    parser.add_argument("--memory-frames", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="fewer frames and rounds")
    parser.add_argument("--main-only", action="store_true", help="only the first comparison")
    parser.add_argument("--large-only", action="store_true", help="only the 1080p (and --4k) rows")
    parser.add_argument("--4k", dest="uhd", action="store_true", help="a 3840x2160 clip too")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.loops, args.haar_loops, args.memory_frames = 1, 2, 1, 4_000
    if not args.clip.exists():
        print(f"needs {args.clip} (set FERVISION_SHARED)", file=sys.stderr)
        return 2
    clip_frames = read_frames(args.clip)
    print(
        f"fervision throughput on {args.clip.name}: {len(clip_frames)} frames "
        f"{clip_frames[0].shape[1]}x{clip_frames[0].shape[0]}, {processor()}, "
        f"OpenCV {cv2.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        heights = (1080, 2160) if args.uhd else (1080,)
        if args.large_only:
            large_videos(work, args.repeats, heights)
            return 0
        main_comparison(work, args.clip, clip_frames, args.loops, args.haar_loops, args.repeats)
        if args.main_only:
            return 0
        resolution_costs(work, max(1, args.repeats - 1))
        large_videos(work, max(1, args.repeats - 1), heights)
        face_costs(SHARED / "media" / "two_people.jpg")
        option_accuracy(clip_frames)
        live_latency(clip_frames)
        memory_growth(clip_frames, work, args.memory_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
