"""The tracker, smoothers and CSV sink of the basic plugin."""

import contextlib
import csv
import os

import numpy as np
import pytest

from fakes import BoxDetector, FixedClassifier, ListSource, RecordingSink
from fervision import FervisionError, Pipeline
from fervision.types import Face, Frame, SourceInfo
from fervision_basic.csv_sink import CsvSink, csv_columns
from fervision_basic.smoothers import EmaSmoother, PassThroughSmoother, VoteSmoother
from fervision_basic.tracker import IouTracker

LABELS = ("angry", "happy", "sad")


def frame_with(index, boxes, image=None, t=None):
    image = np.zeros((200, 300, 3), np.uint8) if image is None else image
    return Frame(
        image,
        index,
        index / 30 if t is None else t,
        "t",
        faces=[Face(b, 0.9) for b in boxes],
        labels=LABELS,
    )


def track_ids(tracker, index, boxes, image=None):
    frame = frame_with(index, boxes, image)
    tracker.update(frame)
    return [f.track_id for f in frame.faces]


def test_tracker_keeps_ids_for_moving_faces_and_new_ids_for_newcomers():
    tracker = IouTracker()
    assert track_ids(tracker, 0, [(10, 10, 40, 40)]) == [1]
    assert track_ids(tracker, 1, [(14, 10, 40, 40)]) == [1]
    assert track_ids(tracker, 2, [(18, 10, 40, 40), (200, 100, 40, 40)]) == [1, 2]
    assert track_ids(tracker, 3, [(200, 102, 40, 40), (22, 10, 40, 40)]) == [2, 1]


def test_tracker_survives_short_gaps_and_ends_tracks_after_max_age():
    tracker = IouTracker(max_age=3)
    track_ids(tracker, 0, [(10, 10, 40, 40)])
    assert track_ids(tracker, 2, [(12, 10, 40, 40)]) == [1]  # missed one frame
    for i in range(3, 7):
        track_ids(tracker, i, [])
    assert tracker.ended == [1]
    assert track_ids(tracker, 7, [(12, 10, 40, 40)]) == [2]


def test_tracker_follows_two_faces_crossing_with_their_motion():
    tracker = IouTracker()
    ids = []
    for i in range(12):  # a moves right, b moves left, same row, they cross mid-way
        a, b = (20 + 20 * i, 50, 40, 40), (240 - 20 * i, 50, 40, 40)
        ids.append(track_ids(tracker, i, [a, b]))
    assert all(pair == [1, 2] for pair in ids), ids


def test_scene_cut_ends_every_track():
    tracker = IouTracker()
    dark = np.zeros((200, 300, 3), np.uint8)
    bright = np.full((200, 300, 3), 220, np.uint8)
    track_ids(tracker, 0, [(10, 10, 40, 40)], dark)
    assert track_ids(tracker, 1, [(10, 10, 40, 40)], bright) == [2]
    assert tracker.ended == [1]


def faces_over_time(smoother, seq, dt=1 / 30, names=LABELS):
    labels = []
    for i, p in enumerate(seq):
        frame = Frame(
            np.zeros((4, 4, 3), np.uint8), i, i * dt, faces=[Face((0, 0, 2, 2))], labels=names
        )
        frame.faces[0].track_id = 1
        frame.faces[0].probs = np.array(p, np.float32)
        smoother.update(frame)
        labels.append(frame.faces[0].label)
    return labels, frame.faces[0]


HAPPY, SAD, ANGRY = [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]


def test_ema_holds_its_label_through_short_blips():
    seq = [HAPPY] * 20 + [SAD] + [HAPPY] * 10 + [SAD] * 2 + [HAPPY] * 10
    labels, _ = faces_over_time(EmaSmoother(), seq)
    assert set(labels[9:]) == {"happy"}


def test_ema_label_follows_the_average_freely_while_a_new_track_settles():
    labels, _ = faces_over_time(EmaSmoother(settle=0.3), [SAD] + [HAPPY] * 30)
    assert labels[0] == "sad"  # a label from the first frame
    assert labels[8] == "happy"  # within 0.3 s: no hold or dwell while settling
    assert labels[9:] == ["happy"] * 22  # then one calm label


def test_ema_follows_a_held_change_within_half_a_second():
    labels, face = faces_over_time(EmaSmoother(), [HAPPY] * 40 + [SAD] * 30)
    switch = labels.index("sad")
    assert 40 < switch <= 40 + 15, switch  # 15 frames = 0.5 s
    assert set(labels[switch:]) == {"sad"}
    assert face.confidence == pytest.approx(face.smoothed[2])
    assert face.smoothed.sum() == pytest.approx(1.0, abs=1e-5)


