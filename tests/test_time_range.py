"""``--start`` / ``--end`` on ``run`` and ``batch`` (issue 36, item 2), on real decoding of a
shared clip: the CSV holds exactly the source's frames in the part, at the source's times."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time

import cv2
import pytest

from conftest import _shared
from fervision.pipeline import open_source


def fervision(*args):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def talk():
    return _shared("media/talking_head_map.mp4")  # 844x844, 25 fps, 5.0 s


def source_times(path) -> list[float]:
    """Every frame's time as the decoder gives it, decoding the whole file."""
    cap = cv2.VideoCapture(str(path))
    times = []
    while cap.read()[0]:
        times.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    cap.release()
    return times


def csv_times(path) -> list[float]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    frames = {}
    for row in rows:
        frames.setdefault(int(row["frame"]), float(row["timestamp_s"]))
    assert list(frames) == list(range(len(frames)))  # numbered from the part's first frame
    return list(frames.values())


def expected(path, start: float, end: float) -> list[float]:
    return [round(t, 3) for t in source_times(path) if start <= t < end]


def test_run_processes_only_the_part_at_the_sources_times(talk, tmp_path):
    result = fervision("run", "-s", str(talk), "--csv", str(tmp_path / "a.csv"),
                       "--start", "0:01.5", "--end", "3.25")  # fmt: skip
    assert result.returncode == 0, result.stderr
    want = expected(talk, 1.5, 3.25)
    assert len(want) == 44 and want[0] == 1.52
    assert csv_times(tmp_path / "a.csv") == want


def test_batch_processes_only_the_part_of_every_video(talk, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(talk, videos / "talk.mp4")
    result = fervision("batch", str(videos), "-o", str(tmp_path / "out"), "-j", "1",
                       "--start", "00:00:02", "--end", "4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert csv_times(tmp_path / "out" / "talk.emotions.csv") == expected(talk, 2, 4)


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--start", "3", "--end", "2"], "--end 2 s is not after --start 3 s"),
        (["--start", "2", "--end", "2"], "--end 2 s is not after --start 2 s"),
        (["--end", "6"], "--end 6 s is past the end of"),
        (["--start", "0:05.5"], "--start 5.5 s is past the end of"),
        (["--start", "1:75"], "--start '1:75' is not a time"),
    ],
)
@pytest.mark.parametrize("command", ["run", "batch"])
def test_a_bad_part_is_one_line_and_exit_2_before_any_work(talk, tmp_path, command, args, problem):
    if command == "run":
        given = ["run", "-s", str(talk), "--csv", str(tmp_path / "a.csv")]
    else:
        given = ["batch", str(talk), "-o", str(tmp_path / "out")]
    result = fervision(*given, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and problem in lines[0], lines
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_late_start_seeks_instead_of_decoding_from_the_beginning(talk, tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (it makes the long clip)")
    long = tmp_path / "long.mp4"  # the clip 40 times: 200 s, 5000 frames
    subprocess.run(
        ["ffmpeg", "-v", "error", "-stream_loop", "39", "-i", str(talk), "-c", "copy", str(long)],
        check=True,
        timeout=120,
    )
    began = time.perf_counter()
    source = open_source(f"video:{long}")
    source.open()
    frames = source.frames()
    for _ in range(500):  # a tenth of what decoding up to 190 s would take
        next(frames)
    frames.close()
    source.close()
    decoding = time.perf_counter() - began
    began = time.perf_counter()
    source = open_source(f"video:{long}", start=190)
    source.open()
    first = next(source.frames())
    source.close()
    assert first.index == 0 and 190 <= first.timestamp < 190.05
    assert time.perf_counter() - began < decoding
