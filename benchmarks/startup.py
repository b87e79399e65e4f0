"""Cold start and memory of whole ``fervision`` processes, and the size of the install.

    python benchmarks/startup.py [--photo PATH] [--runs 5]

Prints, for ``fervision run --source PHOTO --csv out.csv`` with the default pipeline and
with ``--detector haar``, the median wall time of ``--runs`` whole processes (interpreter
start to exit) and their peak resident memory; the same for a one-clip ``fervision batch``
with one worker (peak of its largest process: the worker); then the installed size of
the packages that ``pip install fervision`` (the runtime) and ``pip install
"fervision[train]"`` put in a virtual environment (the dependencies of the checkout's
pyproject.toml, resolved and measured as installed in this environment).

Whichever ``fervision`` Python imports is measured: run it with ``PYTHONPATH`` set to
another checkout to measure that one (for example the code before a change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from machine import processor

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def whole_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of ``python -m fervision ARGS`` (and its children)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "fervision", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"fervision {' '.join(args)} failed with status {process.returncode}")
    return seconds, usage.ru_maxrss / 1024


def medians(args: list[str], runs: int) -> str:
    results = [whole_process(args) for _ in range(runs)]
    seconds = statistics.median(s for s, _ in results)
    memory = statistics.median(m for _, m in results)
    return f"{seconds:5.2f} s  {memory:5.0f} MB peak"


def closure(requirements: list[str]) -> set[str]:
    """The installed distributions ``requirements`` pull in (extras and markers honoured)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [(Requirement(r), None) for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": extra or ""}):
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        name = dist.metadata["Name"].lower()
        extras = sorted(req.extras)
        for key in [name] + [f"{name}[{e}]" for e in extras]:
            if key in seen:
                continue
            seen.add(key)
            wanted = [None] if key == name else [key.partition("[")[2][:-1]]
            for want in wanted:
                todo += [(Requirement(r), want) for r in dist.requires or []]
    return {key for key in seen if "[" not in key}


def installed_mb(names: set[str]) -> float:
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SHARED / "media" / "two_people.jpg")
    parser.add_argument("--clip", type=Path, default=SHARED / "media" / "talking_head_map.mp4")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import fervision

    print(f"fervision from {Path(fervision.__file__).parent}, {processor()}")
    with tempfile.TemporaryDirectory() as tmp:
        run = ["run", "--source", str(args.photo), "--csv", f"{tmp}/out.csv"]
        whole_process(run)  # warm the file cache and any one-time conversion
        print(f"cold start, one photo ({args.photo.name}), median of {args.runs} processes:")
        print(f"  run, default pipeline (mediapipe)  {medians(run, args.runs)}")
        haar = medians([*run, "--detector", "haar"], args.runs)
        print(f"  run, --detector haar               {haar}")
        batch = ["batch", str(args.clip), "--workers", "1", "--overwrite", "--out", f"{tmp}/b"]
        print(f"  batch, one clip, 1 worker          {medians(batch, max(1, args.runs // 2))}")
    project = tomllib.loads((Path(fervision.__file__).parents[1] / "pyproject.toml").read_text())
    needs = project["project"]["dependencies"]
    extra = project["project"].get("optional-dependencies", {}).get("train", [])
    runtime, full = closure(needs), closure(needs + extra)
    print("installed packages of the checkout's pyproject.toml (sizes as installed here):")
    print(f"  runtime (pip install fervision)           {installed_mb(runtime):6.0f} MB")
    print(f"  with training (fervision[train])          {installed_mb(full):6.0f} MB")
    print(f"  TensorFlow in the runtime install: {'tensorflow' in runtime}")


if __name__ == "__main__":
    main()
