"""The Python API examples run as documented (on the built-in sample source)."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, cwd):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_video_to_csv(tmp_path):
    out = run_example("video_to_csv.py", "sample", "log.csv", cwd=tmp_path)
    assert "150 frames" in out and (tmp_path / "log.csv").stat().st_size > 1000


def test_iterate_frames(tmp_path):
    lines = run_example("iterate_frames.py", cwd=tmp_path).splitlines()
    assert len(lines) > 40 and all(line.startswith("frame") for line in lines)


def test_custom_stage(tmp_path):
    out = run_example("custom_stage.py", cwd=tmp_path)
    assert out.count("watching sample (640x480 at 30 fps)") == 2
    assert out.count("done: 1 face(s) seen") == 2
    assert out.count("0.00s: face #1 ") == 2  # the sample face's first emotion, each time


def test_the_examples_taking_a_source_say_a_missing_one_in_one_line(tmp_path):
    for name in ("video_to_csv.py", "iterate_frames.py"):
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / name), "missing.mp4"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert result.returncode == 1, name
        assert result.stderr == "error: video file not found: missing.mp4\n", name


def test_push_frames_on_a_real_clip(tmp_path, clip):
    out = run_example("push_frames.py", str(clip), "pushed.csv", cwd=tmp_path)
    assert "275 frames" in out and "face #1 at (" in out
    assert len((tmp_path / "pushed.csv").read_text().splitlines()) > 275