def test_ema_needs_a_margin_to_enter_a_label_and_none_to_stay():
    near = [0.1, 0.47, 0.43]  # happy leads sad by 0.04 < margin 0.1
    labels, _ = faces_over_time(EmaSmoother(margin=0.1), [SAD] * 30 + [near] * 60)
    assert labels[-1] == "sad"  # stays: happy's small lead is not enough to enter it
    labels, _ = faces_over_time(EmaSmoother(margin=0.1), [SAD] * 30 + [HAPPY] * 60)
    assert labels[-1] == "happy"


def test_ema_with_a_confidence_floor_holds_through_weak_evidence():
    weak = [0.30, 0.46, 0.24]  # happy leads sad by more than the margin, but at 0.46
    labels, _ = faces_over_time(EmaSmoother(confidence=0.5), [SAD] * 30 + [weak] * 60)
    assert labels[-1] == "sad"
    labels, _ = faces_over_time(EmaSmoother(confidence=0.0), [SAD] * 30 + [weak] * 60)
    assert labels[-1] == "happy"  # without the floor the same lead replaces it
    labels, _ = faces_over_time(EmaSmoother(confidence=0.5), [SAD] * 30 + [HAPPY] * 60)
    assert labels[-1] == "happy"  # strong evidence still does
    with pytest.raises(FervisionError, match="confidence must be a finite number, from 0 to 1"):
        EmaSmoother(confidence=1.5)


def test_ema_keeps_a_new_label_for_the_dwell_time():
    seq = [HAPPY] * 30 + [SAD] * 12 + [ANGRY] * 40
    labels, _ = faces_over_time(
        EmaSmoother(tau=0.2, margin=0.15, hold=0.1, dwell=1.0, urgent=1.0), seq
    )
    entered = labels.index("sad")
    assert labels[entered : entered + 30] == ["sad"] * 30  # 1 s, though angry leads
    assert labels[-1] == "angry"
    labels, _ = faces_over_time(EmaSmoother(tau=0.2, margin=0.15, hold=0.1, dwell=0.0), seq)
    assert labels.index("angry") < entered + 30


def test_ema_shows_a_clear_change_before_the_dwell_time_ends():
    seq = [HAPPY] * 30 + [SAD] * 12 + [ANGRY] * 40
    labels, _ = faces_over_time(
        EmaSmoother(tau=0.2, margin=0.15, hold=0.1, dwell=1.0, urgent=0.3), seq
    )
    entered = labels.index("sad")
    assert labels.index("angry") < entered + 15  # angry leads sad by far more than 0.3
    mild = [0.45, 0.1, 0.45 - 0.2]  # angry leads sad by 0.2: above margin, below urgent
    labels, _ = faces_over_time(
        EmaSmoother(tau=0.2, margin=0.15, hold=0.1, dwell=1.0, urgent=0.3), seq[:42] + [mild] * 40
    )
    assert labels[entered : entered + 30] == ["sad"] * 30


def test_ema_lets_go_of_a_label_whose_average_fell_below_chance():
    """No "happy 17%" held by the margin while fear leads at 34% (three classes: chance 1/3)."""
    smoother = dict(tau=0.2, margin=0.15, hold=0.1, dwell=0.5, urgent=1.0)
    fallen = [0.40, 0.32, 0.28]  # sad below 1/3; angry leads it by 0.12, under the margin
    labels, _ = faces_over_time(EmaSmoother(**smoother), [SAD] * 30 + [fallen] * 30)
    assert labels[-1] == "angry" and labels.index("angry") < 30 + 25  # sad < 1/3 in 0.5 s
    above = [0.36, 0.29, 0.35]  # sad still above chance: the margin holds it
    labels, _ = faces_over_time(EmaSmoother(**smoother), [SAD] * 30 + [above] * 30)
    assert labels[30:] == ["sad"] * 30


