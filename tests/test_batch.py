"""``fervision batch`` (local pool and Ray) and ``fervision report``, run for real.

The videos are 60-frame cuts of the shared clip plus a file of random bytes named .mp4;
the model is the shipped one when present, else a small untrained CNN (real TensorFlow,
so labels are arbitrary but the pipeline and every file are real).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import _shared
from fervision import FervisionError
from fervision_batch.inputs import find_videos, output_names
from fervision_keras.model_io import DEFAULT_MODEL

CUT_FRAMES = 60
SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def fervision(*args, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def read_index(out: Path) -> dict[str, dict]:
    with open(out / "index.csv", newline="") as f:
        return {Path(row["input"]).name: row for row in csv.DictReader(f)}


def partial_files(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.endswith(".partial")]


@pytest.fixture(scope="module")
def model() -> Path:
    """The shipped emotion model (it is package data: a checkout without it is broken)."""
    assert DEFAULT_MODEL.is_file(), f"the shipped model {DEFAULT_MODEL} is missing"
    return DEFAULT_MODEL


@pytest.fixture(scope="module")
def stages(model) -> list[str]:
    """Stage options: the default stages (MediaPipe's models ship) with the emotion model."""
    return ["--model", str(model)]


@pytest.fixture(scope="module")
def frames():
    import cv2

    path = _shared("media/short_hamilton_clip.mp4")
    cap = cv2.VideoCapture(str(path))
    images = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    cap.release()
    return images


def write_clip(path: Path, images) -> Path:
    import cv2

    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 29.97, (w, h))
    for image in images:
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory, frames) -> Path:
    """Three 60-frame cuts (a close-up, a wide shot, the audience) and one corrupt file."""
    folder = tmp_path_factory.mktemp("videos")
    for name, start in (("stage", 0), ("wide", 100), ("audience", 200)):
        write_clip(folder / f"{name}.mp4", frames[start : start + CUT_FRAMES])
    (folder / "broken.mp4").write_bytes(np.random.default_rng(0).bytes(30_000))
    return folder


def check_first_and_second_run(videos: Path, out: Path, *options):
    first = fervision("batch", videos, "--out", out, *options)
    assert first.returncode == 1, first.stderr
    assert "1 of 4 videos failed" in first.stderr
    assert "3 done, 0 skipped, 1 failed" in first.stdout
    index = read_index(out)
    assert index["broken.mp4"]["status"] == "failed"
    assert index["broken.mp4"]["reason"].startswith("cannot decode video")
    assert "\n" not in index["broken.mp4"]["reason"]
    for name in ("stage", "wide", "audience"):
        row = index[f"{name}.mp4"]
        assert row["status"] == "done", row
        assert int(row["frames"]) == CUT_FRAMES
        assert float(row["fps"]) > 0
        csv_path, summary_path, png_path = (Path(row[k]) for k in ("csv", "summary", "timeline"))
        assert csv_path == out / f"{name}.emotions.csv"
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert len({r["frame"] for r in rows}) == CUT_FRAMES
        assert sum(1 for r in rows if r["x"]) == int(row["faces"])
        summary = json.loads(summary_path.read_text())
        assert summary["frames"] == CUT_FRAMES
        assert summary["processing"]["frames"] == CUT_FRAMES
        assert summary["video"]["faces"] == int(row["faces"])
        assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert Path(row["report"]).read_text().startswith("<!doctype html>")
    assert not (out / "broken.emotions.csv").exists()
    assert not partial_files(out)
    assert not (out / "broken.summary.json").exists()

    done = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.name.startswith(("stage", "wide"))}
    second = fervision("batch", videos, "--out", out, *options)
    assert second.returncode == 1, second.stderr
    assert "0 done, 3 skipped, 1 failed" in second.stdout
    statuses = Counter(row["status"] for row in read_index(out).values())
    assert statuses == {"skipped": 3, "failed": 1}
    assert {p: p.stat().st_mtime_ns for p in done} == done  # finished videos left alone
    reason = read_index(out)["broken.mp4"]["reason"]
    assert reason.startswith("cannot decode video") and "earlier run" in reason  # not retried

    third = fervision("batch", videos, "--out", out, "--retry-failed", *options)
    assert "0 done, 3 skipped, 1 failed" in third.stdout
    assert "earlier run" not in read_index(out)["broken.mp4"]["reason"]


