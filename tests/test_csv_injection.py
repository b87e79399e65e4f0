"""CSV injection (issue 41): real photos and a real clip under hostile names, hostile participant
names and event labels, through ``run``, ``batch`` and ``report``. No CSV cell a spreadsheet
would evaluate is left as it was, numbers stay numbers, reading back gives the names again,
the HTML shows them as text and ELAN/BORIS files hold them exactly."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import _shared
from fervision import csvsafe

FORMULA = '=HYPERLINK("http:evil","x")'
#: Photo names a spreadsheet or a browser would act on, and awkward ones for CSV itself.
PHOTO_NAMES = [
    f"{FORMULA}.jpg",
    "+1.jpg",
    "-2.jpg",
    "@a.jpg",
    "\tTAB.jpg",
    "\rCR.jpg",
    "'=quoted.jpg",  # a leading quote of its own comes back too
    'a "quote".jpg',
    "a,comma.jpg",
    "new\nline.jpg",
    "ünïcødé 表情.jpg",
    "<img src=x onerror=alert(1)>.jpg",
]
VIDEO_NAME = '=SUM(1+1)@<img src=x onerror=alert(1)>,"v"\tü.mp4'
WHO = "@host=left,+guest=right"  # a participant's name cannot start with = (NAME=PLACE)
EVENTS = [
    ("0", "1", "=SUM(1+1)"),
    ("1", "2", "-1+2 <b>&amp;"),
    ("2", "3", "@cmd"),
]
NUMERIC = re.compile(r"(p_|raw_|share_|mean_|peak_)|^(valence|onset|offset|duration|second)$")


def fervision(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def raw_rows(path: Path) -> list[list[str]]:
    """The cells as a spreadsheet gets them (no un-wrapping)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def evaluated(cell: str) -> bool:
    """Whether a spreadsheet would take ``cell`` as a formula (a number it takes as a number)."""
    if not cell or cell[0] not in csvsafe.FORMULA_STARTS:
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def assert_safe(path: Path) -> list[list[str]]:
    """No cell of the CSV at ``path`` is evaluated, and numeric columns hold numbers."""
    rows = raw_rows(path)
    assert rows, path
    bad = [cell for row in rows for cell in row if evaluated(cell)]
    assert not bad, f"{path.name}: {bad}"
    header = rows[0]
    for row in rows[1:]:
        for name, cell in zip(header, row):
            if cell and NUMERIC.search(name):
                float(cell)  # a number, never quoted
    return rows


def column(rows: list[list[str]], name: str) -> list[str]:
    i = rows[0].index(name)
    return [row[i] for row in rows[1:] if len(row) > i]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """``run --source DIR --csv`` over real photos under hostile names, then ``report --html``."""
    base = tmp_path_factory.mktemp("photos")
    folder = base / "in"
    folder.mkdir()
    sources = [_shared("media/two_people.jpg"), _shared("media/obama_and_biden.jpg")]
    for i, name in enumerate(PHOTO_NAMES):
        shutil.copy(sources[i % 2], folder / name)
    run = fervision("run", "--source", folder, "--csv", base / "photos.csv")
    assert run.returncode == 0, run.stderr
    report = fervision("report", base / "photos.csv", "--html", "-o", base / "report")
    assert report.returncode == 0, report.stderr
    return base


def test_unit_every_formula_start_is_neutralised_and_read_back():
    cells = ["=1", "+1a", "-x", "@a", "\tx", "\rx", "'=x", "''-1", "'plain", "plain", ""]
    for cell in cells:
        written = csvsafe.safe_cell(cell)
        assert not evaluated(written)
        assert csvsafe.original(written) == cell
    for number in ("-0.2500", "+1", "-2", "1e-5", "0.5"):
        assert csvsafe.safe_cell(number) == number
    assert csvsafe.safe_cell(-0.25) == -0.25


def test_run_over_photos_neutralises_every_name_and_keeps_numbers(photos):
    rows = assert_safe(photos / "photos.csv")
    files = set(column(rows, "file"))
    assert files == {csvsafe.safe_cell(name) for name in PHOTO_NAMES}
    assert f"'{FORMULA}.jpg" in files and "'-2.jpg" in files and "''=quoted.jpg" in files
    valence = [float(v) for v in column(rows, "valence") if v]
    assert any(v < 0 for v in valence)  # a negative number stayed a number
    with open(photos / "photos.csv", newline="", encoding="utf-8") as f:
        back = {row["file"] for row in csvsafe.DictReader(f)}
    assert back == set(PHOTO_NAMES)


