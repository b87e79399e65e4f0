"""The HTML report as people use it: ``fervision run --report``, opened offline in Chromium."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


def fervision(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _images(page: str) -> list[tuple[str, np.ndarray]]:
    """Every <img> of the page: its alt text and the decoded picture."""
    found = []
    for alt, kind, data in re.findall(
        r'<img[^>]*alt="([^"]*)" src="data:image/(png|jpeg);base64,([^"]+)"', page
    ):
        image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, f"{alt}: not a {kind}"
        found.append((alt, image))
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A run of the default pipeline on the real clip's first 150 frames, with a report."""
    from conftest import _shared

    clip = _shared("media/short_hamilton_clip.mp4")
    out = tmp_path_factory.mktemp("report")
    args = ["run", "--source", clip, "--max-frames", 150, "--csv", out / "run.csv"]
    result = fervision(*args, "--report", out / "run.html")
    assert result.returncode == 0, result.stderr
    assert f"report: {out / 'run.html'}" in result.stdout
    return out


def test_the_report_shows_every_track_offline(report):
    from fervision_batch.report import read_emotion_csv, summarize

    page = (report / "run.html").read_text()
    summary = summarize(read_emotion_csv(report / "run.csv"))
    tracks = [t["face_id"] for t in summary["tracks"]]
    assert len(tracks) >= 2
    # nothing from the network: no external script, style, font or image
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<script" not in page and "@import" not in page
    images = _images(page)
    plots = {alt for alt, _ in images if alt.startswith("timeline of face ")}
    assert plots == {f"timeline of face {fid}" for fid in tracks}
    for alt, image in images:
        assert image.std() > 5, f"{alt} is blank"
    thumbs = [image for alt, image in images if re.match(r"face \d+ at ", alt)]
    assert 2 <= len(thumbs) <= 4 * len(tracks)
    for heading in ("Whole video", "Run", "Face tracks"):
        assert f"<h2>{heading}" in page
    for setting in ("mediapipe", "keras", "bytetrack", "frames/s"):
        assert setting in page
    share = summary["video"]["emotion_share"][summary["video"]["dominant_emotion"]]
    assert f"{summary['video']['dominant_emotion']} {share:.0%}" in page


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed")
def test_chromium_renders_the_report_without_a_network(report):
    shot = report / "report.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--proxy-server=127.0.0.1:9",  # any request to the network would fail
            "--window-size=1100,2200",
            f"--screenshot={shot}",
            (report / "run.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (2200, 1100)
    # the page is drawn: dark text and coloured plots on the light background
    assert (image < 100).all(axis=2).mean() > 0.005
    assert (np.ptp(image.astype(int), axis=2) > 80).mean() > 0.005
    target = os.environ.get("FERVISION_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / "report.png")


def test_report_command_writes_html_from_a_csv(report, tmp_path):
    result = fervision("report", report / "run.csv", "--out", tmp_path, "--html")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "run.report.html").read_text()
    assert len([a for a, _ in _images(page) if a.startswith("timeline of face ")]) >= 2


def test_a_folder_of_photos_gets_each_photo_with_its_faces(photo, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "pair.jpg")
    shutil.copy(photo.parent / "team_crowd.jpg", photos / "crowd.jpg")
    out = tmp_path / "photos.html"
    result = fervision("run", "--source", photos, "--report", out, "--csv", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    faces = {"crowd.jpg": 0, "pair.jpg": 0}
    for row in (tmp_path / "p.csv").read_text().splitlines()[1:]:
        faces[["crowd.jpg", "pair.jpg"][int(row.split(",")[0])]] += 1
    assert faces["pair.jpg"] == 2 and faces["crowd.jpg"] >= 24
    assert f"2 photos, {sum(faces.values())} faces" in page
    for name, count in faces.items():
        assert f"<h3>{name}: {count} faces</h3>" in page
    pictures = dict(_images(page))
    assert set(pictures) == {"crowd.jpg", "pair.jpg"}
    assert all(p.shape[1] <= 720 for p in pictures.values())
    assert "Face tracks" not in page and "FPS" not in re.sub(r"data:[^\"]+", "", page)


def test_report_on_a_photo_runs_csv_lists_each_photo_not_a_timeline(photo, tmp_path):
    """`report` on the CSV of a folder of photos: photos and their faces, not tracks in time."""
    import json

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "pair.jpg")
    shutil.copy(photo.parent / "team_crowd.jpg", photos / "crowd.jpg")
    result = fervision("run", "--source", photos, "--csv", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr
    result = fervision("report", tmp_path / "p.csv", "--html")
    assert result.returncode == 0, result.stderr
    rows = [r.split(",") for r in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    labels = {name: [r[8] for r in rows if r[-1] == name] for name in ("crowd.jpg", "pair.jpg")}
    faces = sum(map(len, labels.values()))
    assert result.stdout.startswith(f"2 photos, {faces} faces, mostly ")
    assert f"chart: {tmp_path / 'p.photos.png'}" in result.stdout
    assert not (tmp_path / "p.timeline.png").exists()
    chart = cv2.imread(str(tmp_path / "p.photos.png"))
    assert chart is not None and chart.shape[1] > 600
    summary = json.loads((tmp_path / "p.summary.json").read_text())
    assert summary["photos"] == 2 and summary["faces"] == faces
    assert {p["file"]: p["labels"] for p in summary["per_photo"]} == labels
    page = (tmp_path / "p.report.html").read_text()
    for name, found in labels.items():
        assert f"<h3>{name}: {len(found)} faces</h3>" in page
    assert "Face tracks" not in page


def test_a_photo_report_counts_one_face_as_one_face():
    from fervision_batch.html_report import Photo, render_photos_html

    page = render_photos_html([Photo("one.jpg", b"", ["happy"])], ("happy",), title="t")
    assert "1 photo, 1 face<" in page and "<h3>one.jpg: 1 face</h3>" in page


def test_every_output_gives_an_emotion_the_same_colour():
    """The annotated video, the window's timeline and the report's plots and bars."""
    from fervision.colours import bgr
    from fervision_batch.report import label_colours
    from fervision_opencv.overlay import label_color

    labels = ("angry", "fear", "happy", "neutral", "sad", "surprise", "custom")
    page = label_colours(labels)
    assert {k: bgr(page[k]) for k in labels} == {k: label_color(k) for k in labels}
    assert len(set(page.values())) == len(labels)


def test_a_run_with_no_frame_leaves_an_earlier_report_as_it_was(tmp_path):
    """Stopped at once (Ctrl-C before the first frame): yesterday's report is kept."""
    from fervision import Pipeline, SourceInfo

    class Silent:
        def open(self):
            return SourceInfo("cam", 64, 48, 30.0, live=True)

        def frames(self):
            return iter(())

    page = tmp_path / "run.html"
    page.write_text("yesterday")
    Pipeline(Silent(), detector=None, tracker=None, classifier=None, sinks=[f"report:{page}"]).run()
    assert page.read_text() == "yesterday"


def test_a_run_ended_by_an_error_says_so_at_the_top_of_its_report(tmp_path):
    """A stream that stops delivering (exit 1): the report still closes, and says why it
    covers only part of the run."""
    from fakes import BoxDetector, FixedClassifier, ListSource
    from fervision import FervisionError, Pipeline

    page = tmp_path / "run.html"
    pipeline = Pipeline(
        ListSource(count=20, fail_after=12), detector=BoxDetector(),
        classifier=FixedClassifier(), sinks=[f"report:{page}"],
    )  # fmt: skip
    with pytest.raises(FervisionError, match="stopped delivering frames after 12 frames"):
        pipeline.run()
    text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    assert (
        "The run ended with an error after 12 frames (camera stopped delivering frames after "
        "12 frames): this report covers only those." in text
    )


def test_a_photo_report_lists_the_photos_it_could_not_read(photo, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "pair.jpg")
    (photos / "broken ü.jpg").write_bytes(photo.read_bytes()[:300])
    result = fervision("run", "--source", photos, "--report", tmp_path / "p.html")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "p.html").read_text()
    assert "1 photo, 2 faces, 1 skipped (not readable)" in page
    assert "<li>broken ü.jpg</li>" in page


def test_a_run_without_a_tracker_says_why_there_are_no_tracks(photo, tmp_path):
    clip = photo.parent / "expressions_smile.mp4"
    args = ["run", "--source", clip, "--tracker", "none", "--max-frames", 20]
    result = fervision(*args, "--report", tmp_path / "r.html", "--csv", tmp_path / "r.csv")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r.html").read_text()
    assert "20 faces were found but none tracked (a run without a tracker)" in page
    assert "not counted (no face tracks)" in page and "No face was" not in page


def test_a_run_without_a_classifier_reports_its_faces_as_not_classified(tmp_path):
    csv_path, page = tmp_path / "faces.csv", tmp_path / "faces.html"
    result = fervision(
        "run", "--source", "sample:30", "--classifier", "none", "--csv", csv_path,
        "--report", page,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("30 frames, 1 tracked face (30 frames with a face)")
    assert "not classified (a run without a classifier)" in page.read_text()
    again = fervision("report", csv_path, "--html")
    assert again.returncode == 0, again.stderr
    assert "not classified (a run without a classifier)" in again.stdout
    assert "not classified" in (tmp_path / "faces.report.html").read_text()


def test_a_photo_run_without_a_classifier_gets_a_report(photo, tmp_path):
    csv_path = tmp_path / "pair.csv"
    result = fervision("run", "--source", photo, "--classifier", "none", "--csv", csv_path)
    assert result.returncode == 0, result.stderr
    report = fervision("report", csv_path, "--html")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "pair.photos.png").stat().st_size > 1000
    page = (tmp_path / "pair.report.html").read_text()
    assert "not classified (a run without a classifier)" in page


def test_an_interrupted_run_s_report_says_so_at_the_top_with_what_it_covered(tmp_path):
    """Issue 42: after Ctrl-C only the Run table said the report was not the whole video."""
    import signal
    import time

    from conftest import _shared

    csv_path, page = tmp_path / "run.csv", tmp_path / "run.html"
    args = ["run", _shared("media/short_hamilton_clip.mp4"), "--detector", "haar"]
    process = subprocess.Popen(
        [sys.executable, "-m", "fervision", *map(str, args), "--csv", csv_path, "--report", page],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (
        csv_path.exists() and len(csv_path.read_text().splitlines()) > 20
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    text = page.read_text()
    frames = len({line.split(",")[0] for line in csv_path.read_text().splitlines()[1:]})
    notice = re.search(r'<div class="notice">([^<]*)</div>', text)
    assert notice and text.index(notice.group(0)) < text.index("<h2>Whole video</h2>")
    covered = re.search(
        r"^Interrupted: this report covers only ([\d.]+) s of the 9\.2 s source "
        r"\((\d+) of 275 frames, (\d+)%\)", notice.group(1)
    )  # fmt: skip
    assert covered, notice.group(1)
    assert abs(float(covered[1]) - frames / 29.97) <= 0.1 and int(covered[2]) == frames
    assert int(covered[3]) == round(100 * frames / 275)


def test_the_report_says_which_column_its_shares_count(report):
    """Issue 42: shares by the held label and by the highest p_ differ by several points."""
    page = (report / "run.html").read_text()
    assert "by its shown label (the CSV's <code>label</code>" in page
    assert "not by the highest smoothed probability (<code>p_</code> columns)" in page
    assert '<div class="notice">' not in page  # a whole run: nothing to warn of


def test_a_crowded_long_video_s_report_shows_the_longest_seen_and_stays_small(tmp_path):
    """Issue 40: 613 tracks made a 15.7 MB page of 2,147 images, a section per track. Here
    300 tracks over 3,000 frames: sections and pictures for the longest seen only, one
    table row a track up to its cap, the rest counted in one row; the numbers stay exact."""
    from conftest import _shared
    from fervision.types import Face, Frame, SourceInfo
    from fervision_batch.html_report import MAX_SECTIONS, MAX_TABLE_ROWS
    from fervision_batch.report_sink import THUMBNAILS, ReportSink
    from fervision_batch.report_study import MAX_VALENCE_LINES

    face = cv2.resize(cv2.imread(str(_shared("media/two_people.jpg"))), (320, 240))
    labels = ("angry", "happy", "neutral")
    sink = ReportSink(tmp_path / "crowd.html")
    sink.open(SourceInfo("crowd.mp4", 320, 240, 30.0, 3000), labels)
    rows, seen = 0, {}
    for index in range(3000):
        faces = []
        # track t (0..299) is seen from frame 10 t for 1 + (t * 7) % 40 frames; track 1000
        # all along, track 1001 in the second half (it must win its pictures late)
        ids = [t for t in range(300) if 0 <= index - 10 * t < 1 + (t * 7) % 40]
        ids += [1000] + ([1001] if index >= 1500 else [])
        for fid in ids:
            p = np.array([0.1, 0.7, 0.2]) if fid % 2 else np.array([0.6, 0.1, 0.3])
            label = labels[int(np.argmax(p))]
            box = (40, 30, 120, 120)
            faces.append(Face(box, track_id=fid, probs=p, smoothed=p, label=label))
            seen[fid] = seen.get(fid, 0) + 1
        rows += len(faces)
        sink.write(Frame(face, index, index / 30.0, "crowd.mp4", faces=faces, labels=labels))
    sink.close()
    page = (tmp_path / "crowd.html").read_text()
    assert len(page) < 1_500_000
    images = _images(page)
    timelines = [alt for alt, _ in images if alt.startswith("timeline of face")]
    longest = sorted(seen, key=lambda fid: (-seen[fid], fid))[:MAX_SECTIONS]
    assert timelines == [f"timeline of face {fid}" for fid in longest]
    assert len(images) <= 1 + MAX_SECTIONS * (1 + THUMBNAILS)
    for fid in (1000, 1001):  # the longest seen have their pictures, the late one too
        assert sum(alt.startswith(f"face {fid} at ") for alt, _ in images) == THUMBNAILS
    table = page[page.index("<h2>Face tracks (302)</h2>") :]
    assert table.count("</tr>") >= MAX_TABLE_ROWS + 1
    shorter = len(seen) - MAX_TABLE_ROWS
    assert re.search(rf"<td>{shorter} more</td><td>each seen [\d.]+ s or less</td>", table)
    assert f"<th>face detections</th><td>{rows} in " in page  # every row counted, none thinned
    # the valence plot draws the longest seen and says how many it leaves out
    drawn = MAX_VALENCE_LINES
    assert f"The {drawn} faces seen longest; {len(seen) - drawn} other faces not drawn" in page
