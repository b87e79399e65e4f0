"""The conformance kit (``fervision.testing``) on every built-in stage, built by name from the
registry and run on real frames; and on stages that break the contract, which it must fail."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from fervision import testing
from fervision.plugins import get_registry
from fervision.types import Face, SourceInfo

CHECKS = {
    "source": testing.check_source,
    "detector": testing.check_detector,
    "tracker": testing.check_tracker,
    "classifier": testing.check_classifier,
    "smoother": testing.check_smoother,
    "annotator": testing.check_annotator,
    "sink": testing.check_sink,
}
BUILT_IN_PLUGINS = ("basic", "opencv", "mediapipe", "keras", "batch", "coders")


def _folder(request, tmp_path):
    photo = request.getfixturevalue("photo")
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(photo, tmp_path / name)
    return f"folder:{tmp_path}", {}


def _tables(request, tmp_path):
    """The tables sink reads the run's CSV: the csv sink writes it first, from the kit's frames."""
    csv_path = tmp_path / "run.csv"
    testing.check_sink(get_registry().build("sink", "csv", path=str(csv_path)))
    paths = {"per_second": tmp_path / "second.csv", "segments": tmp_path / "segments.csv"}
    return "tables", {"csv": str(csv_path), **{k: str(v) for k, v in paths.items()}}


#: How each built-in stage is built for its check: (kind, name) -> (spec, options).
CASES = {
    ("source", "auto"): lambda r, t: ("auto", {"target": str(r.getfixturevalue("photo"))}),
    ("source", "video"): lambda r, t: (f"video:{r.getfixturevalue('clip')}", {}),
    ("source", "image"): lambda r, t: (f"image:{r.getfixturevalue('photo')}", {}),
    ("source", "folder"): _folder,
    ("source", "sample"): lambda r, t: ("sample:12", {}),
    ("source", "stream"): lambda r, t: (f"stream:file://{r.getfixturevalue('clip')}", {}),
    ("detector", "haar"): lambda r, t: ("haar", {}),
    ("detector", "haar-fast"): lambda r, t: ("haar-fast", {}),
    ("detector", "mediapipe"): lambda r, t: ("mediapipe", {}),
    ("tracker", "bytetrack"): lambda r, t: ("bytetrack", {}),
    ("tracker", "iou"): lambda r, t: ("iou", {}),
    ("classifier", "keras"): lambda r, t: ("keras", {}),
    ("smoother", "ema"): lambda r, t: ("ema", {}),
    ("smoother", "vote"): lambda r, t: ("vote", {}),
    ("smoother", "none"): lambda r, t: ("none", {}),
    ("annotator", "overlay"): lambda r, t: ("overlay", {"bars": True}),
    ("sink", "csv"): lambda r, t: ("csv", {"path": str(t / "out.csv")}),
    ("sink", "video"): lambda r, t: ("video", {"path": str(t / "out.mp4")}),
    ("sink", "image"): lambda r, t: ("image", {"path": f"{t}/"}),  # a folder: many frames
    ("sink", "report"): lambda r, t: ("report", {"path": str(t / "out.html")}),
    ("sink", "tables"): _tables,
    ("sink", "eaf"): lambda r, t: ("eaf", {"path": str(t / "out.eaf")}),
    ("sink", "boris"): lambda r, t: (
        "boris",
        {"path": str(t / "out.boris"), "media": str(r.getfixturevalue("clip"))},
    ),
}
#: Sinks whose whole output from the kit's five frames is under 300 bytes.
SMALL = {"tables": 100}  # a header and a row per table
#: Built-in stages the kit does not run here, and why.
ELSEWHERE = {
    ("source", "webcam"): "needs a camera (test_opencv_sources: a camera that fails)",
    ("sink", "display"): "needs a display (test_window_controls, under Xvfb)",
    ("tracker", "none"): "gives no ids by design (test_no_tracker_leaves_faces_untracked)",
    ("sink", "states"): "a few rows, under the size the kit expects (test_coders reads them)",
}


def test_every_built_in_stage_is_checked():
    registered = {
        (e.kind, e.name) for e in get_registry().entries() if e.plugin in BUILT_IN_PLUGINS
    }
    assert registered == set(CASES) | set(ELSEWHERE)


@pytest.mark.parametrize("kind, name", sorted(CASES), ids=lambda v: v)
def test_built_in_stage_passes_the_kit(kind, name, request, tmp_path):
    spec, options = CASES[(kind, name)](request, tmp_path)
    made = CHECKS[kind](get_registry().build(kind, spec, **options))
    assert made
    if kind == "sink":  # what it wrote is whole once closed
        written = sorted(tmp_path.iterdir())
        least = SMALL.get(name, 300)
        assert written and all(p.stat().st_size > least for p in written), written


def test_csv_sink_writes_a_row_per_face_and_faceless_frame(tmp_path):
    path = tmp_path / "out.csv"
    frames = testing.check_sink(get_registry().build("sink", "csv", path=str(path)))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["frame"]) for r in rows] == [f.index for f in frames]
    assert [r["label"] for r in rows] == ["happy", "happy", "", "happy", "happy"]


def test_tables_sink_tabulates_the_kits_frames(request, tmp_path):
    spec, options = _tables(request, tmp_path)
    frames = testing.check_sink(get_registry().build("sink", spec, **options))
    with open(options["per_second"], newline="") as f:
        (second,) = list(csv.DictReader(f))
    with open(options["segments"], newline="") as f:
        (whole,) = list(csv.DictReader(f))
    seen = [f for f in frames if f.faces]
    assert (int(second["frames"]), float(second["face_share"])) == (5, len(seen) / len(frames))
    assert second["dominant"] == whole["dominant"] == "happy"
    assert float(whole["seconds_seen"]) == pytest.approx(len(seen) / testing.FPS)


def test_no_tracker_leaves_faces_untracked():
    tracker = get_registry().build("tracker", "none")
    frames = testing.sample_frames(3)
    for frame in frames:
        frame.faces = [Face(testing.face_box(frame), 0.9)]
        tracker.update(frame)
    assert [f.faces[0].track_id for f in frames] == [None] * 3 and not tracker.ended
    with pytest.raises(AssertionError, match="gave the moving face the ids"):
        testing.check_tracker(tracker)


# The kit fails stages that break the contract -------------------------------------------


class Blind:
    def detect(self, frame):
        return []


class Sloppy:
    """Finds the face, but reports its box as running off the frame."""

    def detect(self, frame):
        x, y, w, h = testing.face_box(frame)
        return [Face((x, y, w, frame.height), 0.9)]


class Painter:
    """Finds the face and marks it on the frame's own image."""

    def detect(self, frame):
        frame.image[0, 0] = 255
        return [Face(testing.face_box(frame), 0.9)]


