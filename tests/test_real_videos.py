"""The default pipeline on real videos: faces found, one id per person, calm and right labels."""

from __future__ import annotations

import numpy as np
import pytest

from fervision import Pipeline

cv2 = pytest.importorskip("cv2")

pytestmark = pytest.mark.slow  # full real clips through the default pipeline


@pytest.fixture
def media(photo):
    return photo.parent


def run_default(path):
    """(timestamp, faces) of every frame of the default pipeline on ``path``."""
    return [(frame.timestamp, frame.faces) for frame in Pipeline(str(path))]


def label_changes(frames) -> int:
    labels = [faces[0].label for _, faces in frames if faces and faces[0].label]
    return sum(a != b for a, b in zip(labels, labels[1:]))


def test_talking_head_one_id_every_frame_calm_label(media):
    frames = run_default(media / "talking_head_glasses.mp4")
    assert len(frames) == 122
    assert all(len(faces) == 1 for _, faces in frames)
    assert {faces[0].track_id for _, faces in frames} == {1}
    assert label_changes(frames) <= 1  # 4.9 s of one calm face


def test_smile_is_labelled_happy_while_held(media):
    frames = run_default(media / "expressions_smile.mp4")
    held = [faces[0].label for t, faces in frames if 1.0 <= t <= 2.4]
    calm = [faces[0].label for t, faces in frames if 0.35 <= t <= 0.6]
    assert held.count("happy") / len(held) >= 0.8
    assert set(calm) == {"neutral"}
    assert all(faces[0].probs is not None for _, faces in frames)  # raw output kept


def test_hd_crowd_small_faces_found_with_few_ids(media, tmp_path):
    photo = cv2.imread(str(media / "team_crowd.jpg"))
    big = cv2.resize(photo, None, fx=2.2, fy=2.2, interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "crowd.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1920, 1080))
    for i in range(45):  # a slow pan: 4 pixels a frame
        writer.write(np.ascontiguousarray(big[200:1280, 4 * i : 4 * i + 1920]))
    writer.release()
    frames = run_default(path)
    counts = [len(faces) for _, faces in frames]
    ids = {f.track_id for _, faces in frames for f in faces if f.track_id is not None}
    assert len(frames) == 45
    assert np.mean(counts) >= 20  # about 25 people face the camera
    assert len(ids) <= 40


def _labelled(pipeline) -> list:
    return [
        [(f.track_id, f.label, round(float(f.confidence), 6)) for f in frame.faces]
        for frame in pipeline
    ]


@pytest.mark.parametrize("detector", ["mediapipe", "haar"])
def test_one_pipeline_run_twice_gives_the_same_ids_and_labels(media, detector):
    """A notebook cell run again: each run starts afresh (ids from 1, no smoothing, reuse
    or track carried over from the run before)."""
    pipeline = Pipeline(str(media / "expressions_smile.mp4"), detector=detector)
    first, second = _labelled(pipeline), _labelled(pipeline)
    assert first[0] and first[0][0][0] == 1
    assert second == first
