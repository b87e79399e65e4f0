"""``batch --eaf --boris --states``: each video's coders' files beside its CSV, on two real clips;
ELAN's library opens them, they hold the CSV's labels, and ``agree`` reads them back."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import _shared

CLIPS = ("expressions_smile", "talking_head_suit")
EVENTS = "onset,offset,label\n0.5,1.5,greeting\n2,3,question\n"


def fervision(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def csv_frames(path: Path) -> tuple[list[float], dict[str, dict[float, str]]]:
    """Every frame's time, and per participant (or ``face N``) its label at each frame."""
    times, labels = [], {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            t = float(row["timestamp_s"])
            if not times or times[-1] != t:
                times.append(t)
            who = row["participant"] or (f"face {row['face_id']}" if row["face_id"] else "")
            if who and row["label"]:
                labels.setdefault(who, {}).setdefault(t, row["label"])
    return times, labels


def at(segments, t: float) -> str:
    """The label of the segment (onset <= t < offset) holding ``t``, "" when none."""
    hits = [label for onset, offset, label in segments if onset <= t < offset]
    return hits[-1] if hits else ""


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("batch_coders")
    videos = base / "videos"
    videos.mkdir()
    for clip in CLIPS:
        shutil.copy(_shared(f"media/{clip}.mp4"), videos / f"{clip}.mp4")
    (base / "events.csv").write_text(EVENTS)
    result = fervision(
        "batch", videos, "-o", base / "out", "-j", "1", "--eaf", "--boris", "--states",
        "--events", base / "events.csv",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 done" in result.stdout
    return base


@pytest.mark.parametrize("clip", CLIPS)
def test_eaf_opens_with_pympi_and_holds_the_csv_labels(batch_out, clip):
    import pympi

    out = batch_out / "out"
    eaf = pympi.Elan.Eaf(str(out / f"{clip}.eaf"))
    times, labels = csv_frames(out / f"{clip}.emotions.csv")
    assert labels, "the clip has a labelled face"
    assert set(labels) <= set(eaf.get_tier_names())
    for who, by_time in labels.items():
        tier = [(b / 1000, e / 1000, v) for b, e, v in eaf.get_annotation_data_for_tier(who)]
        same = sum(at(tier, round(t, 3)) == label for t, label in by_time.items())
        assert same >= 0.99 * len(by_time), who
    events = eaf.get_annotation_data_for_tier("events")
    assert events == [(500, 1500, "greeting"), (2000, 3000, "question")]
    media = eaf.media_descriptors[0]["MEDIA_URL"]
    assert media == (batch_out / "videos" / f"{clip}.mp4").absolute().as_uri()
    linked = eaf.linked_file_descriptors[-1]  # the time series' tracks, beside it, not scratch
    assert linked["RELATIVE_LINK_URL"] == f"./{clip}_tsconf.xml"
    assert linked["LINK_URL"] == (out / f"{clip}_tsconf.xml").absolute().as_uri()


@pytest.mark.parametrize("clip", CLIPS)
def test_state_log_rows_match_the_csv_labels_and_agree_reads_them(batch_out, clip):
    out = batch_out / "out"
    times, labels = csv_frames(out / f"{clip}.emotions.csv")
    with open(out / f"{clip}.states.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["participant", "label", "onset", "offset", "duration"]
    faces = [r for r in rows if not r["label"].startswith("event:")]
    assert {r["participant"] for r in faces} == set(labels)
    for who, by_time in labels.items():
        spans = [
            (float(r["onset"]), float(r["offset"]), r["label"])
            for r in faces
            if r["participant"] == who
        ]
        same = sum(at(spans, t) == label for t, label in by_time.items())
        assert same >= 0.99 * len(by_time), who
    assert [r["label"] for r in rows if r["label"].startswith("event:")] == [
        "event:greeting",
        "event:question",
    ]
    who = max(labels, key=lambda w: len(labels[w]))
    result = fervision(
        "agree", out / f"{clip}.states.csv", out / f"{clip}.emotions.csv", "--subject", who,
        "--participant", who, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["agreement"] == pytest.approx(1.0)  # kappa is null where one label is all
    assert found["frames"] == len(times)


@pytest.mark.parametrize("clip", CLIPS)
def test_boris_project_names_the_video_and_the_participants(batch_out, clip):
    out = batch_out / "out"
    project = json.loads((out / f"{clip}.boris").read_text(encoding="utf-8"))
    media = next(iter(project["observations"].values()))["file"]["1"]
    assert media == [str((batch_out / "videos" / f"{clip}.mp4").absolute())]
    _, labels = csv_frames(out / f"{clip}.emotions.csv")
    assert set(labels) <= {s["name"] for s in project["subjects_conf"].values()}


@pytest.mark.parametrize("clip", CLIPS)
def test_each_videos_report_shows_the_events_segments(batch_out, clip):
    """As ``run --report --events`` does: the segments' table, a row per event."""
    import re

    page = (batch_out / "out" / f"{clip}.report.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Segments (2)" in text
    assert re.search(r"greeting face 1 0\.5 - 1\.5 s", text), text[-2000:]
    assert re.search(r"question face 1 2\.0 - 3\.0 s", text)


def test_a_rerun_keeps_the_coders_files_and_writes_only_missing_ones(batch_out):
    out = batch_out / "out"
    kept = out / f"{CLIPS[0]}.states.csv"
    kept.write_text(kept.read_text() + "coder,corrected,0,1,1\n")  # a coder's edit in place
    gone = out / f"{CLIPS[1]}.eaf"
    gone.unlink()
    again = fervision(
        "batch", batch_out / "videos", "-o", out, "-j", "1", "--eaf", "--boris", "--states",
        "--events", batch_out / "events.csv",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "2 skipped" in again.stdout
    assert kept.read_text().endswith("coder,corrected,0,1,1\n")
    import pympi

    assert pympi.Elan.Eaf(str(gone)).get_tier_names()


def test_a_rerun_that_processes_again_keeps_what_a_coder_changed(batch_out, tmp_path):
    """Other options process each video again: files no one touched get the new codes, a
    file a coder edited (in ELAN, here through pympi) stays as the coder left it."""
    import pympi

    out = tmp_path / "out"
    shutil.copytree(batch_out / "out", out)
    edited, untouched = out / f"{CLIPS[0]}.eaf", out / f"{CLIPS[1]}.states.csv"
    eaf = pympi.Elan.Eaf(str(edited))
    eaf.add_tier("coder A")
    eaf.add_annotation("coder A", 0, 1000, "happy")
    eaf.to_file(str(edited))
    coded = edited.read_bytes()
    before = untouched.stat().st_mtime_ns
    again = fervision(
        "batch", batch_out / "videos", "-o", out, "-j", "1", "--eaf", "--boris", "--states",
        "--events", batch_out / "events.csv", "--smoother", "vote",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "2 done" in again.stdout
    assert edited.read_bytes() == coded
    assert f"note: kept {edited} as it was" in again.stderr
    assert untouched.stat().st_mtime_ns != before  # rewritten from the new CSV:
    fresh = tmp_path / "fresh.states.csv"
    report = fervision(
        "report", out / f"{CLIPS[1]}.emotions.csv", "--out", tmp_path / "r", "--states", fresh,
        "--events", batch_out / "events.csv",
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert untouched.read_text() == fresh.read_text()
    assert str(untouched) not in again.stderr


def test_without_the_coders_plugin_it_is_one_line_before_any_work(batch_out, tmp_path):
    env = {**os.environ, "FERVISION_LOAD_PLUGINS": "basic,opencv,mediapipe,keras,batch"}
    result = fervision("batch", batch_out / "videos", "-o", tmp_path / "out", "--eaf", env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown sink 'eaf'" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