class Forgetful:
    """A new id every frame."""

    def __init__(self):
        self.next = 0
        self.ended = []

    def update(self, frame):
        for face in frame.faces:
            self.next += 1
            face.track_id = self.next


class Unnormalized:
    labels = ("a", "b", "c")

    def classify(self, frame):
        for face in frame.faces:
            face.probs = np.array([1.0, 1.0, 1.0])


class Stubborn:
    """Always shows the first label."""

    def update(self, frame):
        for face in frame.faces:
            face.smoothed, face.label, face.confidence = face.probs, frame.labels[0], 0.5


class InPlace:
    def annotate(self, frame):
        frame.image[:10] = 0
        return frame.image


class Leaky:
    """Indexes frames from 1."""

    def open(self):
        return SourceInfo("leaky", *testing.SIZE, testing.FPS)

    def frames(self):
        for frame in testing.sample_frames(3):
            frame.index += 1
            yield frame


class NoVerb:
    pass


class Persistent:
    """Follows the face with one id, but counts ids on from the run before."""

    def __init__(self):
        self.next = 0
        self.ended = []

    def update(self, frame):
        if frame.index == 0:
            self.next += 1
        for face in frame.faces:
            face.track_id = self.next
        self.ended = [self.next] if not frame.faces else []


class Letters(Unnormalized):
    labels = "abc"


class TextScore:
    def detect(self, frame):
        return [Face(testing.face_box(frame), "0.9")]


class TextProbs(Unnormalized):
    def classify(self, frame):
        for face in frame.faces:
            face.probs = "ab"


@pytest.mark.parametrize(
    "check, stage, problem",
    [
        (testing.check_detector, NoVerb(), "detector NoVerb has no method 'detect'"),
        (testing.check_detector, Blind(), "found the face in 0 of 20 frames"),
        (testing.check_detector, Sloppy(), "gave box"),
        (testing.check_detector, Painter(), "changed the frame's image"),
        (testing.check_tracker, Forgetful(), "changed the moving face's id"),
        (testing.check_tracker, Persistent(), "in a second run .open.. should start a run"),
        (testing.check_detector, TextScore(), "gave score '0.9'"),
        (testing.check_classifier, TextProbs(), "set probs 'ab' for 3 labels"),
        (testing.check_classifier, Unnormalized(), "are not probabilities"),
        (testing.check_classifier, Blind(), "has no method 'classify'"),
        (testing.check_smoother, Stubborn(), "for a face happy from 1 s on"),
        (testing.check_annotator, InPlace(), "drew on the frame's own image"),
        (testing.check_source, Leaky(), "frame 0 has index 1"),
        (testing.check_sink, NoVerb(), "sink NoVerb has no method 'write'"),
        (testing.check_tracker, Persistent, r"tracker Persistent is a class: .* Persistent\(\)"),
        (testing.check_classifier, Letters(), "has labels 'abc'"),
    ],
    ids=lambda v: getattr(v, "__name__", type(v).__name__),
)
def test_the_kit_fails_a_stage_that_breaks_the_contract(check, stage, problem):
    with pytest.raises(AssertionError, match=problem):
        check(stage)


def test_the_kit_takes_numpy_track_ids():
    class NumpyIds(Persistent):
        def update(self, frame):
            for face in frame.faces:
                face.track_id = np.int64(1)
            self.ended = [1] if not frame.faces else []

    assert set(testing.check_tracker(NumpyIds())) == {1}