def test_local_batch_fails_only_the_corrupt_video_and_reruns_skip(videos, stages, tmp_path):
    check_first_and_second_run(videos, tmp_path / "out", "--workers", "2", *stages)
    other = fervision("batch", videos, "--out", tmp_path / "out", "--smoother", "vote", *stages)
    assert "3 done, 0 skipped, 1 failed" in other.stdout  # other stages: processed again
    summary = json.loads((tmp_path / "out" / "stage.summary.json").read_text())
    assert summary["processing"]["stages"]["smoother"] == "vote"


def test_ray_batch_fails_only_the_corrupt_video_and_reruns_skip(videos, stages, tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'fervision[ray]')")
    check_first_and_second_run(
        videos, tmp_path / "out", "--engine", "ray", "--workers", "2", *stages
    )


@pytest.mark.parametrize("group_sigterm", [False, True], ids=["ctrl-c", "sigterm-to-group"])
def test_interrupted_batch_keeps_finished_videos_and_resumes(
    frames, stages, tmp_path, group_sigterm
):
    """Ctrl-C, or SIGTERM to every process (systemd, `timeout`): one line, exit 130."""
    folder = tmp_path / "videos"
    folder.mkdir()
    write_clip(folder / "a_short.mp4", frames[:30])
    for i in range(3):  # long enough that the interrupt lands in the middle of one
        write_clip(folder / f"b_long{i}.mp4", frames)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "fervision",
        "batch",
        str(folder),
        "--out",
        str(out),
        "--workers",
        "1",
        "--per-second",
        *stages,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while not (out / "a_short.summary.json").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the first video never finished"
            time.sleep(0.02)
        if group_sigterm:
            os.killpg(proc.pid, signal.SIGTERM)  # the workers get it too
        else:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no "worker died" notes, no second "interrupted"
    assert lines[0].startswith("interrupted after 1 of 4 videos")
    assert lines[0].endswith("run the same command again to resume")
    index = read_index(out)
    assert index["a_short.mp4"]["status"] == "done"
    unfinished = [n for n, row in index.items() if row["status"] == "interrupted"]
    assert unfinished, index
    kept = {p.name: p.read_bytes() for p in out.glob("a_short.*")}
    assert sorted(kept) == [
        "a_short.emotions.csv",
        "a_short.per_second.csv",  # the tables of the finished videos, written on the way out
        "a_short.report.html",
        "a_short.summary.json",
        "a_short.timeline.png",
    ]
    assert json.loads(kept["a_short.summary.json"])["frames"] == 30
    with open(out / "summary.csv", newline="") as f:
        assert {row["video"] for row in csv.DictReader(f)} == {"a_short"}
    for name in unfinished:  # nothing half-written under a final name
        assert not list(out.glob(f"{Path(name).stem}.*")), name
    assert not partial_files(out)

    rerun = fervision("batch", folder, "--out", out, "--workers", "1", "--per-second", *stages)
    assert rerun.returncode == 0, rerun.stderr
    index = read_index(out)
    assert index["a_short.mp4"]["status"] == "skipped"
    assert {index[n]["status"] for n in unfinished} == {"done"}
    assert all(row["status"] in ("done", "skipped") for row in index.values())
    assert {p.name: p.read_bytes() for p in out.glob("a_short.*")} == kept
    # `report` on a batch's CSV does not replace the batch's summary (its reruns need it)
    again = fervision("report", out / "a_short.emotions.csv", "--html")
    assert again.returncode == 1 and again.stderr.startswith(
        f"error: {out / 'a_short.summary.json'}"
    )
    assert {p.name: p.read_bytes() for p in out.glob("a_short.*")} == kept
    elsewhere = fervision("report", out / "a_short.emotions.csv", "--out", tmp_path / "mine")
    assert elsewhere.returncode == 0, elsewhere.stderr


def test_a_ctrl_c_while_a_worker_process_starts_is_never_lost(monkeypatch):
    """Ctrl-C while a worker is spawned, taken by another thread of this process (as the
    pool's manager thread does), still reaches this process's handler; the worker starts
    with Ctrl-C and SIGTERM blocked, so it never sees one before it ignores them."""
    from fervision_batch import engines

    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    idle = threading.Event()
    other = threading.Thread(target=idle.wait)  # a thread that can take the signal
    other.start()
    spawn = engines._WorkerProcess._Popen
    masks = []

    def spawn_as_ctrl_c_comes(process):
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))  # what the worker inherits
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)  # the other thread has taken it by now
        return spawn(process)

    monkeypatch.setattr(engines._WorkerProcess, "_Popen", staticmethod(spawn_as_ctrl_c_comes))
    worker = engines._WorkerContext().Process(target=os.getpid)
    try:
        worker.start()
        deadline = time.monotonic() + 2
        while not caught and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, previous)
        idle.set()
        other.join()
        worker.join(30)
    assert caught == [signal.SIGINT]
    assert {signal.SIGINT, signal.SIGTERM} <= masks[0]
    assert worker.exitcode == 0


