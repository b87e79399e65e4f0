"""The ByteTrack-style tracker on synthetic tracks: motion, crossing, gaps, weak boxes, cuts."""

import numpy as np
import pytest

from fervision.types import Face, Frame, SourceInfo
from fervision_basic.bytetrack import ByteTracker
from fervision_basic.kalman import BoxKalman

GREY = np.full((240, 320, 3), 90, np.uint8)


def step(tracker, index, faces, image=GREY):
    """Track ``faces`` ((box, score) pairs) in frame ``index``; the kept faces' ids by box."""
    frame = Frame(image, index, index / 30, faces=[Face(box, score) for box, score in faces])
    tracker.update(frame)
    return [(f.box, f.track_id) for f in frame.faces]


def ids(tracker, index, boxes, score=0.9, image=GREY):
    return [i for _, i in step(tracker, index, [(b, score) for b in boxes], image)]


def test_kalman_learns_constant_motion():
    kalman = BoxKalman((0, 50, 40, 40))
    for i in range(1, 15):
        kalman.predict()
        kalman.update((5 * i, 50, 40, 40))
    kalman.predict()
    x, y, w, h = kalman.box
    assert x == pytest.approx(75, abs=1.5) and y == pytest.approx(50, abs=0.5)
    assert w == pytest.approx(40, abs=0.5) and h == pytest.approx(40, abs=0.5)


def full_kalman_steps(box, steps):
    """The 8x8 Kalman filter of SORT and ByteTrack, written out in matrices: (mean, cov) after
    each predict or update step (a box for an update, None for a predict)."""
    pos, vel = 1 / 20, 1 / 160
    F, H = np.eye(8), np.eye(4, 8)
    F[:4, 4:] = np.eye(4)

    def xyah(b):
        return np.array([b[0] + b[2] / 2, b[1] + b[3] / 2, b[2] / b[3], b[3]])

    mean = np.concatenate([xyah(box), np.zeros(4)])
    h = mean[3]
    cov = np.diag(
        np.square(
            [2 * pos * h] * 2 + [1e-2, 2 * pos * h] + [10 * vel * h] * 2 + [1e-5, 10 * vel * h]
        )
    )
    out = []
    for measured in steps:
        h = mean[3]
        if measured is None:
            q = np.square([pos * h] * 2 + [1e-2, pos * h] + [vel * h] * 2 + [1e-5, vel * h])
            mean, cov = F @ mean, F @ cov @ F.T + np.diag(q)
        else:
            s = H @ cov @ H.T + np.diag(np.square([pos * h] * 2 + [1e-1, pos * h]))
            gain = np.linalg.solve(s, H @ cov).T
            mean = mean + gain @ (xyah(measured) - H @ mean)
            cov = cov - gain @ s @ gain.T
        out.append((mean, cov))
    return out


