"""The MediaPipe detector plugin: the shipped models on real media, the range chosen per video."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fervision import FervisionError, Frame, get_registry
from fervision.imaging import box_iou
from fervision_mediapipe import models
from fervision_mediapipe.blazeface import merge_faces, tile_grid
from fervision_mediapipe.detector import MediaPipeDetector

cv2 = pytest.importorskip("cv2")


@pytest.fixture(autouse=True)
def _no_model_from_environment(monkeypatch):
    monkeypatch.delenv(models.MODEL_ENV, raising=False)


@pytest.fixture
def photo_frame(photo) -> Frame:
    return Frame(cv2.imread(str(photo)), 0, 0.0)


@pytest.fixture
def crowd_frame(photo) -> Frame:
    """The crowd photo upscaled to an HD frame: about 25 small faces facing the camera."""
    image = cv2.imread(str(photo.parent / "team_crowd.jpg"))
    big = cv2.resize(image, None, fx=2.2, fy=2.2, interpolation=cv2.INTER_CUBIC)
    return Frame(np.ascontiguousarray(big[200:1280, 100:2020]), 0, 0.0)


def _check_two_faces(faces, frame):
    assert len(faces) == 2, faces
    for face in faces:
        x, y, w, h = face.box
        assert all(isinstance(v, int) for v in face.box)
        assert 0 <= x and 0 <= y and x + w <= frame.width and y + h <= frame.height
        assert 60 <= w <= 400 and 60 <= h <= 400 and 0.6 < w / h < 1.6
        assert 0.5 <= face.score <= 1.0
        (lx, ly), (rx, ry) = face.eyes  # both eyes inside the upper half of the box
        assert x < lx < rx < x + w and y < ly < y + h / 2 and y < ry < y + h / 2
    (a, b) = sorted(faces, key=lambda f: f.box[0])
    assert a.xyxy[2] <= b.xyxy[0]  # side by side, not overlapping
    assert faces[0].score >= faces[1].score


# --- the shipped models ----------------------------------------------------------------


def test_both_models_ship_with_their_licence():
    for spec in models.MODELS.values():
        assert hashlib.sha256(spec.path.read_bytes()).hexdigest() == spec.sha256
    licence = (models.PACKAGED / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence


def test_default_detector_uses_the_shipped_models_offline(photo_frame):
    detector = get_registry().build("detector", "mediapipe")
    assert detector.variant == "auto"
    assert set(detector.model_paths) == {"short", "full"}
    assert all(p.parent == models.PACKAGED for p in detector.model_paths.values())
    try:
        _check_two_faces(detector.detect(photo_frame), photo_frame)
    finally:
        detector.close()


def test_fixed_ranges_and_an_explicit_file(photo_frame, tmp_path):
    registry = get_registry()
    for variant in ("short", "full"):
        detector = registry.build("detector", f"mediapipe:{variant}")
        assert detector.variant == variant and len(detector.plans) == 1
        _check_two_faces(detector.detect(photo_frame), photo_frame)
        detector.close()
    copy = tmp_path / "mine.tflite"
    copy.write_bytes(models.MODELS["full"].path.read_bytes())
    detector = MediaPipeDetector(model=copy)
    assert detector.model_path == copy and len(detector.plans) == 1
    _check_two_faces(detector.detect(photo_frame), photo_frame)
    detector.close()


def test_environment_variable_names_the_model(monkeypatch, tmp_path):
    monkeypatch.setenv(models.MODEL_ENV, str(models.MODELS["short"].path))
    assert MediaPipeDetector("short").model_path == models.MODELS["short"].path
    monkeypatch.setenv(models.MODEL_ENV, str(tmp_path / "gone.tflite"))
    with pytest.raises(FervisionError, match=f"{models.MODEL_ENV} not found: .*gone.tflite"):
        MediaPipeDetector()


def test_missing_or_corrupt_model_files_are_one_line_errors_naming_them(tmp_path, photo):
    with pytest.raises(FervisionError, match="not found: .*nope.tflite"):
        MediaPipeDetector(model=tmp_path / "nope.tflite")
    with pytest.raises(FervisionError, match="not a TFLite model"):
        MediaPipeDetector(model=photo)
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"\x00\x00\x00\x00TFL3" + bytes(2000))  # the header and nothing else
    with pytest.raises(FervisionError, match="MediaPipe could not load .*fake.tflite") as info:
        MediaPipeDetector(model=fake)
    assert "\n" not in str(info.value)
    with pytest.raises(FervisionError, match="is not a file"):
        MediaPipeDetector(model=tmp_path)


def test_a_tflite_that_is_not_blazeface_is_a_one_line_error():
    from fervision_keras.model_io import DEFAULT_MODEL

    emotion_model = next(DEFAULT_MODEL.parent.glob("*.tflite"))  # a 48x48 classifier
    with pytest.raises(FervisionError, match="could not load .* not BlazeFace's") as info:
        MediaPipeDetector(model=emotion_model)
    assert "\n" not in str(info.value)


def test_a_broken_install_names_the_missing_shipped_file(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "PACKAGED", tmp_path)
    with pytest.raises(FervisionError, match="shipped model file not found: .*short_range"):
        MediaPipeDetector("short")


def test_options_are_checked():
    with pytest.raises(FervisionError, match="unknown MediaPipe face model variant 'medium'"):
        get_registry().build("detector", "mediapipe:medium")
    with pytest.raises(FervisionError, match="min_confidence"):
        MediaPipeDetector(min_confidence=2)
    with pytest.raises(FervisionError, match="downscale"):
        MediaPipeDetector(downscale=10)
    assert MediaPipeDetector("short", downscale="none").downscale is None
    with pytest.raises(FervisionError, match="mediapipe tile must be a number of at least 128"):
        MediaPipeDetector(tile=10)
    with pytest.raises(FervisionError, match="reprobe"):
        MediaPipeDetector(reprobe="soon")


# --- choosing the range per video --------------------------------------------------------


def test_tiles_overlap_and_cover_the_frame():
    assert tile_grid(640, 360, 720) == [(0, 0, 640, 360)]
    tiles = tile_grid(1920, 1080, 720)
    assert len(tiles) == 6
    assert min(t[0] for t in tiles) == 0 and max(t[2] for t in tiles) == 1920
    assert min(t[1] for t in tiles) == 0 and max(t[3] for t in tiles) == 1080
    a, b = tiles[0], tiles[1]
    assert b[0] < a[2]  # neighbours overlap


def test_merge_keeps_the_best_of_overlapping_faces():
    from fervision.types import Face

    faces = [Face((0, 0, 50, 50), 0.7), Face((4, 2, 50, 50), 0.9), Face((200, 0, 40, 40), 0.6)]
    assert [f.score for f in merge_faces(faces)] == [0.9, 0.6]


def test_auto_finds_small_faces_in_hd_with_tiles(crowd_frame):
    auto = MediaPipeDetector()
    full = MediaPipeDetector("full")
    try:
        found = auto.detect(crowd_frame)
        assert auto.plan.name == "tiles" and auto.probes == 1
        assert len(full.detect(crowd_frame)) < 8  # one full-range pass misses most
        assert len(found) >= 20
        assert auto.detect(Frame(crowd_frame.image, 1, 1 / 30)) and auto.plan_counts["tiles"] == 1
    finally:
        auto.close()
        full.close()


def test_photos_also_get_small_tiles_and_find_every_face_of_the_crowd(photo):
    from fervision.types import SourceInfo

    image = cv2.imread(str(photo.parent / "team_crowd.jpg"))  # 1000x644: faces of ~30 px
    h, w = image.shape[:2]
    found = {}
    for kind, info in {
        "photo": SourceInfo("crowd.jpg", w, h, 1.0, frame_count=1),
        "video": SourceInfo("crowd.mp4", w, h, 30.0, frame_count=300),
    }.items():
        with MediaPipeDetector() as detector:
            detector.open(info)
            found[kind] = detector.detect(Frame(image, 0, 0.0))
    assert len(found["photo"]) >= 24  # 25 people face the camera
    assert len(found["video"]) <= 20  # video frames skip the costly small tiles
    assert all(min(f.box[2:]) >= 25 for f in found["photo"])  # faces, not crowd specks


def test_auto_runs_short_range_on_close_faces_and_probes_again(photo_frame):
    detector = MediaPipeDetector(reprobe=2.0)
    try:
        for i in range(70):
            frame = Frame(photo_frame.image, i, i / 30)
            assert len(detector.detect(frame)) == 2
        assert detector.plan.name == "short"
        assert detector.probes == 2  # at 0 s and at 2 s
        assert detector.plan_counts["short"] == 68
        assert detector.plan_counts["tiles"] == 0
    finally:
        detector.close()


def test_a_steady_large_video_tries_the_tiles_in_every_fourth_regular_probe(photo_frame):
    """Issue 40: at 1920x1080 a probe's tiles cost seven times the rest of it; while they find
    no more faces they are tried at the start and then every TILES_EVERY-th probe."""
    from fervision_mediapipe.detector import TILES_EVERY

    image = cv2.resize(photo_frame.image, (1920, 1080))
    detector = MediaPipeDetector(reprobe=2.0)
    tiled = []  # the probes (by time) whose plans included the tiles
    engine = detector._engines["full"]
    whole = engine.detect

    def counting(bgr, origin=(0, 0), drop_cut=False):
        if drop_cut and (not tiled or tiled[-1] != now):
            tiled.append(now)
        return whole(bgr, origin, drop_cut)

    engine.detect = counting
    try:
        for i in range(30 * 17):  # 17 s: probes at 0, 2, 4 ... 16 s
            now = i / 30
            assert len(detector.detect(Frame(image, i, now))) == 2
        assert detector.probes == 9 and detector.plan.name == "short"
        assert tiled == pytest.approx([0.0, 2.0 * TILES_EVERY, 4.0 * TILES_EVERY], abs=0.05)
    finally:
        detector.close()


def test_scene_cut_triggers_a_probe(photo, crowd_frame):
    couple = Frame(cv2.imread(str(photo.parent / "couple_large.jpg")), 0, 0.0)
    detector = MediaPipeDetector()
    try:
        assert len(detector.detect(couple)) == 2
        assert detector.plan.name == "short"
        detector.detect(Frame(crowd_frame.image, 1, 1 / 30))
        assert detector.plan.name == "tiles" and detector.probes == 2
    finally:
        detector.close()


def test_each_photo_gets_its_own_probe_whatever_came_before(photo):
    from fervision.types import SourceInfo

    colour = cv2.imread(str(photo))  # a grey copy right after it is no scene cut
    grey = cv2.cvtColor(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    h, w = colour.shape[:2]
    info = SourceInfo("photos", w, h, 1.0, frame_count=2)
    with MediaPipeDetector() as detector:
        detector.open(info)
        after_colour = [
            detector.detect(Frame(img, i, float(i))) for i, img in enumerate([colour, grey])
        ]
    with MediaPipeDetector() as detector:
        detector.open(info)
        alone = detector.detect(Frame(grey, 0, 0.0))
    assert detector.probes == 1
    boxes = [[f.box for f in faces] for faces in (after_colour[1], alone)]
    assert boxes[0] == boxes[1] and len(boxes[0]) == 2
    assert [f.score for f in after_colour[1]] == pytest.approx([f.score for f in alone])


def test_finds_faces_in_most_clip_frames(clip):
    detector = MediaPipeDetector()
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    counts = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frame = Frame(image, len(counts), len(counts) / fps)
        faces = detector.detect(frame)
        for face in faces:
            x, y, w, h = face.box
            assert 0 <= x < x + w <= frame.width and 0 <= y < y + h <= frame.height
        counts.append(len(faces))
    capture.release()
    detector.close()
    detector.close()  # idempotent
    assert len(counts) == 275
    assert sum(c > 0 for c in counts) / len(counts) > 0.95


def test_downscale_maps_boxes_back(photo_frame):
    with MediaPipeDetector("short") as full_size:
        reference = sorted(f.box for f in full_size.detect(photo_frame))
    with MediaPipeDetector("short", downscale=480) as small:
        boxes = sorted(f.box for f in small.detect(photo_frame))
    assert len(boxes) == 2
    for (x, y, w, _), (rx, ry, rw, rh) in zip(boxes, reference, strict=True):
        assert abs(x - rx) < 0.15 * rw and abs(y - ry) < 0.15 * rh and abs(w - rw) < 0.15 * rw


def test_reopen_after_close_and_gray_frames(photo_frame):
    detector = MediaPipeDetector()
    detector.close()
    assert len(detector.detect(photo_frame)) == 2  # lazily reopened
    gray = Frame(cv2.cvtColor(photo_frame.image, cv2.COLOR_BGR2GRAY), 1, 0.0)
    assert len(detector.detect(gray)) == 2
    detector.close()


def test_in_a_pipeline(clip):
    from fervision import Pipeline

    detector = MediaPipeDetector()
    pipeline = Pipeline(str(clip), detector=detector, tracker=None, classifier=None, smoother=None)
    summary = pipeline.run(max_frames=40)
    assert summary.frames == 40 and summary.frames_with_faces >= 38
    assert detector._engines == {}  # closed by the pipeline


def test_import_loads_no_engine_and_a_detector_no_mediapipe_or_tensorflow():
    """The models run through LiteRT: neither mediapipe (nor the TensorFlow it imports
    when installed) is loaded, even once a detector has found faces."""
    code = (
        "import sys, fervision, fervision_mediapipe\n"
        "registry = fervision.get_registry()\n"
        "registry.get('detector', 'mediapipe')\n"
        "assert 'ai_edge_litert' not in sys.modules\n"
        "import numpy as np\n"
        "detector = registry.build('detector', 'mediapipe')\n"
        "detector.detect(fervision.Frame(np.zeros((360, 640, 3), np.uint8), 0, 0.0))\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'mediapipe', 'tensorflow', 'keras'}\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_shipped_models_are_in_the_built_wheel(tmp_path):
    """Package data: a non-editable install carries both models and their licence."""
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path), str(repo)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("fervision-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in models.MODELS.values():
        assert f"fervision_mediapipe/models/{spec.filename}" in names
    assert "fervision_mediapipe/models/LICENSE" in names


def _clip_frames(path: Path, limit: int | None = None) -> list[Frame]:
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while limit is None or len(frames) < limit:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(Frame(image, len(frames), len(frames) / fps))
    capture.release()
    return frames


class _Counting(MediaPipeDetector):
    """Counts the frames whose pixels the models looked at."""

    looked = 0

    def _detect(self, frame, plain=False):
        self.looked += 1
        return super()._detect(frame, plain)


def test_recorded_video_detects_every_other_steady_frame_and_interpolates_the_rest(clip):
    """``detect_stream`` gives every frame, in order, faces close to what detecting that
    frame finds, while the models look at far fewer frames; across the clip's cuts and
    moving faces the frames between are detected too. (One model range, so that both
    runs choose the same plan on every frame.)"""
    from fervision.types import SourceInfo

    talking = Path(clip).parent / "talking_woman.mp4"
    for path in (clip, talking):
        frames = _clip_frames(path)
        info = SourceInfo(
            str(path), frames[0].width, frames[0].height, 30.0, len(frames), video=True
        )
        with MediaPipeDetector("short") as alone:
            alone.open(info)
            each = [[f.box for f in alone.detect(f)] for f in frames]
        streamed = _Counting("short")
        streamed.open(info)
        out = list(streamed.detect_stream(iter(frames)))
        streamed.close()
        assert [f.index for f in out] == list(range(len(frames)))
        close = [
            len(f.faces) == len(boxes)
            and all(max(box_iou(face.box, b) for b in boxes) >= 0.8 for face in f.faces)
            for f, boxes in zip(out, each)
        ]
        assert sum(close) >= 0.95 * len(frames), (path.name, sum(close), len(frames))
        assert streamed.looked <= 0.75 * len(frames), (path.name, streamed.looked)
        assert streamed.looked > len(frames) / 2  # the cuts and quick moves were looked at
    assert streamed.looked <= 0.55 * len(frames)  # a steady talking head: about half


def test_a_frame_between_a_cut_is_detected_not_interpolated(photo, crowd_frame):
    from fervision.types import SourceInfo

    couple = cv2.imread(str(photo.parent / "couple_large.jpg"))
    crowd = cv2.resize(crowd_frame.image, couple.shape[1::-1])
    images = [couple, couple, crowd, crowd]  # the cut falls on a held frame
    frames = [Frame(img.copy(), i, i / 30) for i, img in enumerate(images)]
    detector = _Counting()
    detector.open(SourceInfo("cut", couple.shape[1], couple.shape[0], 30.0, 4, video=True))
    out = list(detector.detect_stream(iter(frames)))
    detector.close()
    assert detector.looked == 4
    with MediaPipeDetector() as alone:
        assert [f.box for f in out[2].faces] == [f.box for f in alone.detect(frames[2])]
