"""Valence, participants, per-second and per-segment tables (issue 36), on a real two-person
clip with a cut; every table is checked against numbers computed here from the per-frame CSV."""

from __future__ import annotations

import csv
import importlib.util
import logging
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import REPO, _shared

HALF = 320  # the clip is two 320x320 heads side by side
EVENTS = "onset,offset,label\n0,2.4,question 1\n00:00:02.4,00:00:04.2,question 2\n1,3,overlap\n"


def fervision(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *args], capture_output=True, text=True, timeout=timeout
    )


def usage_error(result, *fragments):
    """Exit 2 with one line naming the problem, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def read_dicts(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def two_people(tmp_path_factory) -> Path:
    """The two-person clip of scripts/two_person_clip.py (suit left, glasses right, a cut)."""
    media = _shared("media/talking_head_suit.mp4").parent
    spec = importlib.util.spec_from_file_location(
        "two_person_clip", REPO / "scripts/two_person_clip.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_two_person_clip(tmp_path_factory.mktemp("clip") / "two.mp4", media)


@pytest.fixture(scope="module")
def by_place(two_people, tmp_path_factory):
    """One run with participants by place, events, the per-segment and per-second tables."""
    out = tmp_path_factory.mktemp("place")
    (out / "events.csv").write_text(EVENTS)
    result = fervision(
        "run",
        "-s",
        str(two_people),
        "--csv",
        str(out / "run.csv"),
        "--participants",
        "interviewer=left,guest=right",
        "--events",
        str(out / "events.csv"),
        "--segments",
        str(out / "segments.csv"),
        "--per-second",
        str(out / "per_second.csv"),
    )
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def labels_of(rows) -> list[str]:
    return [k[2:] for k in rows[0] if k.startswith("p_")]


def face_rows(rows):
    return [r for r in rows if r["x"] != ""]


def interval(rows) -> float:
    first, last = rows[0], rows[-1]
    return (float(last["timestamp_s"]) - float(first["timestamp_s"])) / (
        int(last["frame"]) - int(first["frame"])
    )


def test_valence_is_happy_minus_the_strongest_of_angry_fear_sad(by_place):
    rows = face_rows(read_dicts(by_place[0] / "run.csv"))
    assert len(rows) > 150
    values = []
    for r in rows:
        expected = float(r["p_happy"]) - max(float(r[f"p_{n}"]) for n in ("angry", "fear", "sad"))
        assert abs(float(r["valence"]) - expected) < 3e-4, r
        values.append(float(r["valence"]))
    assert all(-1 <= v <= 1 for v in values) and len(set(values)) > 50


def test_a_model_without_those_labels_leaves_valence_empty_and_says_so(
    two_people, tmp_path, caplog
):
    from fakes import FixedClassifier
    from fervision import Pipeline
    from fervision_basic.csv_sink import CsvSink

    path = tmp_path / "calm.csv"
    with caplog.at_level(logging.WARNING, logger="fervision"):
        Pipeline(
            str(two_people), classifier=FixedClassifier(("calm", "tense")), sinks=[CsvSink(path)]
        ).run(max_frames=10)
    rows = face_rows(read_dicts(path))
    assert rows and all(r["valence"] == "" for r in rows) and rows[0]["p_calm"] != ""
    assert "no valence" in caplog.text


def test_participants_by_place_follow_each_face_across_the_cut(by_place):
    rows = face_rows(read_dicts(by_place[0] / "run.csv"))
    for r in rows:
        centre = int(r["x"]) + int(r["w"]) / 2
        assert r["participant"] == ("interviewer" if centre < HALF else "guest"), r
    assert len({r["face_id"] for r in rows}) >= 4  # the cut made new tracks, names stayed


def expected_segment(rows, onset, offset, who, dt, labels):
    """One row of the per-segment table, computed from the per-frame CSV."""
    mine = [
        r
        for r in face_rows(rows)
        if onset <= float(r["timestamp_s"]) < offset and r["participant"] == who
    ]
    labelled = [r["label"] for r in mine if r["label"]]
    changes = 0
    for track in {r["face_id"] for r in mine}:
        seq = [r["label"] for r in mine if r["face_id"] == track and r["label"]]
        changes += sum(a != b for a, b in zip(seq, seq[1:]))
    end = float(rows[-1]["timestamp_s"]) + dt  # the video's end
    return {  # a frame counts dt, up to the segment's length
        "seconds_seen": min(len({r["frame"] for r in mine}) * dt, min(offset, end) - onset),
        **{f"share_{n}": labelled.count(n) / len(labelled) for n in labels},
        **{f"mean_p_{n}": sum(float(r[f"p_{n}"]) for r in mine) / len(mine) for n in labels},
        **{f"peak_p_{n}": max(float(r[f"p_{n}"]) for r in mine) for n in labels},
        "valence": sum(float(r["valence"]) for r in mine) / len(mine),
        "label_changes": changes,
    }


def test_seconds_seen_is_never_longer_than_the_segment(by_place, tmp_path):
    """A segment off the frames' grid holds one frame more than its length: not counted whole."""
    out, _ = by_place
    rows = read_dicts(out / "run.csv")
    labels, dt = labels_of(rows), interval(rows)
    (tmp_path / "events.csv").write_text("onset,offset,label\n2.0,2.51,off the grid\n")
    result = fervision(
        "report", str(out / "run.csv"), "--out", str(tmp_path), "--events",
        str(tmp_path / "events.csv"), "--segments", str(tmp_path / "segments.csv"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames = {r["frame"] for r in face_rows(rows) if 2.0 <= float(r["timestamp_s"]) < 2.51}
    assert len(frames) * dt > 0.51 + 1e-6  # the case: whole frames would overshoot
    for row in read_dicts(tmp_path / "segments.csv"):
        expected = expected_segment(rows, 2.0, 2.51, row["participant"], dt, labels)
        assert float(row["seconds_seen"]) == pytest.approx(expected["seconds_seen"], abs=2e-3)
        assert float(row["seconds_seen"]) <= 0.51


def test_the_segment_table_matches_the_per_frame_csv(by_place):
    out, stdout = by_place
    rows = read_dicts(out / "run.csv")
    labels, dt = labels_of(rows), interval(rows)
    table = read_dicts(out / "segments.csv")
    events = [("question 1", 0, 2.4), ("question 2", 2.4, 4.2), ("overlap", 1, 3)]
    assert [(r["segment"], r["participant"]) for r in table] == [
        (label, who) for label, _, _ in events for who in ("interviewer", "guest")
    ]
    for row in table:
        onset, offset = float(row["onset"]), next(e[2] for e in events if e[0] == row["segment"])
        expected = expected_segment(rows, onset, offset, row["participant"], dt, labels)
        for key, value in expected.items():
            assert math.isclose(float(row[key]), value, abs_tol=2e-3), (row["segment"], key)
    assert "question 2" in stdout and "interviewer" in stdout and "valence" in stdout


def test_the_per_second_table_matches_the_per_frame_csv(by_place):
    out, _ = by_place
    rows = read_dicts(out / "run.csv")
    labels = labels_of(rows)
    frames = defaultdict(set)
    faces = defaultdict(list)
    for r in rows:
        second = int(float(r["timestamp_s"]))
        frames[second].add(r["frame"])
        if r["participant"]:
            faces[second, r["participant"]].append(r)
    table = read_dicts(out / "per_second.csv")
    assert [(int(r["second"]), r["participant"]) for r in table] == [
        (s, who) for s in sorted(frames) for who in ("interviewer", "guest")
    ]
    for row in table:
        mine = faces[int(row["second"]), row["participant"]]
        assert int(row["frames"]) == len(frames[int(row["second"])])
        share = len({r["frame"] for r in mine}) / len(frames[int(row["second"])])
        assert math.isclose(float(row["face_share"]), share, abs_tol=1e-4)
        for n in labels:
            mean = sum(float(r[f"p_{n}"]) for r in mine) / len(mine)
            assert math.isclose(float(row[f"p_{n}"]), mean, abs_tol=2e-4)
        valence = sum(float(r["valence"]) for r in mine) / len(mine)
        assert math.isclose(float(row["valence"]), valence, abs_tol=2e-4)
        counts = [[r["label"] for r in mine].count(n) for n in labels]
        assert row["dominant"] == labels[counts.index(max(counts))]


def test_auto_groups_the_tracks_before_and_after_the_cut_into_two_people(two_people, tmp_path):
    result = fervision(
        "run",
        "-s",
        str(two_people),
        "--csv",
        str(tmp_path / "auto.csv"),
        "--participants",
        "auto:2",
    )
    assert result.returncode == 0, result.stderr
    rows = face_rows(read_dicts(tmp_path / "auto.csv"))
    tracks = defaultdict(list)
    for r in rows:
        tracks[r["face_id"]].append(r)
    assert {r["participant"] for r in tracks.pop("", [])} <= {""}  # untracked: nobody's
    assert len(tracks) >= 4  # split by the cut
    for track in tracks.values():
        left = sum(int(r["x"]) + int(r["w"]) / 2 < HALF for r in track) > len(track) / 2
        assert {r["participant"] for r in track} == {"person1" if left else "person2"}


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("a=left,a=right", "a is given twice"),
        ("a=left,b=0.5:0:1.2:1", "outside the picture"),
        ("a=middle", "is not a place"),
        ("a=1,b=1", "face id 1 is given to two names"),
    ],
)
def test_bad_participants_are_one_line_and_exit_2_before_any_work(
    two_people, tmp_path, value, fragment
):
    result = fervision(
        "run", "-s", str(two_people), "--csv", str(tmp_path / "x.csv"), "--participants", value
    )
    usage_error(result, "--participants", fragment)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    "events, fragment",
    [
        ("onset,offset,label\n0,1,a\n5,00:00:02,b\n", "row 3: offset 00:00:02 is before onset 5"),
        ("onset,offset,label,mood\n0,1,a,x\n", "unknown column 'mood'"),
        ("onset,offset,label\n0,soon,a\n", "row 2: onset and offset are seconds"),
    ],
)
def test_bad_events_are_one_line_and_exit_2_before_any_work(two_people, tmp_path, events, fragment):
    (tmp_path / "events.csv").write_text(events)
    result = fervision(
        "run",
        "-s",
        str(two_people),
        "--csv",
        str(tmp_path / "x.csv"),
        "--events",
        str(tmp_path / "events.csv"),
    )
    usage_error(result, fragment)
    assert not (tmp_path / "x.csv").exists()


