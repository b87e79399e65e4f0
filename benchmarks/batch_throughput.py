"""Throughput of ``fervision batch``: local pool with 1 and 2 workers, Ray with 2 workers.

    python benchmarks/batch_throughput.py [CLIP] [--copies 8] [--detector mediapipe]
        [--detector-model PATH] [--model PATH] [--skip-ray]

Makes ``--copies`` symlinks to the clip in a temporary folder and runs one batch per
configuration through :func:`fervision_batch.runner.run_batch`, each into a fresh
output folder. Two rates per configuration:

- *wall*: videos and frames over the whole batch, worker start-up and model loading
  included (what a user waits for);
- *busy*: the same over the window from the first video's start to the last video's end
  in the workers (start-up excluded; from each summary's ``started_at``/``finished_at``).

Targets: local with 2 workers at least 1.5x local with 1 (busy rate), and Ray within 20%
of local at 2 workers. On a shared machine the numbers move with the other load.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from fervision.spec import PipelineSpec
from fervision_batch.runner import run_batch

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def measure(videos: Path, out: Path, spec: PipelineSpec, engine: str, workers: int) -> dict:
    start = time.perf_counter()
    report = run_batch([videos], out, spec, engine=engine, workers=workers)
    wall = time.perf_counter() - start
    done = [r for r in report.rows if r["status"] == "done"]
    if len(done) != len(report.rows):
        raise SystemExit(f"{engine}/{workers}: not every video finished: {report.rows}")
    runs = [json.loads(Path(r["summary"]).read_text())["processing"] for r in done]
    frames = sum(run["frames"] for run in runs)
    busy = max(run["finished_at"] for run in runs) - min(run["started_at"] for run in runs)
    return {
        "engine": engine,
        "workers": workers,
        "videos": len(done),
        "frames": frames,
        "wall": wall,
        "busy": busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", default=str(SHARED / "media/short_hamilton_clip.mp4"))
    parser.add_argument("--copies", type=int, default=8)
    mediapipe = SHARED / "models/face_detection_short_range.tflite"
    parser.add_argument("--detector", default="mediapipe" if mediapipe.is_file() else "haar")
    parser.add_argument("--detector-model", default=str(mediapipe) if mediapipe.is_file() else None)
    parser.add_argument("--model", help="emotion model (default: the shipped one)")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()

    options = {"detector": {"model": args.detector_model}, "classifier": {"model": args.model}}
    spec = PipelineSpec(
        detector=args.detector,
        options={kind: {k: v for k, v in o.items() if v} for kind, o in options.items()},
    )
    runs = [("local", 1), ("local", 2)] + ([] if args.skip_ray else [("ray", 2)])
    print(
        f"{args.copies} x {Path(args.clip).name}, detector {args.detector}, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at start)"
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="fervision-batch-bench-") as tmp:
        videos = Path(tmp, "videos")
        videos.mkdir()
        for i in range(args.copies):
            (videos / f"copy{i:02d}.mp4").symlink_to(Path(args.clip).absolute())
        for engine, workers in runs:
            r = measure(videos, Path(tmp, f"out-{engine}-{workers}"), spec, engine, workers)
            results[(engine, workers)] = r
            rates = [
                f"{kind} {r[kind]:6.1f} s  {r['videos'] / r[kind]:5.2f} videos/s  "
                f"{r['frames'] / r[kind]:6.1f} frames/s"
                for kind in ("wall", "busy")
            ]
            print(f"{engine:>5} x{workers}: " + "  |  ".join(rates), flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}")

    def ratio(a, b, key):
        return results[b][key] / results[a][key]  # time ratio a/b = rate ratio b/a

    one, two = ("local", 1), ("local", 2)
    print(
        f"local 2 workers / 1 worker: {ratio(two, one, 'busy'):.2f}x busy rate, "
        f"{ratio(two, one, 'wall'):.2f}x wall rate (target >= 1.5x)"
    )
    if ("ray", 2) in results:
        ray = ("ray", 2)
        print(
            f"ray 2 workers / local 2 workers: {ratio(ray, two, 'busy'):.2f}x busy rate, "
            f"{ratio(ray, two, 'wall'):.2f}x wall rate (target >= 0.8x)"
        )


if __name__ == "__main__":
    main()
