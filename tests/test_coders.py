"""The round trip with the coders' tools: what fervision writes, read by ELAN's library (pympi),
ELAN's schema and BORIS's own project code; ``agree`` checked against scikit-learn."""

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

BORIS_PROBE = Path(__file__).with_name("boris_probe.py")
BORIS_PYTHON = Path(
    os.environ.get(
        "FERVISION_BORIS_PYTHON",
        Path.home() / ".cache" / "fervision" / "boris-venv" / "bin" / "python",
    )
)
EVENTS = "onset,offset,label\n0.5,1.5,greeting\n1.0,2.0,question\n00:02,3.0,greeting\n"


def fervision(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def frames_of(csv_path: Path) -> list[tuple[float, str]]:
    """Each frame's time and the label of its face (the clip has one face)."""
    with open(csv_path, newline="") as f:
        return [(float(r["timestamp_s"]), r["label"]) for r in csv.DictReader(f)]


def label_at(annotations, ms: float) -> str:
    """The annotation holding time ``ms`` (begin <= ms < end), "" when none."""
    hits = [value for begin, end, value, *_ in annotations if begin <= ms < end]
    return hits[-1] if hits else ""


@pytest.fixture(scope="module")
def smile_run(tmp_path_factory) -> Path:
    """``fervision run`` on the real smile clip (neutral, then smiles), every coder file out."""
    folder = tmp_path_factory.mktemp("smile")
    shutil.copy(_shared("media/expressions_smile.mp4"), folder / "smile.mp4")
    (folder / "events.csv").write_text(EVENTS)
    result = fervision(
        "run", "-s", "smile.mp4", "--csv", "run.csv", "--eaf", "run.eaf", "--boris",
        "run.boris", "--states", "states.csv", "--events", "events.csv", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("run.eaf", "run.boris", "states.csv"):
        assert f": {name}" in result.stdout
    return folder


def test_eaf_is_valid_elan_and_holds_the_csv_labels_at_every_frame(smile_run):
    import pympi
    import xmlschema

    eaf_path = smile_run / "run.eaf"
    xmlschema.XMLSchema(str(_shared("coders/EAFv3.0.xsd"))).validate(str(eaf_path))
    eaf = pympi.Elan.Eaf(str(eaf_path))
    assert set(eaf.get_tier_names()) == {"face 1", "events", "events 2"}
    media = eaf.media_descriptors[0]
    assert media["RELATIVE_MEDIA_URL"] == "./smile.mp4"
    assert media["MEDIA_URL"] == (smile_run / "smile.mp4").absolute().as_uri()
    linked = [d["RELATIVE_LINK_URL"] for d in eaf.linked_file_descriptors]
    assert linked == ["./run.face_1.timeseries.csv", "./run_tsconf.xml"]  # ELAN's time series
    annotations = eaf.get_annotation_data_for_tier("face 1")
    assert all(end > begin for begin, end, _ in annotations)
    frames = frames_of(smile_run / "run.csv")
    same = sum(label_at(annotations, round(t * 1000)) == label for t, label in frames)
    assert same >= 0.99 * len(frames)
    assert {value for *_, value in annotations} == {"neutral", "happy"}  # the clip's two
    events = eaf.get_annotation_data_for_tier("events") + eaf.get_annotation_data_for_tier(
        "events 2"
    )
    assert sorted(events) == [(500, 1500, "greeting"), (1000, 2000, "question"),
                              (2000, 3000, "greeting")]  # fmt: skip


def test_a_face_that_leaves_closes_its_segment_and_times_are_whole_ms(tmp_path):
    import pympi

    from fervision_coders import Coding, write_eaf

    times = [i / 30 for i in range(9)]  # 33.3 ms frames: times that are not whole ms
    labels = {"face 1": ["happy"] * 3 + [""] * 3 + ["happy"] * 3, "face 2": ["sad"] * 9}
    write_eaf(Coding(times, labels, ("happy", "sad")), tmp_path / "gap.eaf")
    eaf = pympi.Elan.Eaf(str(tmp_path / "gap.eaf"))
    assert eaf.get_annotation_data_for_tier("face 1") == [(0, 100, "happy"), (200, 300, "happy")]
    assert eaf.get_annotation_data_for_tier("face 2") == [(0, 300, "sad")]


def test_state_log_has_one_row_per_segment_covering_the_labelled_frames(smile_run):
    with open(smile_run / "states.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["participant", "label", "onset", "offset", "duration"]
    faces = [r for r in rows if not r["label"].startswith("event:")]
    frames = frames_of(smile_run / "run.csv")
    dt = (frames[-1][0] - frames[0][0]) / (len(frames) - 1)
    for label in ("neutral", "happy"):
        seconds = sum(float(r["duration"]) for r in faces if r["label"] == label)
        assert seconds == pytest.approx(sum(x == label for _, x in frames) * dt, abs=0.002)
    assert all(a["offset"] == b["onset"] for a, b in zip(faces, faces[1:]))  # no gap: one face
    assert all(a["label"] != b["label"] for a, b in zip(faces, faces[1:]))  # merged


def boris(project: Path) -> dict:
    """BORIS's own reading of ``project``: integrity messages and time budget."""
    if not BORIS_PYTHON.exists():
        reason = f"BORIS is not installed at {BORIS_PYTHON} (.ci/run sets it up)"
        if os.environ.get("FERVISION_REQUIRE_BORIS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [str(BORIS_PYTHON), str(BORIS_PROBE), str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_boris_opens_the_project_finds_no_integrity_error_and_its_time_budget_matches(
    smile_run,
):
    found = boris(smile_run / "run.boris")
    assert "error" not in found
    assert found["integrity"] == ""
    budget = found["time_budget"]["face 1"]
    frames = frames_of(smile_run / "run.csv")
    for label in ("neutral", "happy"):
        share = sum(x == label for _, x in frames) / len(frames)
        assert budget[label] / sum(budget.values()) == pytest.approx(share, abs=0.01)


def test_boris_integrity_check_does_report_a_broken_project():
    found = boris(_shared("coders/boris_test.boris"))  # its media files are not here
    assert "was not found" in found["integrity"]


def coder_eaf(run: Path, path: Path) -> list[tuple[int, int, str]]:
    """A coder's ELAN file written with pympi: the machine's segments on a tier named
    otherwise, a boundary moved, a stretch relabelled and 'joy' for happy at the end."""
    import pympi

    machine = pympi.Elan.Eaf(str(run / "run.eaf")).get_annotation_data_for_tier("face 1")
    (b0, e0, v0), (b1, e1, v1), *rest = machine
    coded = [(b0, e0 - 200, v0), (e0 - 200, e1 - 700, v1), (e1 - 700, e1 - 300, "sad")]
    coded += [(e1 - 300, e1, "joy")] + [(b, e, v) for b, e, v in rest]
    eaf = pympi.Elan.Eaf(author="a coder")
    eaf.add_linked_file(str(run / "smile.mp4"), mimetype="video/mp4")
    eaf.add_tier("coder A")
    eaf.add_tier("notes")
    for begin, end, value in coded:
        eaf.add_annotation("coder A", begin, end, value)
    eaf.add_annotation("notes", 0, 500, "start")
    eaf.to_file(str(path))
    return coded


def test_agree_on_a_coders_eaf_gives_the_kappa_and_confusion_of_scikit_learn(smile_run):
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    coded = coder_eaf(smile_run, smile_run / "coder.eaf")
    result = fervision(
        "agree", "coder.eaf", "run.csv", "--tier", "coder A", "--map", "joy=happy", "--json",
        cwd=smile_run,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    frames = frames_of(smile_run / "run.csv")
    dt = (frames[-1][0] - frames[0][0]) / (len(frames) - 1)
    mapped = [(b, e, "happy" if v == "joy" else v) for b, e, v in coded]
    pairs = [(label_at(mapped, (t + dt / 2) * 1000), m) for t, m in frames]
    pairs = [(c, m) for c, m in pairs if c and m]
    coder, machine = zip(*pairs)
    assert found["frames"] == len(pairs) == len(frames)
    assert found["kappa"] == pytest.approx(cohen_kappa_score(coder, machine), abs=1e-9)
    assert 0.3 < found["kappa"] < 0.99  # the edits count: not a copy, not noise
    expected = confusion_matrix(coder, machine, labels=found["labels"]).tolist()
    assert found["confusion"] == expected
    assert found["not_model_labels"] == {}  # joy was mapped
    text = fervision("agree", "coder.eaf", "run.csv", "--tier", "coder A", cwd=smile_run)
    assert "coder's labels that are not the model's: joy" in text.stdout


def test_agree_reads_back_the_boris_project_and_state_log_as_written(smile_run):
    for coded, options in (("run.boris", ["--subject", "face 1"]), ("states.csv", [])):
        result = fervision("agree", coded, "run.csv", "--json", *options, cwd=smile_run)
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
        assert found["kappa"] == pytest.approx(1.0)
        assert found["frames"] == len(frames_of(smile_run / "run.csv"))


@pytest.mark.parametrize(
    "coded, options, says",
    [
        ("notes.txt", [], "is not a coder's file fervision reads"),
        ("coder.eaf", ["--tier", "coder B"], "its tiers: 'coder A', 'notes'"),
        ("coder.eaf", [], "give --tier ('coder A', 'notes')"),
        ("late.eaf", [], "past the video's end"),
        ("BORIS", ["--subject", "nobody"], "its subjects: 'subject1', 'subject2'"),
        ("coder.eaf", ["--tier", "coder A", "--map", "joy"], "not CODER=MODEL"),
    ],
)
def test_agree_bad_input_is_one_line_and_exit_2(smile_run, coded, options, says):
    import pympi

    (smile_run / "notes.txt").write_text("not a coder's file\n")
    late = pympi.Elan.Eaf()
    late.add_tier("late")
    late.add_annotation("late", 1000, 60_000, "happy")  # the clip is 3.1 s long
    late.to_file(str(smile_run / "late.eaf"))
    if not (smile_run / "coder.eaf").exists():
        coder_eaf(smile_run, smile_run / "coder.eaf")
    if coded == "BORIS":
        coded = _shared("coders/boris_test.boris")
    result = fervision("agree", coded, "run.csv", *options, cwd=smile_run)
    assert result.returncode == 2
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_report_writes_the_coder_files_from_a_finished_csv(smile_run, tmp_path):
    import pympi

    result = fervision(
        "report", smile_run / "run.csv", "--out", tmp_path, "--eaf", tmp_path / "r.eaf",
        "--states", tmp_path / "r.csv", "--boris", tmp_path / "r.boris", "--media",
        smile_run / "smile.mp4", "--events", smile_run / "events.csv",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tier = pympi.Elan.Eaf(str(tmp_path / "r.eaf")).get_annotation_data_for_tier("face 1")
    ran = pympi.Elan.Eaf(str(smile_run / "run.eaf")).get_annotation_data_for_tier("face 1")
    assert tier == ran
    assert (tmp_path / "r.csv").read_text().splitlines()[:4] == (
        (smile_run / "states.csv").read_text().splitlines()[:4]
    )
    project = json.loads((tmp_path / "r.boris").read_text())
    media = next(iter(project["observations"].values()))["file"]["1"]
    assert media == [str((smile_run / "smile.mp4").absolute())]  # not beside: a full path
    no_media = fervision("report", smile_run / "run.csv", "--out", tmp_path, "--boris", "x.boris")
    assert no_media.returncode == 2 and "give --media VIDEO" in no_media.stderr


def check_time_series(eaf_path: Path, run_csv: Path) -> dict[str, list[float]]:
    """The time series an ``.eaf`` links, read as ELAN reads them, against the per-frame CSV:
    every column its ``_tsconf.xml`` names exists, each participant's times and values are the
    CSV's, inside the participant's tier. Each participant's sample times."""
    import xml.etree.ElementTree as ET
    from urllib.parse import unquote, urlparse

    import pympi
    import xmlschema

    xmlschema.XMLSchema(str(_shared("coders/EAFv3.0.xsd"))).validate(str(eaf_path))
    eaf = pympi.Elan.Eaf(str(eaf_path))
    links = {d["LINK_URL"]: d for d in eaf.linked_file_descriptors}
    conf = eaf_path.with_name(f"{eaf_path.stem}_tsconf.xml")  # ELAN's name for NAME.eaf's
    assert links[conf.absolute().as_uri()]["MIME_TYPE"] == "text/xml"
    with open(run_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["p_happy"]]
    probabilities = [c for c in rows[0] if c.startswith("p_")]
    expected: dict[str, dict[int, dict]] = {}
    for r in rows:
        who = r.get("participant") or f"face {r['face_id']}"
        expected.setdefault(who, {}).setdefault(int(r["frame"]), r)
    seen = {}
    for source in ET.parse(conf).getroot().iter("tracksource"):
        url = source.get("source-url")
        assert links[url]["RELATIVE_LINK_URL"] == "./" + Path(unquote(urlparse(url).path)).name
        lines = Path(unquote(urlparse(url).path)).read_text().splitlines()
        header = lines[0].removeprefix("#").split(",")  # a comment line: ELAN skips it
        data = [line.split(",") for line in lines[1:] if line and not line.startswith("#")]
        assert header == ["time_s", *probabilities, "valence"]
        assert source.get("time-column") == "0" and source.get("sample-type")
        assert all(len(cells) == len(header) for cells in data)
        tracks = source.findall("track")
        who = tracks[0].get("name").rsplit(" ", 1)[0]
        columns = [int(t.find("sample-position/pos").get("col")) for t in tracks]
        assert sorted(columns) == list(range(1, len(header)))  # every value column a track
        for track, col in zip(tracks, columns):
            assert track.get("name") == f"{who} {header[col].removeprefix('p_')}"
            low, high = float(track.find("range").get("min")), float(track.find("range").get("max"))
            assert (low, high) == ((-1.0, 1.0) if header[col] == "valence" else (0.0, 1.0))
            assert all(low <= float(cells[col]) <= high for cells in data)
        frames = expected[who]
        times = [float(cells[0]) for cells in data]
        assert times == [float(r["timestamp_s"]) for _, r in sorted(frames.items())]
        for cells, (_, r) in zip(data, sorted(frames.items())):
            assert cells[1:] == [r[c] for c in header[1:]]
        tier = eaf.get_annotation_data_for_tier(who)
        assert tier[0][0] <= round(times[0] * 1000) and round(times[-1] * 1000) < tier[-1][1]
        seen[who] = times
    assert set(seen) == set(expected) == set(eaf.get_tier_names()) - {"events", "events 2"}
    return seen


def test_eaf_links_the_probabilities_and_valence_as_elan_time_series(smile_run):
    times = check_time_series(smile_run / "run.eaf", smile_run / "run.csv")
    assert list(times) == ["face 1"] and len(times["face 1"]) > 50


def test_each_participant_gets_its_own_time_series_tracks(tmp_path):
    """Two people side by side (a cut between): a CSV and tracks per named participant."""
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("two", repo / "scripts/two_person_clip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    clip = module.make_two_person_clip(
        tmp_path / "two.mp4", _shared("media/talking_head_suit.mp4").parent
    )
    result = fervision(
        "run", "-s", clip, "--csv", tmp_path / "run.csv", "--eaf", tmp_path / "run.eaf",
        "--participants", "interviewer=left,guest=right",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    times = check_time_series(tmp_path / "run.eaf", tmp_path / "run.csv")
    assert set(times) == {"interviewer", "guest"}
    assert (tmp_path / "run.interviewer.timeseries.csv").is_file()
    assert (tmp_path / "run.guest.timeseries.csv").is_file()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_coder_files_get_the_permissions_the_umask_gives_new_files(tmp_path, umask, mode):
    """Shared lab folders: an .eaf or .boris is readable as the user's other files are."""
    from fervision.outputs import write_atomic

    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "clip.eaf", b"<ANNOTATION_DOCUMENT/>")
    finally:
        os.umask(previous)
    assert (tmp_path / "clip.eaf").stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["clip.eaf"]  # no partial file left


def test_faces_are_in_numeric_order_in_the_tables_and_coders_files(tmp_path):
    """face 2 before face 10: in the per-second table, the ELAN tiers and the state log."""
    import pympi

    csv_path = tmp_path / "stage.csv"
    clip = _shared("media/short_hamilton_clip.mp4")
    run = subprocess.run(
        [sys.executable, "-m", "fervision", "run", str(clip), "--csv", str(csv_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    outputs = {"ps": tmp_path / "ps.csv", "eaf": tmp_path / "s.eaf", "st": tmp_path / "st.csv"}
    args = ["--per-second", outputs["ps"], "--eaf", outputs["eaf"], "--states", outputs["st"]]
    report = subprocess.run(
        [sys.executable, "-m", "fervision", "report", str(csv_path), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    with open(csv_path, newline="") as f:
        ids = {int(row["face_id"]) for row in csv.DictReader(f) if row["face_id"]}
    assert max(ids) >= 10  # the clip's crowd gives two-digit ids
    with open(outputs["ps"], newline="") as f:
        per_second = [(int(r["second"]), int(r["face_id"])) for r in csv.DictReader(f)]
    assert per_second == sorted(per_second)
    tiers = [t.split(" ")[1] for t in pympi.Elan.Eaf(str(outputs["eaf"])).get_tier_names()]
    face_tiers = [int(t) for t in tiers if t.isdigit()]
    assert face_tiers == sorted(ids)
    with open(outputs["st"], newline="") as f:
        states = [(float(r["onset"]), int(r["participant"].split()[1])) for r in csv.DictReader(f)]
    assert states == sorted(states)


def test_agree_takes_codes_up_to_the_end_of_the_files_sound(smile_run):
    """A coder codes to the end ELAN shows, which may be the sound's, after the last frame."""
    import pympi

    frames = frames_of(smile_run / "run.csv")
    end_ms = round(frames[-1][0] * 1000) + 800  # sound that outlasts the frames by 0.8 s
    eaf = pympi.Elan.Eaf()
    eaf.add_tier("coder A")
    eaf.add_annotation("coder A", 0, end_ms, "happy")
    eaf.to_file(str(smile_run / "to_the_end.eaf"))
    result = fervision("agree", "to_the_end.eaf", "run.csv", "--json", cwd=smile_run)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"] == len(frames)


def test_events_past_the_videos_end_are_cut_there_as_in_the_tables(smile_run, tmp_path):
    """An event running past the video ends with it in every coder's file, one after it is
    left out: ``agree`` then reads fervision's own events tier back."""
    import pympi

    end = frames_of(smile_run / "run.csv")[-1][0]
    (tmp_path / "late.csv").write_text("onset,offset,label\n2,4.5,part B\n5,6,after\n")
    result = fervision(
        "report", smile_run / "run.csv", "--out", tmp_path, "--eaf", tmp_path / "r.eaf",
        "--states", tmp_path / "r.csv", "--boris", tmp_path / "r.boris", "--media",
        smile_run / "smile.mp4", "--events", tmp_path / "late.csv", "--segments",
        tmp_path / "seg.csv",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "seg.csv", newline="") as f:
        table_end = float(next(r for r in csv.DictReader(f) if r["segment"] == "part B")["offset"])
    assert end < table_end < end + 0.1
    eaf = pympi.Elan.Eaf(str(tmp_path / "r.eaf"))
    assert eaf.get_annotation_data_for_tier("events") == [(2000, round(table_end * 1000), "part B")]
    with open(tmp_path / "r.csv", newline="") as f:
        events = [r for r in csv.DictReader(f) if r["label"].startswith("event:")]
    assert [(r["label"], float(r["offset"])) for r in events] == [("event:part B", table_end)]
    project = json.loads((tmp_path / "r.boris").read_text())
    observation = next(iter(project["observations"].values()))
    assert max(e[0] for e in observation["events"]) <= table_end
    agree = fervision("agree", tmp_path / "r.eaf", smile_run / "run.csv", "--tier", "events")
    assert "past the video's end" not in agree.stderr