def test_ema_returns_to_neutral_when_an_expression_fades_unless_another_clearly_leads():
    """Surprise fading while happy and neutral are close: neutral, not happy by a hair
    (speech after a surprise); happy well ahead of neutral: happy."""
    names = ("angry", "happy", "neutral", "surprise")  # chance 1/4
    smoother = dict(tau=0.2, margin=0.15, hold=0.1, dwell=0.5, urgent=1.0)
    surprise = [0.05, 0.05, 0.1, 0.8]
    close = [0.1, 0.39, 0.38, 0.13]
    labels, _ = faces_over_time(
        EmaSmoother(**smoother), [surprise] * 30 + [close] * 30, names=names
    )
    assert labels[29] == "surprise" and labels[-1] == "neutral" and "happy" not in labels
    clear = [0.05, 0.6, 0.2, 0.15]
    labels, _ = faces_over_time(
        EmaSmoother(**smoother), [surprise] * 30 + [clear] * 30, names=names
    )
    assert labels[-1] == "happy" and "neutral" not in labels
    plain = ("angry", "happy", "calm", "surprise")  # no neutral: the leader, as before
    labels, _ = faces_over_time(
        EmaSmoother(**smoother), [surprise] * 30 + [close] * 30, names=plain
    )
    assert labels[-1] == "happy"


def test_raw_labels_flicker_where_smoothed_ones_do_not():
    rng = np.random.default_rng(0)
    seq = [[0.1, 0.5, 0.4] if rng.random() < 0.6 else [0.1, 0.4, 0.5] for _ in range(90)]
    raw, _ = faces_over_time(PassThroughSmoother(), seq)
    smooth, _ = faces_over_time(EmaSmoother(), seq)
    changes = lambda xs: sum(a != b for a, b in zip(xs[10:], xs[11:]))  # noqa: E731
    assert changes(raw) > 20 and changes(smooth) <= 1


def test_vote_smoother_takes_the_window_majority():
    labels, _ = faces_over_time(VoteSmoother(window=5), [HAPPY] * 5 + [SAD] * 2 + [HAPPY])
    assert labels[5:] == ["happy"] * 3


def test_smoother_forgets_ended_tracks():
    smoother = EmaSmoother()
    faces_over_time(smoother, [HAPPY])
    smoother.forget([1])
    assert smoother.states == {}


def test_smoother_passes_through_faces_without_track_id():
    frame = frame_with(0, [(0, 0, 5, 5)])
    frame.faces[0].probs = np.array([0.2, 0.2, 0.6], np.float32)
    EmaSmoother().update(frame)
    assert frame.faces[0].label == "sad"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_has_the_documented_columns_and_a_row_for_faceless_frames(tmp_path):
    path = tmp_path / "out.csv"
    Pipeline(
        ListSource(count=6),
        detector=BoxDetector(empty={2, 3}),
        classifier=FixedClassifier(),
        smoother=EmaSmoother(settle=0),
        sinks=[CsvSink(path)],
    ).run()
    rows = read_csv(path)
    assert rows[0] == [
        "frame",
        "timestamp_s",
        "face_id",
        "x",
        "y",
        "w",
        "h",
        "det_score",
        "label",
        "confidence",
        "p_angry",
        "p_happy",
        "p_sad",
        "raw_angry",
        "raw_happy",
        "raw_sad",
        "classified_frame",
        "valence",
        "participant",
    ]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3", "4", "5"]
    assert rows[3][2:] == [""] * 17
    assert rows[1][2] == "1" and rows[1][8] in LABELS
    assert abs(sum(float(v) for v in rows[1][10:13]) - 1) < 1e-3
    assert [r[-3] for r in rows[1:]] == ["0", "1", "", "", "4", "5"]  # classified on each


def test_csv_columns_follow_the_model_labels():
    assert csv_columns(tuple("abcdefg"))[-17:] == [f"p_{c}" for c in "abcdefg"] + [
        f"raw_{c}" for c in "abcdefg"
    ] + ["classified_frame", "valence", "participant"]


def test_only_the_classifier_columns_carry_the_raw_prefix_even_for_a_label_frame():
    columns = csv_columns(("frame", "happy"))
    assert len(set(columns)) == len(columns)
    assert [c for c in columns if c.startswith("raw_")] == ["raw_frame", "raw_happy"]
    assert [c for c in columns if c.startswith("p_")] == ["p_frame", "p_happy"]


def test_labels_that_would_repeat_a_csv_column_are_refused_in_one_line(tmp_path):
    sink = CsvSink(tmp_path / "twice.csv")
    with pytest.raises(FervisionError) as err:
        sink.open(SourceInfo("clip.mp4", 300, 200, 25.0), ("happy", "sad", "happy"))
    assert "p_happy, raw_happy twice" in str(err.value) and "\n" not in str(err.value)


