"""Track ids over a real clip: from a face's first frame in files, as every output shows them."""

import csv

import numpy as np

from conftest import _shared
from fervision import Pipeline
from fervision.types import Face, Frame
from fervision_basic.bytetrack import ByteTracker
from fervision_basic.tracker import iou_matrix


def _frames(name, n):
    """The first ``n`` frames of a clip in shared/media, at 400x400."""
    import cv2

    capture, out = cv2.VideoCapture(str(_shared(f"media/{name}"))), []
    while len(out) < n and (image := capture.read()[1]) is not None:
        out.append(cv2.resize(image, (400, 400)))
    return out


def _face_rows(tmp_path, images, fps):
    """The CSV rows with a face of a default run over ``images``, written as an intra-only
    MJPG file (so equal images decode to equal pixels)."""
    import cv2

    video, out = tmp_path / "video.avi", tmp_path / "run.csv"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), fps, (400, 400))
    for image in images:
        writer.write(image)
    writer.release()
    Pipeline(str(video), sinks=[f"csv:{out}"]).run()
    with open(out, newline="") as f:
        return [r for r in csv.DictReader(f) if r["face_id"]]


def test_over_a_file_a_confirmed_track_has_its_id_from_its_first_frame(tmp_path):
    """Issue 42: after a cut, a face's first two frames had an empty face_id."""
    out = tmp_path / "run.csv"
    pipeline = Pipeline(_shared("media/short_hamilton_clip.mp4"), sinks=[f"csv:{out}"])
    summary = pipeline.run()
    with open(out, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["x"]]
    box = lambda r: np.array([[float(r[k]) for k in "xywh"]])  # noqa: E731
    first: dict[str, dict] = {}
    for row in rows:
        if row["face_id"]:
            first.setdefault(row["face_id"], row)
    assert len(first) >= 8  # the clip's cuts start new tracks mid-clip
    for face_id, row in first.items():
        before = [r for r in rows if int(r["frame"]) == int(row["frame"]) - 1]
        untracked = [r for r in before if not r["face_id"]]
        overlaps = [iou_matrix(box(row), box(r))[0, 0] for r in untracked]
        assert max(overlaps, default=0) < 0.3, f"face {face_id} was there untracked before"
        assert row["label"], row  # classified and smoothed under its id from the start
    counted = {fid: sum(r["face_id"] == fid for r in rows) for fid in first}
    assert counted == {str(k): v for k, v in summary.track_frames.items()}  # one story


def test_frame_by_frame_as_live_sources_a_track_still_waits_for_its_id():
    """update() alone (cameras, streams) gives no id back: those frames are gone already."""
    tracker = ByteTracker()
    image = np.full((240, 320, 3), 90, np.uint8)
    seen = []
    for index in range(5):
        faces = [Face((10, 10, 60, 60), 0.9)] + ([Face((200, 20, 50, 50), 0.9)] if index else [])
        frame = Frame(image, index, index / 30, faces=faces)
        tracker.update(frame)
        seen.append([f.track_id for f in frame.faces])
    assert seen == [[1], [1, None], [1, None], [1, 2], [1, 2]]
    held = ByteTracker()
    frames = [Frame(image, i, i / 30, faces=[Face((200, 20, 50, 50), 0.9)]) for i in range(4)]
    frames[0].faces = []
    assert [[f.track_id for f in fr.faces] for fr in held.track_stream(frames)] == [
        [],
        [1],
        [1],
        [1],
    ]


def test_the_same_footage_after_a_cut_gets_the_same_labels(tmp_path):
    """Issue 42: a face is classified on its track's clock from its first frame, so the
    same shot appearing twice in a file (A, B, A; an intra-only MJPG file, so both copies
    decode to the same pixels) is labelled the same both times."""
    shot, other = _frames("talking_head_glasses.mp4", 75), _frames("expressions_smile.mp4", 40)
    rows = _face_rows(tmp_path, shot + other + shot, 25)
    tracks: dict[str, list] = {}
    for row in rows:
        tracks.setdefault(row["face_id"], []).append(row)
    first, last = tracks[min(tracks, key=int)], tracks[max(tracks, key=int)]
    assert len(tracks) == 3 and len(first) == len(last) == 75
    assert [r["label"] for r in first] == [r["label"] for r in last]
    assert [r["classified_frame"] for r in last] == [
        str(int(r) + 115) for r in (row["classified_frame"] for row in first)
    ]  # the same frames of the shot classified


def test_the_same_footage_twice_without_a_cut_gets_the_same_labels(tmp_path):
    """Issue 42: a clip joined to itself with no cut (one track throughout) is classified on
    frames its pictures pick, not on a clock started by the track, so both copies are
    classified on the same frames and, once the smoother has let go of the first copy
    (3 s here), labelled the same. Before, the second copy was classified on other frames
    throughout, and some of its frames after those 3 s got another label."""
    clip = _frames("expressions_frown.mp4", 354)  # 11.8 s: not a whole number of periods
    rows = {int(r["frame"]): r for r in _face_rows(tmp_path, clip + clip, 30)}
    n, settled = len(clip), range(90, len(clip))
    assert len(rows) == 2 * n and {r["face_id"] for r in rows.values()} == {"1"}
    assert [rows[i]["label"] for i in settled] == [rows[i + n]["label"] for i in settled]
    assert [int(rows[i]["classified_frame"]) + n for i in settled] == [
        int(rows[i + n]["classified_frame"]) for i in settled
    ]