def test_report_gives_back_the_names_and_the_html_shows_them_as_text(photos):
    summary = json.loads((photos / "report/photos.summary.json").read_text(encoding="utf-8"))
    assert {p["file"] for p in summary["per_photo"]} == set(PHOTO_NAMES)
    page = (photos / "report/photos.report.html").read_bytes().decode("utf-8")
    assert "<img src=x onerror" not in page
    for name in PHOTO_NAMES:
        assert html.escape(name) in page, name


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A real clip under a hostile name, through ``run`` (every table and coder's file) with
    hostile participant names and event labels, then through ``batch``."""
    base = tmp_path_factory.mktemp("video")
    videos = base / "videos"
    videos.mkdir()
    shutil.copy(_shared("media/expressions_smile.mp4"), videos / VIDEO_NAME)
    with open(base / "events.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("onset", "offset", "label"), *EVENTS])
    stem = Path(VIDEO_NAME).stem
    run = fervision(
        "run", "-s", videos / VIDEO_NAME, "--csv", base / f"{stem}.csv", "--participants", WHO,
        "--events", base / "events.csv", "--segments", base / "segments.csv", "--per-second",
        base / "per_second.csv", "--states", base / "states.csv", "--eaf", base / "run.eaf",
        "--boris", base / "run.boris",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    batch = fervision(
        "batch", videos, "-o", base / "out", "-j", "1", "--participants", WHO, "--events",
        base / "events.csv", "--per-second",
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    return base


def test_run_tables_and_state_log_neutralise_participants_and_labels(video):
    stem = Path(VIDEO_NAME).stem
    rows = assert_safe(video / f"{stem}.csv")
    who = set(column(rows, "participant")) - {""}
    assert who and who <= {"'@host", "'+guest"}
    segments = assert_safe(video / "segments.csv")
    assert {label for *_, label in EVENTS} <= {
        csvsafe.original(s) for s in column(segments, "segment")
    }
    assert "'=SUM(1+1)" in column(segments, "segment")
    assert set(column(assert_safe(video / "per_second.csv"), "participant")) <= {
        "'@host",
        "'+guest",
    }
    assert_safe(video / "states.csv")
    with open(video / "states.csv", newline="", encoding="utf-8") as f:
        states = list(csvsafe.DictReader(f))
    assert {r["participant"] for r in states if not r["label"].startswith("event:")} == {
        csvsafe.original(w) for w in who
    }
    assert {f"event:{label}" for *_, label in EVENTS} <= {r["label"] for r in states}


def test_agree_reads_the_state_log_back_with_its_names(video):
    stem = Path(VIDEO_NAME).stem
    participant = next(
        w for w in ("@host", "+guest") if f"'{w}" in raw_rows(video / "states.csv")[1]
    )
    result = fervision(
        "agree", video / "states.csv", video / f"{stem}.csv", "--subject", participant, "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kappa"] == pytest.approx(1.0)


def test_elan_and_boris_hold_the_names_exactly(video):
    import pympi

    eaf = pympi.Elan.Eaf(str(video / "run.eaf"))
    participants = {eaf.tiers[t][2].get("PARTICIPANT") for t in eaf.get_tier_names()} - {None}
    assert participants and participants <= {"@host", "+guest"}
    events = [v for t in eaf.get_tier_names() if t.startswith("events")
              for *_, v in eaf.get_annotation_data_for_tier(t)]  # fmt: skip
    assert sorted(events) == sorted(label for *_, label in EVENTS)
    project = json.loads((video / "run.boris").read_text(encoding="utf-8"))
    subjects = {s["name"] for s in project["subjects_conf"].values()}
    assert participants <= subjects
    media = next(iter(project["observations"].values()))["file"]["1"]
    assert Path(media[0]).name == VIDEO_NAME


def test_batch_index_summary_and_per_second_are_safe_and_read_back(video):
    out = video / "out"
    stem = Path(VIDEO_NAME).stem
    assert_safe(out / "index.csv")
    assert_safe(out / f"{stem}.emotions.csv")
    assert_safe(out / f"{stem}.per_second.csv")
    summary = assert_safe(out / "summary.csv")
    assert set(column(summary, "video")) == {csvsafe.safe_cell(stem)}
    assert "'=SUM(1+1)" in column(summary, "segment")
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        back = list(csvsafe.DictReader(f))
    assert {r["video"] for r in back} == {stem}
    assert {r["segment"] for r in back} == {""} | {label for *_, label in EVENTS}
    page = (out / f"{stem}.report.html").read_bytes().decode("utf-8")
    assert "<img src=x onerror" not in page and html.escape(VIDEO_NAME) in page


def test_report_on_the_batch_csv_rebuilds_the_summary_table(video, tmp_path):
    out = video / "out"
    stem = Path(VIDEO_NAME).stem
    again = fervision(
        "report", out / f"{stem}.emotions.csv", "-o", tmp_path, "--html", "--participants", WHO,
        "--size", "512x512", "--events", video / "events.csv", "--summary", tmp_path / "s.csv",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert raw_rows(tmp_path / "s.csv") == raw_rows(out / "summary.csv")
    page = (tmp_path / f"{stem}.report.html").read_bytes().decode("utf-8")
    assert "<img src=x onerror" not in page and html.escape(stem) in page