def test_a_photo_run_names_each_row_s_photo_in_a_last_file_column(tmp_path):
    photos = tmp_path / "photos"
    (photos / "day2").mkdir(parents=True)
    sink = CsvSink(tmp_path / "photos.csv")
    sink.open(SourceInfo(str(photos), 300, 200, 1.0, frame_count=2), LABELS)
    for i, name in enumerate(["a.jpg", "day2/b.png"]):  # b.png: after an unreadable photo
        frame = frame_with(i, [(10, 10, 50, 50)] if i == 0 else [])
        frame.source_id = str(photos / name)
        sink.write(frame)
    sink.close()
    rows = read_csv(tmp_path / "photos.csv")
    assert rows[0][-2:] == ["participant", "file"]
    assert [r[-1] for r in rows[1:]] == ["a.jpg", os.path.join("day2", "b.png")]
    assert all(len(r) == len(rows[0]) for r in rows)
    video = CsvSink(tmp_path / "video.csv")
    video.open(SourceInfo("clip.mp4", 300, 200, 30.0, frame_count=90), LABELS)
    video.write(frame_with(0, []))
    video.close()
    assert read_csv(tmp_path / "video.csv")[0][-1] == "participant"  # no file column for video


def test_an_earlier_csv_is_kept_when_the_run_fails_before_its_first_frame(tmp_path):
    class Unopenable(RecordingSink):
        def open(self, info, labels):
            raise OSError(13, "Permission denied")

    path = tmp_path / "emotions.csv"
    path.write_text("frame,timestamp_s\n0,0.000\n")  # yesterday's results
    with pytest.raises(FervisionError, match="cannot open unopenable sink: PermissionError"):
        Pipeline(ListSource(5), detector=BoxDetector(), sinks=[CsvSink(path), Unopenable()]).run()
    assert path.read_text() == "frame,timestamp_s\n0,0.000\n"
    Pipeline(ListSource(5), detector=BoxDetector(), classifier=None, sinks=[CsvSink(path)]).run()
    assert len(read_csv(path)) == 6  # a run that gets frames replaces it


def test_csv_rows_are_flushed_as_frames_arrive(tmp_path):
    path = tmp_path / "live.csv"
    sink = CsvSink(path)
    sink.open(SourceInfo("x", 10, 10, 30), LABELS)
    sink.write(frame_with(0, []))
    assert len(read_csv(path)) == 2  # readable before close
    sink.close()


@contextlib.contextmanager
def file_size_limit(size: int):
    """Lower this process's file size limit (RLIMIT_FSIZE) inside the block: a write past
    it fails with EFBIG. Kept short, or pytest's own output to a large log file fails too."""
    resource = pytest.importorskip("resource")
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)


def test_csv_cut_back_to_whole_frames_when_a_write_fails(tmp_path):
    path = tmp_path / "full.csv"
    sink = CsvSink(path)
    sink.open(SourceInfo("x", 100, 100, 30), LABELS)
    faces = [(1, 2, 30, 30), (50, 2, 30, 30)]
    sink.write(frame_with(0, faces))  # the header comes with the first frame
    header = len(path.read_bytes().split(b"\r\n")[0]) + 2
    frame_bytes = path.stat().st_size - header
    with file_size_limit(header + int(2.5 * frame_bytes)):  # room for two frames and a half
        sink.write(frame_with(1, faces))
        with pytest.raises(FervisionError) as err:
            for index in range(2, 10):
                sink.write(frame_with(index, faces))
    sink.close()
    assert str(err.value) == (
        f"cannot write CSV {path}: File too large (it holds frames up to 1, every row whole)"
    )
    assert path.stat().st_size == header + 2 * frame_bytes  # the half frame is gone
    rows = read_csv(path)
    assert [r[0] for r in rows[1:]] == ["0", "0", "1", "1"]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert path.read_bytes().endswith(b"\r\n")


def test_csv_path_in_a_missing_directory_fails_before_processing(tmp_path):
    with pytest.raises(FervisionError, match="does not exist"):
        CsvSink(tmp_path / "nope" / "out.csv")


def test_csv_path_in_a_read_only_directory_fails(read_only_dir):
    with pytest.raises(FervisionError, match="not writable"):
        CsvSink(read_only_dir / "out.csv")


def test_a_csv_path_ending_in_a_slash_is_a_folder_not_a_file_name(tmp_path):
    with pytest.raises(FervisionError, match="give a file name, not a folder"):
        CsvSink(f"{tmp_path}/logs/")
    assert not (tmp_path / "logs").exists()