def test_kalman_per_coordinate_equals_the_full_matrix_filter():
    rng = np.random.default_rng(3)
    steps = []
    for i in range(40):  # a moving, growing face, missed now and then
        steps.append(None)
        if rng.random() > 0.3:
            steps.append((10 + 4 * i + rng.normal(0, 2), 50 + rng.normal(0, 2), 40 + i, 44 + i))
    kalman = BoxKalman((10, 50, 40, 44))
    for measured, (mean, cov) in zip(steps, full_kalman_steps((10, 50, 40, 44), steps)):
        kalman.predict() if measured is None else kalman.update(measured)
        np.testing.assert_allclose(kalman.mean, mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(kalman.covariance, cov, rtol=1e-9, atol=1e-12)


def test_first_frame_gets_ids_at_once_later_faces_after_confirmation():
    tracker = ByteTracker(min_hits=3)
    assert ids(tracker, 0, [(10, 10, 40, 40)]) == [1]
    assert ids(tracker, 1, [(12, 10, 40, 40), (200, 100, 40, 40)]) == [1, None]
    assert ids(tracker, 2, [(14, 10, 40, 40), (201, 100, 40, 40)]) == [1, None]
    assert ids(tracker, 3, [(16, 10, 40, 40), (202, 100, 40, 40)]) == [1, 2]


def test_one_frame_false_faces_use_no_ids():
    tracker = ByteTracker()
    ids(tracker, 0, [(10, 10, 40, 40)])
    for i in range(1, 30):  # a spurious face in a new place every other frame
        extra = [((37 * i) % 250, 150, 30, 30)] if i % 2 else []
        ids(tracker, i, [(10, 10, 40, 40)] + extra)
    assert ids(tracker, 30, [(10, 10, 40, 40), (250, 10, 40, 40)]) == [1, None]
    for i in range(31, 33):
        ids(tracker, i, [(10, 10, 40, 40), (250, 10, 40, 40)])
    assert ids(tracker, 33, [(10, 10, 40, 40), (250, 10, 40, 40)]) == [1, 2]


def test_two_faces_crossing_keep_their_ids():
    tracker = ByteTracker()
    seen = []
    for i in range(14):  # a moves right, b moves left on the same row and pass each other
        a, b = (20 + 18 * i, 60, 50, 50), (254 - 18 * i, 60, 50, 50)
        seen.append(dict((box, i) for box, i in step(tracker, i, [(a, 0.9), (b, 0.85)])))
        assert seen[-1].get(a) == 1 and seen[-1].get(b) == 2, (i, seen[-1])


def test_missed_detections_and_occlusion_keep_the_id_within_the_buffer():
    tracker = ByteTracker(buffer=1.0)
    tracker.open(SourceInfo("t", 320, 240, 30.0))
    for i in range(10):
        assert ids(tracker, i, [(10 + 4 * i, 40, 40, 40)]) == [1]
    for i in range(10, 25):  # hidden for half a second while it keeps moving
        assert ids(tracker, i, []) == []
    assert ids(tracker, 25, [(10 + 4 * 25, 40, 40, 40)]) == [1]
    assert tracker.ended == []


def test_buffer_scales_with_frame_rate_and_ids_are_never_reused():
    tracker = ByteTracker(buffer=0.5)
    tracker.open(SourceInfo("t", 320, 240, 25.0))
    assert tracker.buffer_frames == 13  # 12.5 frames, rounded up
    ids(tracker, 0, [(10, 10, 40, 40)])
    ended = {}
    for i in range(1, 15):
        ids(tracker, i, [])
        ended.update((track_id, i) for track_id in tracker.ended)
    assert ended == {1: 14}  # lost at frame 1, kept 13 frames
    assert [ids(tracker, i, [(10, 10, 40, 40)]) for i in range(15, 18)] == [[None], [None], [2]]


def test_weak_detections_continue_tracks_but_never_start_them():
    tracker = ByteTracker(high_score=0.6)
    for i in range(5):
        ids(tracker, i, [(50 + 2 * i, 50, 40, 40)])
    # The face blurs (weak score) while a weak false box appears elsewhere.
    kept = step(tracker, 5, [((60, 50, 40, 40), 0.45), ((250, 180, 30, 30), 0.45)])
    assert kept == [((60, 50, 40, 40), 1)]
    for i in range(6, 12):
        kept = step(tracker, i, [((250, 180, 30, 30), 0.45)])
        assert kept == []  # weak and matching no track: dropped


def test_scene_cut_ends_every_track():
    tracker = ByteTracker()
    bright = np.full((240, 320, 3), 230, np.uint8)
    ids(tracker, 0, [(10, 10, 40, 40)])
    assert ids(tracker, 1, [(10, 10, 40, 40)], image=bright) == [None]
    assert tracker.ended == [1]


def test_each_photo_gets_new_ids_at_once_while_video_keeps_them():
    faces = [(10, 10, 40, 40), (200, 100, 40, 40)]
    photos, video = ByteTracker(), ByteTracker()
    photos.open(SourceInfo("photos/", 320, 240, 1.0, frame_count=3))
    video.open(SourceInfo("clip.mp4", 320, 240, 30.0, frame_count=300))
    assert [ids(photos, i, faces) for i in range(3)] == [[1, 2], [3, 4], [5, 6]]
    assert photos.ended == [3, 4]  # the previous photo's faces
    assert [ids(video, i, faces) for i in range(3)] == [[1, 2]] * 3


def test_in_the_pipeline_the_default_tracker_is_bytetrack():
    from fakes import BoxDetector, FixedClassifier, ListSource
    from fervision import Pipeline

    pipeline = Pipeline(
        ListSource(count=8), detector=BoxDetector(), classifier=FixedClassifier(), smoother=None
    )
    frames = list(pipeline)
    assert isinstance(pipeline.tracker, ByteTracker)
    assert {f.faces[0].track_id for f in frames} == {1}