def test_report_re_summarises_a_finished_run_by_face_ids(by_place, tmp_path):
    out, _ = by_place
    rows = read_dicts(out / "run.csv")
    ids = sorted({r["face_id"] for r in face_rows(rows) if r["face_id"]}, key=int)
    left = [i for i in ids if int(next(r["x"] for r in rows if r["face_id"] == i)) < HALF]
    spec = f"l={'+'.join(left)},r={'+'.join(i for i in ids if i not in left)}"
    result = fervision(
        "report",
        str(out / "run.csv"),
        "-o",
        str(tmp_path),
        "--participants",
        spec,
        "--segments",
        str(tmp_path / "seg.csv"),
    )
    assert result.returncode == 0, result.stderr
    table = read_dicts(tmp_path / "seg.csv")
    assert [r["participant"] for r in table] == ["l", "r"]
    for r in rows:  # the same people as by place, but untracked faces are nobody's
        who = {"interviewer": "l", "guest": "r"}.get(r["participant"], "")
        r["participant"] = who if r["face_id"] else ""
    dt, labels = interval(rows), labels_of(rows)
    for row in table:
        expected = expected_segment(rows, 0, math.inf, row["participant"], dt, labels)
        for key, value in expected.items():
            assert math.isclose(float(row[key]), value, abs_tol=2e-3), key


