"""The opencv plugin's Haar detector, overlay, video sink and display sink, on real media."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from fervision.errors import FervisionError
from fervision.pipeline import Pipeline
from fervision.plugins import get_registry
from fervision.types import Face, Frame, SourceInfo
from fervision_opencv.capture import VideoSource
from fervision_opencv.haar import HaarDetector
from fervision_opencv.images import read_image
from fervision_opencv.overlay import NO_LABEL_COLOR, OverlayAnnotator, label_color
from fervision_opencv.sample import SampleSource
from fervision_opencv.video_sink import VideoSink

EMOTIONS = ("angry", "fear", "happy", "neutral", "sad", "surprise")


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def _count_frames(path: Path) -> tuple[int, tuple[int, int]]:
    """Frames decodable from ``path`` and their size, by reading them all back."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} is not playable"
    n, size = 0, None
    while True:
        ok, image = cap.read()
        if not ok:
            break
        n += 1
        size = (image.shape[1], image.shape[0])
    cap.release()
    return n, size


# Haar ----------------------------------------------------------------------------------


def _photo_frame(photo) -> Frame:
    return Frame(image=read_image(photo), index=0, timestamp=0.0)


def test_haar_finds_both_faces_in_the_photo(photo):
    frame = _photo_frame(photo)
    faces = get_registry().build("detector", "haar").detect(frame)
    assert len(faces) == 2
    for face in faces:
        x, y, w, h = face.box
        assert all(isinstance(v, int) for v in face.box)
        assert x >= 0 and y >= 0 and x + w <= frame.width and y + h <= frame.height
        assert w >= 100 and 0.5 < face.score <= 1.0
    left, right = sorted(faces, key=lambda f: f.box[0])
    assert left.box[0] + left.box[2] < right.box[0]


def test_haar_downscale_keeps_the_same_faces(photo):
    frame = _photo_frame(photo)  # 1126x661
    full = sorted(HaarDetector(downscale=None).detect(frame), key=lambda f: f.box[0])
    small = sorted(HaarDetector(downscale=400).detect(frame), key=lambda f: f.box[0])
    assert len(full) == len(small) == 2
    for a, b in zip(full, small, strict=True):
        assert _iou(a.box, b.box) > 0.6  # boxes come back in full-frame pixels


def test_haar_finds_faces_in_many_clip_frames(clip):
    source = VideoSource(clip)
    source.open()
    detector = HaarDetector()
    checked = with_face = 0
    for frame in source.frames():
        if frame.index % 10:
            continue
        checked += 1
        with_face += bool(detector.detect(frame))
    source.close()
    assert checked == 28 and with_face >= 0.6 * checked


def _clip_frames(clip, count):
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(Frame(image, len(frames), len(frames) / 30))
    capture.release()
    return frames


def _matches(reference, faces) -> bool:
    def iou(a, b):
        iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
        ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
        return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)

    return all(any(iou(tuple(r), f.box) >= 0.3 for f in faces) for r in reference)


def test_haar_defaults_equal_a_plain_full_frame_cascade(clip):
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    detector = HaarDetector()
    for frame in _clip_frames(clip, 40)[::4]:
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        reference = cascade.detectMultiScale(gray, 1.1, 5)
        assert sorted(f.box for f in detector.detect(frame)) == sorted(map(tuple, reference))


def test_haar_fast_finds_the_faces_full_scans_find(clip):
    frames = _clip_frames(clip, 10_000)
    full, fast = HaarDetector(), get_registry().build("detector", "haar-fast")
    reference = [[f.box for f in full.detect(fr)] for fr in frames]
    streamed = list(fast.detect_stream(iter(frames)))
    assert [f.index for f in streamed] == list(range(275)) and fast.full_every == 6
    matched = [_matches(r, fr.faces) for r, fr in zip(reference, streamed)]
    assert np.mean(matched) >= 0.95  # measured 0.967 (0.916 frame by frame, no look-back)