def test_report_from_a_run_csv_matches_the_csv(videos, stages, tmp_path):
    csv_path = tmp_path / "stage.csv"
    run = fervision("run", "--source", videos / "audience.mp4", "--csv", csv_path, *stages)
    assert run.returncode == 0, run.stderr
    result = fervision("report", csv_path, "--out", tmp_path / "report")
    assert result.returncode == 0, result.stderr
    for _ in range(2):  # beside the CSV, and again: report's own files it may replace
        assert fervision("report", csv_path, "--html").returncode == 0
    summary = json.loads((tmp_path / "report/stage.summary.json").read_text())
    png = (tmp_path / "report/stage.timeline.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [c[2:] for c in rows[0] if c.startswith("p_")]
    assert summary["labels"] == labels
    times = {int(r["frame"]): float(r["timestamp_s"]) for r in rows}
    frames = sorted(times)
    dt = (times[frames[-1]] - times[frames[0]]) / (frames[-1] - frames[0])
    assert summary["frames"] == len(frames) == CUT_FRAMES
    assert summary["frame_interval_s"] == pytest.approx(dt, abs=1e-5)
    faces = [r for r in rows if r["x"] != ""]
    assert faces, "the audience shot has faces"
    video = summary["video"]
    assert video["faces"] == len(faces)
    assert video["seconds_visible"] == pytest.approx(
        len({r["frame"] for r in faces}) * dt, abs=1e-3
    )
    label_counts = Counter(r["label"] for r in faces if r["label"])
    assert video["dominant_emotion"] == max(
        labels, key=lambda x: (label_counts[x], -labels.index(x))
    )
    by_track: dict[int, list[dict]] = {}
    for r in faces:
        if r["face_id"]:  # faces not yet confirmed by the tracker belong to no track
            by_track.setdefault(int(r["face_id"]), []).append(r)
    assert {t["face_id"] for t in summary["tracks"]} == set(by_track)
    for track in summary["tracks"]:
        mine = sorted(by_track[track["face_id"]], key=lambda r: int(r["frame"]))
        assert track["frames"] == len(mine)
        assert track["seconds_visible"] == pytest.approx(len(mine) * dt, abs=1e-3)
        assert track["first_s"] == pytest.approx(float(mine[0]["timestamp_s"]))
        assert track["last_s"] == pytest.approx(float(mine[-1]["timestamp_s"]))
        counts = Counter(r["label"] for r in mine if r["label"])
        assert track["dominant_emotion"] == max(labels, key=lambda x: (counts[x], -labels.index(x)))
        for label in labels:
            assert track["emotion_share"][label] == pytest.approx(
                counts[label] / sum(counts.values()), abs=1e-4
            )
        seq = [r["label"] for r in mine if r["label"]]
        assert track["label_changes"] == sum(a != b for a, b in zip(seq, seq[1:]))
    seconds = [t["seconds_visible"] for t in summary["tracks"]]
    assert seconds == sorted(seconds, reverse=True)


def test_report_rejects_a_csv_that_is_not_an_emotion_log(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    result = fervision("report", bad)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "not an emotion CSV" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_warns_of_labels_its_probability_columns_do_not_name(tmp_path):
    log = tmp_path / "edited.csv"
    head = "frame,timestamp_s,face_id,x,y,w,h,det_score,label,confidence,p_happy,p_sad\n"
    rows = [
        f"{i},{i / 10:.3f},1,0,0,9,9,0.9,{'joy' if i < 3 else 'sad'},0.9,0.1,0.9\n"
        for i in range(8)
    ]
    log.write_text(head + "".join(rows))
    result = fervision("report", log)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"warning: {log} has 3 rows labelled joy, which its p_ columns do not name: they "
        "count in no emotion's share\n"
    )
    summary = json.loads((tmp_path / "edited.summary.json").read_text())
    assert summary["video"]["emotion_share"] == {"happy": 0.0, "sad": 0.625}


def test_report_reads_csvs_from_before_raw_frame_became_classified_frame(tmp_path):
    head = "frame,timestamp_s,face_id,x,y,w,h,det_score,label,confidence,p_happy,p_sad,"
    rows = [f"{i},{i / 10:.3f},1,0,0,9,9,0.9,sad,0.9,0.1,0.9,0.1,0.9,{i},,\n" for i in range(8)]
    summaries = []
    for name, column in (("old", "raw_frame"), ("new", "classified_frame")):
        log = tmp_path / f"{name}.csv"
        log.write_text(head + f"raw_happy,raw_sad,{column},valence,participant\n" + "".join(rows))
        result = fervision("report", log)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        summaries.append(json.loads((tmp_path / f"{name}.summary.json").read_text()))
    assert summaries[0]["labels"] == summaries[1]["labels"] == ["happy", "sad"]
    assert summaries[0]["video"] == summaries[1]["video"]


def test_inputs_from_folders_quoted_globs_and_files_each_once(tmp_path):
    (tmp_path / "a/deep").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    for rel in (
        "a/clip.mp4",
        "a/deep/clip.mkv",
        "a/clip10.avi",
        "a/clip2.avi",
        "b/clip.mp4",
        "a/notes.txt",
        "a/.hidden.mp4",
        "a/wave.gif",  # an animation is a video
    ):
        (tmp_path / rel).write_bytes(b"x")
    found = find_videos([tmp_path / "a", str(tmp_path / "**/clip.mp4"), tmp_path / "a/clip.mp4"])
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert names == [
        "a/clip.mp4",
        "a/clip2.avi",
        "a/clip10.avi",
        "a/deep/clip.mkv",
        "a/wave.gif",
        "b/clip.mp4",
    ]
    stems = output_names(found)
    assert stems[1:3] == ["clip2", "clip10"]
    assert len(set(stems)) == len(stems)  # three "clip"s get distinct, stable names
    assert output_names(found) == stems
    with pytest.raises(FervisionError, match="no videos match"):
        find_videos([str(tmp_path / "*.webm")])
    with pytest.raises(FervisionError, match="no such file or folder"):
        find_videos([tmp_path / "missing.mp4"])
    (tmp_path / "two.JPG").write_bytes(b"\xff\xd8")
    with pytest.raises(FervisionError, match="two.JPG is a photo; batch takes videos"):
        find_videos([tmp_path / "two.JPG"])


def test_bad_stage_options_fail_in_one_line_before_any_work(videos, tmp_path):
    result = fervision("batch", videos, "--out", tmp_path / "out", "--detector", "nope")
    assert result.returncode == 2  # an unknown stage is a usage error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown detector 'nope'")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_stage_options_reach_every_worker(videos, stages, tmp_path, engine):
    if engine == "ray":
        pytest.importorskip("ray", reason="ray is not installed (pip install 'fervision[ray]')")
    from fervision import Pipeline

    video = videos / "stage.mp4"
    plain = Pipeline(str(video), tracker=None, classifier=None, smoother=None)
    assert plain.run(max_frames=10).faces >= 10  # a face in every frame without the option
    out = tmp_path / "out"
    options = ["-O", "detector.min_size=900", "-O", "smoother.tau=0.5"]
    result = fervision("batch", video, "--out", out, "--engine", engine, *options, *stages)
    assert result.returncode == 0, result.stderr
    row = read_index(out)["stage.mp4"]
    assert row["status"] == "done" and int(row["frames"]) == CUT_FRAMES
    assert int(row["faces"]) == 0
    stages_run = json.loads((out / "stage.summary.json").read_text())["processing"]["stages"]
    assert stages_run["detector"] == "mediapipe (min_size=900)"
    assert stages_run["smoother"] == "ema (tau=0.5)"


def test_a_bad_stage_option_stops_the_batch_before_any_work(videos, tmp_path):
    result = fervision("batch", videos, "--out", tmp_path / "out", "-O", "detector.min_size=big")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: detector 'mediapipe' option min_size: 'big' is not int")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["smoother.tau=-1", "detector.min_confidence=2"])
def test_an_option_out_of_range_is_a_usage_error_and_no_video_is_failed(
    videos, stages, tmp_path, option
):
    out = tmp_path / "out"
    result = fervision("batch", videos / "stage.mp4", "--out", out, "-O", option, *stages)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    row = read_index(out)["stage.mp4"]
    assert row["status"] == "not started" and row["reason"] == lines[0][len("error: ") :]
    # nothing remembered as failed: the same command with a good option runs the video
    result = fervision("batch", videos / "stage.mp4", "--out", out, *stages)
    assert result.returncode == 0, result.stderr
    assert read_index(out)["stage.mp4"]["status"] == "done"
    # over a finished batch, the bad option leaves its index as it was
    done = (out / "index.csv").read_bytes()
    result = fervision("batch", videos / "stage.mp4", "--out", out, "-O", option, *stages)
    assert result.returncode == 2 and (out / "index.csv").read_bytes() == done


def test_ray_engine_without_ray_says_how_to_install_it(videos, tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None  # as if ray were not installed\n"
        "from fervision.cli import main; main(sys.argv[1:])"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "batch",
            str(videos),
            "--out",
            str(tmp_path / "o"),
            "--engine",
            "ray",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == 'error: the ray engine needs Ray: pip install "fervision[ray]"'


def _hold_for_good(lock, held):
    lock.acquire()
    held.set()
    time.sleep(60)


def test_a_lock_a_killed_worker_held_blocks_neither_progress_nor_cancel():
    import multiprocessing
    import threading

    from fervision.spec import PipelineSpec
    from fervision_batch.engines import LocalEngine

    engine = LocalEngine(PipelineSpec(detector="haar"), workers=1)
    try:
        ctx = multiprocessing.get_context("spawn")
        held = ctx.Event()
        holder = ctx.Process(target=_hold_for_good, args=(engine._counter.get_lock(), held))
        holder.start()
        assert held.wait(60)
        holder.kill()  # as a worker killed while counting a frame: the lock stays held
        holder.join()
        answered = []
        asking = threading.Thread(
            target=lambda: answered.append((engine.frames_done(), engine.cancel())), daemon=True
        )
        asking.start()
        asking.join(5)
        assert answered == [(0, None)]
        old = engine._counter
        engine._executor.shutdown(wait=False)
        engine._executor = engine._start()  # what a worker's death leads to
        assert engine._counter is not old and engine._counter.get_lock().acquire(timeout=1)
    finally:
        engine.close(force=True)


def test_an_output_that_cannot_be_written_is_one_line_naming_it_not_its_temporary_file(
    tmp_path,
):
    from fervision_batch.outputs import write_atomic

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    target = blocker / "clip.timeline.png"  # creating or removing anything in it fails
    with pytest.raises(FervisionError) as caught:
        write_atomic(target, b"png")
    assert str(caught.value).startswith(f"cannot write {target}: ")
    assert ".partial" not in str(caught.value)
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    write_atomic(kept, b"new")
    assert kept.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == [
        "kept.json",
        "not-a-folder",
    ]


def test_a_ray_address_where_nothing_listens_is_one_line_at_once(clip, tmp_path):
    """Ray retries such an address for good: the batch looked busy and never ended."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    result = fervision(
        "batch", clip, "--out", tmp_path / "out", "--engine", "ray",
        "--ray-address", f"127.0.0.1:{port}", timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and time.monotonic() - start < 60
    assert result.stderr.strip() == (
        f"error: cannot connect to the Ray cluster at 127.0.0.1:{port}: nothing answers there "
        "(Connection refused); is the head node up (ray start --head) and the port right?"
    )
    (row,) = read_index(tmp_path / "out").values()
    assert row["status"] == "not started" and row["reason"] == result.stderr.strip()[7:]
    assert not list((tmp_path / "out").glob(".*.failed.json"))  # a rerun tries it


def test_batch_skips_the_annotated_videos_fervision_wrote_unless_asked(frames, tmp_path):
    """Issue 42: an annotated video written beside the interviews was analysed as one more."""
    folder = tmp_path / "interviews"
    folder.mkdir()
    write_clip(folder / "interview.mp4", frames[:20])
    made = fervision("run", folder / "interview.mp4", "--output", folder / "annotated.mp4")
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out"
    first = fervision("batch", folder, "--out", out, "-j", "1")
    assert first.returncode == 0, first.stderr
    assert "1 done, 0 skipped, 0 failed" in first.stdout
    assert f"note: skipped {folder / 'annotated.mp4'}: an annotated video" in first.stderr
    assert set(read_index(out)) == {"interview.mp4"}
    both = fervision("batch", folder, "--out", out, "-j", "1", "--include-annotated")
    assert both.returncode == 0, both.stderr
    assert "1 done, 1 skipped, 0 failed" in both.stdout and "note:" not in both.stderr
    alone = fervision("batch", folder / "annotated.mp4", "--out", out)
    assert alone.returncode == 1 and "--include-annotated takes them" in alone.stderr