def test_report_refuses_an_id_the_run_lacks_and_a_place_without_a_size(by_place, tmp_path):
    csv_path = str(by_place[0] / "run.csv")
    usage_error(
        fervision("report", csv_path, "-o", str(tmp_path), "--participants", "a=1,b=99"),
        "face id 99 is not in this run",
    )
    usage_error(
        fervision("report", csv_path, "-o", str(tmp_path), "--participants", "a=left"), "--size"
    )
    assert not list(tmp_path.iterdir())  # refused before any work


def test_batch_writes_the_study_table_and_report_rebuilds_it(two_people, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "two.mp4").write_bytes(two_people.read_bytes())
    (tmp_path / "events.csv").write_text(EVENTS)
    out = tmp_path / "out"
    result = fervision(
        "batch",
        str(videos),
        "-o",
        str(out),
        "-j",
        "1",
        "--participants",
        "auto:2",
        "--events",
        str(tmp_path / "events.csv"),
        "--per-second",
    )
    assert result.returncode == 0, result.stderr
    assert (out / "two.per_second.csv").is_file()
    rows = read_dicts(out / "two.emotions.csv")
    faces = [r for r in rows if r["face_id"]]  # auto:2 resolved when the video ended
    assert [r["participant"] for r in faces] == [
        "person1" if int(r["x"]) + int(r["w"]) / 2 < HALF else "person2" for r in faces
    ]
    dt, labels = interval(rows), labels_of(rows)
    study = read_dicts(out / "summary.csv")
    segments = [
        ("", 0, math.inf),
        ("question 1", 0, 2.4),
        ("question 2", 2.4, 4.2),
        ("overlap", 1, 3),
    ]
    assert [(r["video"], r["segment"], r["participant"]) for r in study] == [
        ("two", s, who) for s, _, _ in segments for who in ("person1", "person2")
    ]
    for row in study:
        _, onset, offset = next(s for s in segments if s[0] == row["segment"])
        expected = expected_segment(rows, onset, offset, row["participant"], dt, labels)
        assert math.isclose(float(row["seconds_seen"]), expected["seconds_seen"], abs_tol=2e-3)
        assert math.isclose(float(row["valence"]), expected["valence"], abs_tol=2e-3)
        for n in labels:
            assert math.isclose(float(row[f"share_{n}"]), expected[f"share_{n}"], abs_tol=2e-3)
    again = fervision(
        "report",
        str(out / "two.emotions.csv"),
        "-o",
        str(tmp_path / "again"),
        "--participants",
        "auto:2",
        "--events",
        str(tmp_path / "events.csv"),
        "--summary",
        str(tmp_path / "summary.csv"),
    )
    assert again.returncode == 0, again.stderr
    assert read_dicts(tmp_path / "summary.csv") == study