def test_haar_stream_follows_a_new_face_back_to_frames_before_the_full_scan(photo):
    with_faces = _photo_frame(photo).image
    faces = HaarDetector().detect(with_faces)
    without = with_faces.copy()
    for x, y, w, h in (f.box for f in faces):  # paint the faces out
        cv2.rectangle(without, (x - w // 4, y - h // 4), (x + w * 5 // 4, y + h * 5 // 4), 128, -1)
    images = [without, without, with_faces, with_faces, with_faces]
    frames = [Frame(im, i, i / 30) for i, im in enumerate(images)]
    plain, stream = HaarDetector(full_every=3), HaarDetector(full_every=3)
    plain.is_scene_cut = stream.is_scene_cut = lambda image: False  # only the cadence
    plain = [len(plain.detect(f)) for f in frames[:4]]
    streamed = list(stream.detect_stream(iter(frames)))
    assert plain == [0, 0, 0, 2]  # full scans at frames 0 and 3; frame 2 is between
    assert [len(f.faces) for f in streamed] == [0, 0, 2, 2, 2]


def test_haar_between_full_scans_finds_large_faces_it_has_not_seen(photo):
    frame = _photo_frame(photo)
    for large_faces, expected in ((0.1, 2), (0.0, 0)):
        detector = HaarDetector(full_every=100, large_faces=large_faces)
        assert len(detector.detect(frame)) == 2  # the first frame is a full scan
        detector._memory.clear()  # forget them: only the large-face scan can find them
        assert len(detector.detect(frame)) == expected


def test_haar_scans_in_full_at_a_scene_cut():
    detector = HaarDetector(full_every=100)
    dark, bright = np.zeros((120, 160, 3), np.uint8), np.full((120, 160, 3), 200, np.uint8)
    detector.detect(Frame(dark, 0, 0))
    detector.detect(Frame(dark, 1, 0.03))
    assert detector._last_full == 1
    detector.detect(Frame(bright, 2, 0.06))
    assert detector._last_full == 3


def test_haar_accepts_another_cascade_and_gray_images(photo):
    alt = Path(cv2.data.haarcascades) / "haarcascade_frontalface_alt2.xml"
    detector = get_registry().build("detector", "haar", model=str(alt))
    assert detector.model == alt
    gray = cv2.cvtColor(read_image(photo), cv2.COLOR_BGR2GRAY)
    assert len(detector.detect(gray)) == 2


def test_haar_rejects_bad_models_and_options(tmp_path):
    with pytest.raises(FervisionError, match="cascade file not found"):
        get_registry().build("detector", f"haar:{tmp_path / 'none.xml'}")
    bogus = tmp_path / "bogus.xml"
    bogus.write_text("<?xml version='1.0'?><opencv_storage></opencv_storage>")
    with pytest.raises(FervisionError, match="cannot load Haar cascade"):
        HaarDetector(bogus)
    with pytest.raises(FervisionError, match="scale_factor"):
        HaarDetector(scale_factor=1.0)
    with pytest.raises(FervisionError, match="large_faces must be a fraction"):
        HaarDetector(large_faces=1.5)


def test_haar_on_an_empty_scene_finds_nothing():
    frame = Frame(image=np.full((240, 320, 3), 127, np.uint8), index=0, timestamp=0.0)
    assert HaarDetector().detect(frame) == []


# Overlay -------------------------------------------------------------------------------


def _labelled_frame(image) -> Frame:
    probs = np.array([0.02, 0.03, 0.87, 0.04, 0.02, 0.02])
    faces = [
        Face(
            (40, 60, 120, 120),
            0.9,
            track_id=3,
            probs=probs,
            smoothed=probs,
            label="happy",
            confidence=0.87,
        ),
        Face(
            (image.shape[1] - 90, 10, 80, 80),
            0.8,
            track_id=4,
            probs=probs[::-1].copy(),
            label="surprise",
            confidence=0.87,
        ),
    ]
    return Frame(image=image, index=0, timestamp=0.0, faces=faces, labels=EMOTIONS)


def test_overlay_draws_on_a_new_image_and_leaves_the_frame_alone(photo):
    frame = _labelled_frame(read_image(photo))
    before = frame.image.copy()
    annotator = get_registry().build("annotator", "overlay", bars=True)
    out = annotator.annotate(frame)
    assert out is not frame.image and not np.shares_memory(out, frame.image)
    assert out.shape == frame.image.shape and out.dtype == np.uint8
    assert np.array_equal(frame.image, before)
    changed = np.any(out != before, axis=2)
    assert changed[60, 40:160].mean() > 0.9  # the top edge of the first box
    # The bars beside the first face, right of its box.
    assert changed[60:180, 165:400].mean() > 0.1
    plain = OverlayAnnotator(bars=False).annotate(frame)
    assert np.any(np.any(plain != out, axis=2)[60:180, 165:400])


def test_bars_are_placed_clear_of_other_faces_their_captions_and_other_bars():
    """Two faces side by side: the left one's bars go where neither face nor caption is."""
    image = np.full((480, 640, 3), 60, np.uint8)
    probs = np.full(len(EMOTIONS), 1 / len(EMOTIONS))
    boxes = [(100, 150, 120, 120), (240, 150, 120, 120)]  # 20 px apart: no room between
    faces = [
        Face(b, track_id=i, probs=probs, label="sad", confidence=0.2) for i, b in enumerate(boxes)
    ]
    frame = Frame(image=image, index=0, timestamp=0.0, faces=faces, labels=EMOTIONS)
    out = OverlayAnnotator(bars=True, show_fps=False).annotate(frame)
    plain = OverlayAnnotator(bars=False, show_fps=False).annotate(frame)
    bars = np.any(out != plain, axis=2)
    for x, y, w, h in boxes:  # inside each face (the box edge and caption excluded) no bars
        assert not bars[y - 30 : y + h - 3, x + 3 : x + w - 3].any()
    assert bars.mean() > 0.05  # both panels are drawn


def test_a_tracked_faces_bars_are_headed_by_its_id():
    """In a crowd a panel may sit beside another face: its first row names the face."""
    image = np.full((480, 640, 3), 60, np.uint8)
    probs = np.full(len(EMOTIONS), 1 / len(EMOTIONS))

    def panel_rows(track_id) -> int:
        face = Face((100, 150, 120, 120), track_id=track_id, probs=probs, label="sad")
        frame = Frame(image=image, index=0, timestamp=0.0, faces=[face], labels=EMOTIONS)
        out = OverlayAnnotator(bars=True, show_fps=False).annotate(frame)
        darkened = np.all(out[:, 230:] < 60, axis=2)  # the panel, right of the face
        return int(darkened.any(axis=1).sum())

    untracked, tracked = panel_rows(None), panel_rows(16)
    assert tracked - untracked == 16  # one more row of 16 pixels: the title "#16"
    face = Face((100, 150, 120, 120), track_id=16, probs=probs, label="sad")
    frame = Frame(image=image, index=0, timestamp=0.0, faces=[face], labels=EMOTIONS)
    out = OverlayAnnotator(bars=True, show_fps=False).annotate(frame)
    title = out[150:170, 220:320].astype(int)  # the title row, in the label's colour
    near = np.abs(title - np.array(label_color("sad"))).max(axis=2) < 40
    assert near.sum() >= 10


def test_a_caption_goes_where_it_covers_no_other_face():
    """A face just below another (a crowd): its caption goes below it, not over the face
    above (was: over the upper face's chin)."""
    image = np.full((480, 640, 3), 60, np.uint8)
    boxes = [(200, 100, 80, 80), (200, 190, 80, 80)]  # 10 px apart: no room above the lower
    faces = [Face(b, track_id=i, label="neutral", confidence=0.44) for i, b in enumerate(boxes)]
    frame = Frame(image=image, index=0, timestamp=0.0, faces=faces, labels=EMOTIONS)
    out = OverlayAnnotator(show_fps=False).annotate(frame)
    for x, y, w, h in boxes:
        assert (out[y + 3 : y + h - 3, x + 3 : x + w - 3] == 60).all()  # neither face covered
    crowd = [
        Face((5 + 70 * i, 5 + 70 * j, 60, 60), probs=np.full(6, 1 / 6), label="sad")
        for i in range(9)
        for j in range(7)
    ]  # faces fill the frame: no room for bars anywhere
    packed = Frame(image=image, index=0, timestamp=0.0, faces=crowd, labels=EMOTIONS)
    with_bars = OverlayAnnotator(bars=True, show_fps=False).annotate(packed)
    assert np.array_equal(with_bars, OverlayAnnotator(show_fps=False).annotate(packed))
    below = np.all(out[272:300, 200:280] == label_color("neutral"), axis=2)
    assert below.mean() > 0.3  # the lower face's caption, under it


def test_overlay_draws_only_the_box_for_unclassified_faces():
    image = np.full((200, 300, 3), 60, np.uint8)
    frame = Frame(image=image, index=0, timestamp=0.0, faces=[Face((100, 50, 80, 90))])
    out = OverlayAnnotator(bars=True, show_fps=False).annotate(frame)
    ys, xs = np.nonzero(np.any(out != image, axis=2))
    assert ys.min() >= 47 and ys.max() <= 143 and xs.min() >= 97 and xs.max() <= 183
    assert tuple(out[50, 140]) == NO_LABEL_COLOR


def test_overlay_measures_and_shows_fps():
    image = np.zeros((120, 160, 3), np.uint8)
    annotator = OverlayAnnotator(show_fps=True)
    before_first = time.perf_counter()
    first = annotator.annotate(Frame(image=image, index=0, timestamp=0.0))
    after_first = time.perf_counter()
    assert annotator.fps is None and not first.any()  # no interval measured yet
    time.sleep(0.05)
    before_second = time.perf_counter()
    second = annotator.annotate(Frame(image=image, index=1, timestamp=0.1))
    after_second = time.perf_counter()
    # the rate of the wall-clock interval between the two calls, not of the timestamps (10/s)
    assert 1 / (after_second - before_first) <= annotator.fps <= 1 / (before_second - after_first)
    assert second[:40, :100].any()


def _fps_pixels(annotator: OverlayAnnotator, info: SourceInfo, faces=()) -> np.ndarray:
    """Where the second frame's overlay differs from a plain annotator's (the readout)."""
    image = np.full((240, 320, 3), 60, np.uint8)
    plain = OverlayAnnotator(show_fps=False)
    for stage in (annotator, plain):
        stage.open(info)
    out = None
    for i in range(2):
        frame = Frame(image=image, index=i, timestamp=i / 25, faces=list(faces))
        out, without = annotator.annotate(frame), plain.annotate(frame)
        time.sleep(0.01)
    return np.any(out != without, axis=2)


def test_the_fps_readout_is_for_live_sources_unless_asked_for():
    """A file's annotated copy plays at the file's rate: a processing rate burned into it
    (and into report thumbnails) is noise; a camera or stream shows it."""
    video = SourceInfo("talk.mp4", 320, 240, 25.0, 100)
    camera = SourceInfo("camera 0", 320, 240, 30.0, live=True)
    photo = SourceInfo("a.jpg", 320, 240, 1.0, 1)
    assert not _fps_pixels(OverlayAnnotator(), video).any()
    assert _fps_pixels(OverlayAnnotator(), camera)[:40, :110].any()
    assert _fps_pixels(OverlayAnnotator(show_fps=True), video)[:40, :110].any()
    assert not _fps_pixels(OverlayAnnotator(show_fps=True), photo).any()
    assert not _fps_pixels(OverlayAnnotator(show_fps=False), camera).any()


def test_the_fps_readout_moves_off_a_face_in_the_top_left_corner():
    face = Face((0, 10, 120, 120), track_id=1, label="happy", confidence=0.9)
    camera = SourceInfo("camera 0", 320, 240, 30.0, live=True)
    drawn = _fps_pixels(OverlayAnnotator(), camera, [face])
    assert not drawn[:, :160].any() and drawn[:40, 200:].any()


def test_fps_counts_frames_over_time_when_frame_costs_alternate():
    """Frames that reuse a classification take 0.1 ms, classified ones 20 ms: the overlay's
    readout and the window's status line (one ``RateMeter``) give frames per second of the
    last second (about 99), not an average of per-frame rates (the window's read hundreds)."""
    from fervision_opencv.rate import RateMeter

    meter, now = RateMeter(), 0.0
    for i in range(400):
        meter.tick(now)
        now += 0.0001 if i % 2 else 0.02
    assert meter.rate == pytest.approx(2 / 0.0201, rel=0.03)
    for _ in range(60):  # the rate changes to 30 a second: within a second it reads 30
        meter.tick(now)
        now += 1 / 30
    assert meter.rate == pytest.approx(30, rel=0.01)
    meter.reset()  # after a pause the wait is not counted
    assert meter.rate is None and meter.tick(now + 5) is None


def test_overlay_survives_awkward_faces_and_labels():
    annotator = OverlayAnnotator(bars=True)
    image = np.zeros((48, 64, 3), np.uint8)
    faces = [
        Face((0, 0, 64, 48), track_id=1, probs=np.array([0.5, 0.5]), label="x", confidence=0.5),
        Face((60, 40, 4, 8), probs=np.array([0.1, 0.2, 0.7])),
    ]
    frame = Frame(image=image, index=0, timestamp=0.0, faces=faces, labels=EMOTIONS)
    assert annotator.annotate(frame).shape == image.shape
    assert label_color("happy") == label_color("Happy") != label_color("sad")
    assert label_color("custom") == label_color("custom")


# Video sink ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_sink_writes_a_playable_file(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    sink = get_registry().build("sink", "video", path=str(out))
    info = SourceInfo("test", 160, 120, 15.0, 12)
    sink.open(info, EMOTIONS)
    rng = np.random.default_rng(2)
    for i in range(12):
        size = (120, 160, 3) if i != 5 else (240, 320, 3)  # an odd frame is resized
        sink.write(Frame(image=rng.integers(0, 256, size, np.uint8), index=i, timestamp=i / 15))
    sink.close()
    sink.close()
    assert _count_frames(out) == (12, (160, 120))
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(15.0, abs=0.01)
    cap.release()


def _quiet_pipeline(source, sinks, detector=None):
    return Pipeline(
        source,
        detector=detector,
        tracker=None,
        classifier=None,
        smoother=None,
        annotator="overlay",
        sinks=sinks,
    )


def test_pipeline_writes_the_annotated_sample(tmp_path):
    out = tmp_path / "sample.mp4"
    pipeline = _quiet_pipeline(SampleSource(20), [f"video:{out}"], detector="haar")
    summary = pipeline.run()
    assert summary.frames == 20 and summary.frames_with_faces >= 15
    assert _count_frames(out) == (20, (640, 480))


def test_video_stays_playable_when_the_run_stops_early(tmp_path):
    out = tmp_path / "stopped.mp4"
    frames = _quiet_pipeline(SampleSource(60), [VideoSink(out)]).frames()
    for _ in range(17):
        next(frames)
    frames.close()  # what a consumer breaking out, or an error, does
    assert _count_frames(out) == (17, (640, 480))


class _CtrlC:
    """A detector that is interrupted like Ctrl-C at frame ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def detect(self, frame):
        if frame.index == self.at:
            raise KeyboardInterrupt
        return []


def test_video_stays_playable_when_the_run_is_interrupted(tmp_path):
    out = tmp_path / "interrupted.avi"
    pipeline = _quiet_pipeline(SampleSource(60), [VideoSink(out)], detector=_CtrlC(12))
    with pytest.raises(KeyboardInterrupt):
        pipeline.run()
    assert pipeline.summary.interrupted
    assert _count_frames(out) == (12, (640, 480))


def test_video_sink_checks_its_path_before_processing(tmp_path):
    build = get_registry().build
    with pytest.raises(FervisionError, match="does not exist"):
        build("sink", "video", path=str(tmp_path / "missing" / "out.mp4"))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(FervisionError, match="not a folder"):
        build("sink", f"video:{tmp_path / 'file.txt' / 'out.mp4'}")
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(FervisionError, match="it is a folder"):
        build("sink", "video", path=str(tmp_path / "dir.mp4"))
    with pytest.raises(FervisionError, match="suffix"):
        build("sink", "video", path=str(tmp_path / "out.txt"))
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_video_sink_rejects_a_read_only_folder(read_only_dir):
    with pytest.raises(FervisionError, match="not writable"):
        VideoSink(read_only_dir / "out.mp4")


# Display sink --------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY is a Linux check")
def test_display_without_a_display_fails_when_built(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(
        FervisionError, match="no display available.*--no-display, or no display sink"
    ):
        get_registry().build("sink", "display")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 sockets are a Linux check")
def test_display_with_an_unreachable_x_server_fails_when_built(monkeypatch):
    # Qt would abort the whole process here, so the sink must refuse first.
    number = next(n for n in range(93, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    monkeypatch.setenv("DISPLAY", f":{number}")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(FervisionError, match="cannot connect to X display"):
        get_registry().build("sink", "display")


def test_display_shows_frames_under_xvfb(xvfb):
    script = textwrap.dedent("""
        import numpy as np
        from fervision.types import Frame, SourceInfo
        from fervision_opencv.display import DisplaySink
        sink = DisplaySink()
        sink.open(SourceInfo("xvfb", 320, 240, 30.0), ())
        for i in range(5):
            sink.write(Frame(image=np.full((240, 320, 3), i * 40, np.uint8), index=i,
                             timestamp=i / 30))
        assert sink._visible()
        sink.close()
        sink.close()
        print("shown")
    """)
    env = {**os.environ, "DISPLAY": xvfb}
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "shown" in result.stdout


def test_captions_of_small_faces_stay_near_their_width():
    """In an HD crowd a caption shrinks to about 1.5 face widths; large faces keep full size."""

    def caption_width(box) -> int:
        frame = Frame(np.zeros((1080, 1920, 3), np.uint8), 0, 0.0, labels=("happy",))
        frame.faces = [Face(box, 0.9, track_id=23, label="happy", confidence=0.96)]
        drawn = OverlayAnnotator(show_fps=False).annotate(frame)
        x, y = box[:2]
        band = drawn[max(0, y - 12) : y - 2].any(axis=(0, 2))  # the rows just above the box
        columns = np.flatnonzero(band)
        return int(columns[-1] - columns[0] + 1)

    small = caption_width((900, 500, 50, 50))
    large = caption_width((700, 400, 400, 400))
    assert small <= 1.6 * 50 + 10
    assert large > 2 * small


def test_the_timeline_strip_shows_each_faces_recent_emotions():
    from fervision_opencv.overlay import label_color
    from fervision_opencv.timeline import EmotionStrip

    strip = EmotionStrip(seconds=2.0, rows=2)
    for i in range(90):  # 3 s at 30 frames/s: face 1 happy then sad, face 2 from 2 s on
        t = i / 30
        faces = [Face((0, 0, 10, 10), track_id=1, label="happy" if t < 2.5 else "sad")]
        if t >= 2.0:
            faces.append(Face((20, 0, 10, 10), track_id=2, label="angry"))
        if t >= 2.4:  # a third face: no row left for it
            faces.append(Face((40, 0, 10, 10), track_id=3, label="fear"))
        strip.update(Frame(np.zeros((8, 8, 3), np.uint8), i, t, faces=faces))
    image = strip.draw(300)
    assert image.shape == (strip.height(), 300, 3)
    row_1, row_2 = image[10], image[26]  # the middle of each row
    assert tuple(row_1[-8]) == label_color("sad")  # now
    assert tuple(row_1[150]) == label_color("happy")  # a second ago
    assert tuple(row_2[-8]) == label_color("angry")
    assert tuple(row_2[150]) != label_color("angry")  # face 2 was not there yet
    assert strip.visible == [1, 2, 3]  # the longest-seen first; only two rows are drawn
    assert label_color("fear") not in {tuple(p) for p in image.reshape(-1, 3)}
    strip.update(Frame(np.zeros((8, 8, 3), np.uint8), 200, 9.0, faces=[]))
    assert strip.history == {}  # gone for longer than the strip shows: forgotten


@pytest.mark.parametrize("width", [640, 300])
def test_the_timeline_strip_has_a_legend_of_every_label_s_colour(width):
    from numpy.lib.stride_tricks import sliding_window_view

    from fervision_opencv.overlay import label_color
    from fervision_opencv.timeline import EmotionStrip

    labels = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    strip = EmotionStrip(rows=2, labels=labels)
    assert strip.height() == EmotionStrip(rows=2).height() + 16  # a row of its own
    legend = strip.draw(width)[-16:]  # no face yet: the colours are the legend's
    swatches = []  # where each label's colour fills a square
    for label in labels:
        filled = (legend == label_color(label)).all(axis=2)
        square = sliding_window_view(filled, (8, 8)).all(axis=(2, 3)).any(axis=0)
        assert square.any(), f"no swatch of {label}'s colour"
        swatches.append(np.flatnonzero(square).min())
    assert swatches == sorted(swatches)  # in the model's order, one after another
    text = (legend > 200).all(axis=2)  # the light names between the swatches
    assert all(text[:, a + 10 : b].any() for a, b in zip(swatches, swatches[1:]))


def test_the_overlay_shows_no_fps_readout_on_photos():
    from fervision.types import SourceInfo

    image = np.full((240, 320, 3), 90, np.uint8)
    corners = {}
    for kind, count in (("photo", 1), ("video", 300)):
        overlay = OverlayAnnotator(show_fps=True)
        overlay.open(SourceInfo(kind, 320, 240, 30.0, frame_count=count))
        for i in range(3):  # a readout once a rate is measured
            drawn = overlay.annotate(Frame(image, i, i / 30))
        corners[kind] = np.abs(drawn[:30, :80].astype(int) - 90).max()
    assert corners["photo"] == 0 and corners["video"] > 50
