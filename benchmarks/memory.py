"""Peak memory of a long run with every output against a short one, as separate processes.

    python benchmarks/memory.py [--clip PATH] [--short 1000] [--long 20000] [--repeats 1]
                                [--research]

A real clip is looped into a short and a long video (OpenCV's mp4v, in a temporary
folder); each is run as ``fervision run VIDEO --csv --report --output`` in its own
process, and its peak resident memory read from the kernel (``os.wait4``). Prints both
peaks and their ratio (target: within 10%), the run's time, its processing time and rate,
the rest (start-up and the end of the run: grouping, tables, report) as a share of the
run's time, and the report's size and number of pictures. ``--research`` adds the
research outputs: ``--participants auto:2 --events --per-second --segments`` (two events
over the video).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from machine import processor
from throughput import read_frames

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def looped(clip: Path, frames: int, out: Path) -> Path:
    """``clip`` looped to ``frames`` frames (mp4v, the clip's size and rate)."""
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    images = read_frames(clip)
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(frames):
        writer.write(images[i % len(images)])
    writer.release()
    return out


def research_options(work: Path) -> list[str]:
    """The research outputs' options, with an events file of two segments."""
    events = work / "events.csv"
    events.write_text("onset,offset,label\n0,100,first\n100,100000,second\n")
    return ["--participants", "auto:2", "--events", str(events)] + [
        "--per-second",
        str(work / "per_second.csv"),
        "--segments",
        str(work / "segments.csv"),
    ]


def peak_run(video: Path, work: Path, research: bool = False) -> dict:
    """Run every output on ``video`` in a fresh process: its peak memory, time and report."""
    name = video.stem
    report = work / f"{name}.html"
    args = [
        sys.executable,
        "-m",
        "fervision",
        "run",
        str(video),
        "--csv",
        str(work / f"{name}.csv"),
    ]
    args += ["--report", str(report), "--output", str(work / f"{name}.out.mp4")]
    args += research_options(work) if research else []
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    page = report.read_text()
    rate = re.search(r"([\d.]+) frames/s processing", output)
    processing = re.search(r"processing time</th><td>([\d.]+) s", page)
    return {
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "seconds": seconds,
        "fps": float(rate.group(1)) if rate else float("nan"),
        "processing": float(processing.group(1)) if processing else float("nan"),
        "report_mb": len(page.encode()) / 1e6,
        "pictures": page.count("<img"),
        "tracks": re.search(r"(\d+) face tracks?", page).group(1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SHARED / "media" / "short_hamilton_clip.mp4")
    parser.add_argument("--short", type=int, default=1_000)
    parser.add_argument("--long", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds")
    parser.add_argument("--research", action="store_true", help="participants, events, tables")
    args = parser.parse_args()
    if not args.clip.exists():
        print(f"needs {args.clip} (set FERVISION_SHARED)", file=sys.stderr)
        return 2
    print(f"fervision memory on {args.clip.name} looped, {processor()}; load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        videos = {
            n: looped(args.clip, n, work / f"looped_{n}.mp4") for n in (args.short, args.long)
        }
        results: dict[int, list[dict]] = {n: [] for n in videos}
        for _ in range(args.repeats):
            for n, video in videos.items():
                results[n].append(peak_run(video, work, args.research))
        extra = " + research outputs" if args.research else ""
        print(f"\n== run --csv --report --output{extra}, each in its own process")
        for n, runs in results.items():
            for r in runs:
                rest = r["seconds"] - r["processing"]  # start-up and the end of the run
                print(
                    f"  {n:>6,} frames  peak {r['peak_mb']:6.1f} MB  {r['seconds']:6.1f} s: "
                    f"processing {r['processing']:.1f} s ({r['fps']:.1f} frames/s), rest "
                    f"{rest:.1f} s = {rest / r['seconds']:.1%}  report {r['report_mb']:.2f} MB, "
                    f"{r['pictures']} pictures, {r['tracks']} tracks"
                )
        short = min(r["peak_mb"] for r in results[args.short])
        long = min(r["peak_mb"] for r in results[args.long])
        print(f"  peak {args.long:,} / {args.short:,} frames: {long / short:.3f}  [<= 1.10]")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