def test_batch_names_places_in_each_csv_and_other_names_process_it_again(two_people, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "two.mp4").write_bytes(two_people.read_bytes())
    out = tmp_path / "out"
    for left, right in [("interviewer", "guest"), ("guest", "interviewer")]:
        result = fervision(
            "batch", str(videos), "-o", str(out), "-j", "1", "--participants",
            f"{left}=left,{right}=right",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("1 done, 0 skipped"), result.stdout
        rows = read_dicts(out / "two.emotions.csv")
        assert [r["participant"] for r in rows] == [
            "" if not r["x"] else left if int(r["x"]) + int(r["w"]) / 2 < HALF else right
            for r in rows
        ]
        study = read_dicts(out / "summary.csv")
        assert [r["participant"] for r in study] == [left, right]


def test_the_report_shows_participants_segments_and_valence(two_people, tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS)
    result = fervision(
        "run", "-s", str(two_people), "--csv", str(tmp_path / "run.csv"), "--participants",
        "interviewer=left,guest=right", "--events", str(tmp_path / "events.csv"), "--segments",
        str(tmp_path / "segments.csv"), "--report", str(tmp_path / "report.html"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    rows = face_rows(read_dicts(tmp_path / "run.csv"))
    assert "<h2>Participants (2)</h2>" in page and "<h2>Valence over time</h2>" in page
    for who in ("interviewer", "guest"):  # its tracks merged, pictures from all of them
        ids = sorted({int(r["face_id"]) for r in rows if r["participant"] == who and r["face_id"]})
        assert len(ids) == 2  # one before the cut, one after
        assert f"face tracks {', '.join(map(str, ids))} merged" in page
        assert page.count(f'alt="{who} at ') == 6
        assert f'alt="timeline of {who}"' in page
    assert "Face tracks (" not in page  # every track is a participant's
    body = page.split("<h2>Segments (3)</h2>")[1].split("</table>")[0]
    for row in read_dicts(tmp_path / "segments.csv"):
        cells = (
            f"<tr><td>{row['segment']}</td><td>{row['participant']}</td>"
            f"<td>{float(row['onset']):.1f} - {float(row['offset']):.1f} s</td>"
            f"<td>{float(row['seconds_seen']):.1f} s</td><td>{row['dominant']}</td>"
            f"<td>{float(row['valence']):+.2f}</td><td>{row['label_changes']}</td>"
        )
        assert cells in body, cells
    if shutil.which("chromium"):  # drawn: dark text and coloured plots on the light page
        shot = tmp_path / "report.png"
        subprocess.run(
            [shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
             "--proxy-server=127.0.0.1:9", "--window-size=1000,2150", f"--screenshot={shot}",
             (tmp_path / "report.html").as_uri()],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
        import cv2
        import numpy as np

        image = cv2.imread(str(shot))
        assert (image < 100).all(axis=2).mean() > 0.005
        assert (np.ptp(image.astype(int), axis=2) > 80).mean() > 0.005


def test_the_tables_from_python_as_rows_and_a_dataframe(by_place):
    from fervision.errors import FervisionError
    from fervision_batch.tables import Run, as_dataframe, per_second, read_events, segments

    out, _ = by_place
    run = Run(out / "run.csv", "interviewer=left,guest=right", size=(2 * HALF, HALF))
    rows = segments(run, read_events(out / "events.csv"))
    assert rows == [{k: _number(v) for k, v in r.items()} for r in read_dicts(out / "segments.csv")]
    seconds = list(per_second(run))
    assert len(seconds) == len(read_dicts(out / "per_second.csv"))
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(FervisionError, match="pip install pandas"):
            as_dataframe(rows)
    else:
        assert list(as_dataframe(rows)["participant"]) == [r["participant"] for r in rows]


def _number(text: str):
    """A table cell as the rows hold it: an int, a float, or text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
