"""The opencv plugin's sources, on real files, folders, cameras and sockets (no mocks)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from fervision.errors import FervisionError
from fervision.pipeline import open_source
from fervision.plugins import get_registry
from fervision_opencv.capture import StreamSource, VideoSource, WebcamSource
from fervision_opencv.haar import HaarDetector
from fervision_opencv.images import FolderSource, ImageSource
from fervision_opencv.sample import SampleSource
from fervision_opencv.sources import source_kind

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
from faults import MjpegServer  # noqa: E402


def _free_port() -> int:
    """A localhost port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_plugin_registers_its_stages_without_importing_opencv():
    code = (
        "import sys\n"
        "from fervision.plugins import get_registry\n"
        "r = get_registry()\n"
        "names = {(e.kind, e.name) for e in r.entries('opencv')}\n"
        "assert 'cv2' not in sys.modules, 'cv2 imported while registering'\n"
        "print(sorted(names))\n"
    )
    env = {**os.environ, "FERVISION_LOAD_PLUGINS": "opencv"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    for kind, name in [
        ("source", "auto"),
        ("source", "webcam"),
        ("source", "video"),
        ("source", "image"),
        ("source", "folder"),
        ("source", "stream"),
        ("source", "sample"),
        ("detector", "haar"),
        ("annotator", "overlay"),
        ("sink", "video"),
        ("sink", "display"),
    ]:
        assert f"('{kind}', '{name}')" in out.stdout


def test_auto_picks_the_source_by_target(tmp_path, clip, photo):
    assert source_kind("rtsp://cam.local/live") == "stream"
    assert source_kind("https://example.com/clip.mp4") == "stream"
    assert source_kind("0") == "webcam"
    assert source_kind(str(tmp_path)) == "folder"
    assert source_kind(str(photo)) == "image"
    assert source_kind(str(clip)) == "video"
    assert source_kind(f"file://{clip}") == "video"
    assert isinstance(open_source(str(clip)), VideoSource)
    assert isinstance(open_source(f"video:{clip}"), VideoSource)
    assert isinstance(open_source(str(photo)), ImageSource)
    assert isinstance(open_source("sample"), SampleSource)
    cam = open_source("webcam:3")
    assert isinstance(cam, WebcamSource) and cam.device == 3 and cam.live
    assert open_source("webcam").device == 0
    assert isinstance(open_source("rtsp://127.0.0.1:1/x"), StreamSource)


def test_video_source_reads_every_frame_of_the_clip(clip):
    source = open_source(str(clip))
    assert source.live is False
    info = source.open()
    assert (info.width, info.height, info.frame_count, info.live) == (640, 360, 275, False)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    assert info.source_id == str(clip)
    frames = list(source.frames())
    source.close()
    source.close()  # idempotent
    assert len(frames) == 275
    assert [f.index for f in frames] == list(range(275))
    first = frames[0]
    assert first.image.shape == (360, 640, 3) and first.image.dtype == np.uint8
    assert first.source_id == str(clip) and first.captured_at > 0
    stamps = np.array([f.timestamp for f in frames])
    assert stamps[0] == 0.0 and np.all(np.diff(stamps) > 0)
    assert stamps[-1] == pytest.approx(274 / 29.97, abs=0.01)


def test_video_fps_option_overrides_the_declared_rate_and_says_so(clip, caplog):
    source = VideoSource(clip, fps=10)
    assert source.open().fps == 10
    stamps = [f.timestamp for _, f in zip(range(4), source.frames(), strict=False)]
    source.close()
    assert stamps == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert f"note: {clip} is 29.97 frames/s; read as 10, its timestamps" in caplog.text


def test_missing_video_fails_at_construction(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(FervisionError, match="video file not found: .*nope.mp4"):
        open_source(str(missing))
    with pytest.raises(FervisionError, match="video file not found"):
        get_registry().build("source", f"video:{missing}")
    with pytest.raises(FervisionError, match="image file not found"):
        open_source(str(tmp_path / "nope.jpg"))


def whole_and_cut(clip, folder):
    """The clip remuxed as .mkv (a container that plays up to any cut), and its first half."""
    import av

    whole = folder / "whole.mkv"
    with av.open(str(clip)) as inp, av.open(str(whole), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    cut = folder / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return whole, cut


def test_a_truncated_video_plays_to_its_cut_and_warns(clip, tmp_path, caplog):
    whole, cut = whole_and_cut(clip, tmp_path)
    for path, warned in ((whole, False), (cut, True)):
        caplog.clear()
        source = open_source(str(path))
        expected = source.open().frame_count
        decoded = sum(1 for _ in source.frames())
        source.close()
        assert decoded < 200 if warned else decoded == 275
        assert ("ended after" in caplog.text) == warned, caplog.text
    assert f"video {cut} ended after {decoded} of its {expected} frames" in caplog.text


def test_the_report_of_a_truncated_video_says_what_it_covers(clip, tmp_path):
    import csv
    import re
    import subprocess
    import sys

    _, cut = whole_and_cut(clip, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "fervision", "run", str(cut), "--csv", str(tmp_path / "c.csv"),
         "--report", str(tmp_path / "c.html")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warned = re.search(r"ended after (\d+) of its (\d+) frames", done.stderr)
    assert warned, done.stderr
    with open(tmp_path / "c.csv", newline="") as f:
        frames = {row["frame"] for row in csv.DictReader(f)}
    assert int(warned[1]) == len(frames) < int(warned[2])
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert f"The video ended after {warned[1]} of its {warned[2]} frames" in page


def test_random_bytes_named_mp4_cannot_be_decoded(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 40_000, np.uint8).tobytes())
    source = open_source(str(junk))  # exists and is readable: construction passes
    with pytest.raises(FervisionError, match="cannot decode video .*junk.mp4: not a format"):
        source.open()
    source.close()


def test_an_mp4_cut_before_its_index_is_called_incomplete(clip, tmp_path):
    cut = tmp_path / "cut.mp4"  # the clip keeps its index (moov) at the end: none is left
    cut.write_bytes(clip.read_bytes()[:30_000])
    with pytest.raises(FervisionError, match="cut.mp4: the file is incomplete or damaged"):
        open_source(str(cut)).open()


def test_image_source_yields_the_photo_once(photo):
    source = open_source(str(photo))
    info = source.open()
    frames = list(source.frames())
    source.close()
    assert len(frames) == 1 and frames[0].timestamp == 0.0
    assert (info.frame_count, info.live) == (1, False)
    assert frames[0].image.shape == (info.height, info.width, 3)


def test_undecodable_image_fails_at_open(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    source = open_source(str(bad))
    with pytest.raises(FervisionError, match="cannot decode image"):
        source.open()


def _write_folder(folder):
    """Images in awkward formats and names: the order must be natural, output BGR."""
    rng = np.random.default_rng(1)
    color = rng.integers(0, 256, (48, 64, 3), np.uint8)
    gray = rng.integers(0, 256, (48, 64), np.uint8)
    bgra = np.dstack([color, np.full((48, 64), 128, np.uint8)])
    assert cv2.imwrite(str(folder / "img2.png"), gray)
    assert cv2.imwrite(str(folder / "img10.png"), bgra)
    assert cv2.imwrite(str(folder / "img1.jpg"), color)
    assert cv2.imwrite(str(folder / "img3.bmp"), cv2.resize(color, (32, 24)))
    (folder / "img5.jpg").write_bytes(b"broken")  # skipped, with a warning
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    return gray, bgra


def test_folder_source_natural_order_bgr_and_timestamps(tmp_path, caplog):
    gray, bgra = _write_folder(tmp_path)
    source = open_source(str(tmp_path), fps=4)
    assert isinstance(source, FolderSource) and source.live is False
    info = source.open()
    assert (info.width, info.height, info.fps) == (64, 48, 4.0)
    frames = list(source.frames())
    source.close()
    names = [os.path.basename(f.source_id) for f in frames]
    assert names == ["img1.jpg", "img2.png", "img3.bmp", "img10.png"]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [f.timestamp for f in frames] == [0.0, 0.25, 0.5, 0.75]
    for f in frames:
        assert f.image.ndim == 3 and f.image.shape[2] == 3 and f.image.dtype == np.uint8
    assert np.array_equal(frames[1].image, np.dstack([gray] * 3))
    assert np.array_equal(frames[3].image, bgra[:, :, :3])
    assert frames[2].image.shape == (24, 32, 3)  # sizes may differ; sinks resize
    assert [p.name for p in source.skipped] == ["img5.jpg"]
    assert "img5.jpg" in caplog.text


def test_folder_default_fps_and_errors(tmp_path):
    assert cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    source = FolderSource(tmp_path)
    assert source.open().fps == 1.0
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FervisionError, match="no image files"):
        open_source(str(empty))
    (empty / "x.jpg").write_bytes(b"junk")
    with pytest.raises(FervisionError, match="could be decoded"):
        FolderSource(empty).open()
    with pytest.raises(FervisionError, match="not found"):
        get_registry().build("source", f"folder:{tmp_path / 'missing'}")


def test_a_folder_takes_photos_in_subfolders_and_points_videos_to_batch(tmp_path, clip):
    image = np.zeros((8, 8, 3), np.uint8)
    for name in ("z10.png", "z2.png", "sub/a.png", "sub/deeper/b.png", ".hidden/c.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(tmp_path / name), image)
    source = FolderSource(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in source.files]
    assert names == ["z2.png", "z10.png", "sub/a.png", "sub/deeper/b.png"]
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip, videos / "talk.mp4")
    with pytest.raises(FervisionError, match=r"\(it holds videos: fervision batch .*videos"):
        FolderSource(videos)


def test_unopenable_camera_fails_at_open_quickly():
    source = open_source("webcam:97")
    assert source.live is True
    start = time.perf_counter()
    with pytest.raises(FervisionError, match="camera 97"):
        source.open()
    assert time.perf_counter() - start < 10
    source.close()
    with pytest.raises(FervisionError, match="camera not found"):
        open_source("webcam:/dev/no-such-video")


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_stream_that_refuses_fails_at_open_quickly(scheme):
    url = f"{scheme}://user:secret@127.0.0.1:{_free_port()}/live"
    source = open_source(url, open_timeout=2, read_timeout=2)
    assert source.live is True
    start = time.perf_counter()
    with pytest.raises(FervisionError, match="cannot open stream") as err:
        source.open()
    assert time.perf_counter() - start < 10
    assert "secret" not in str(err.value)  # credentials are not printed


def test_stop_from_another_thread_while_a_stream_connects_ends_the_run_at_once():
    """A server that accepts and never answers: FFmpeg waits its whole open timeout in C."""
    from fervision import Pipeline

    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(60)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/camera.mjpg"
        pipeline = Pipeline(url, detector=None, tracker=None, classifier=None, smoother=None)
        summaries = []
        worker = threading.Thread(target=lambda: summaries.append(pipeline.run()))
        worker.start()
        connected = server.accept()[0]  # FFmpeg is inside its open now
        time.sleep(0.3)
        start = time.perf_counter()
        pipeline.stop()
        worker.join(5)
        waited = time.perf_counter() - start
        connected.close()  # the open given up now fails in FFmpeg too, and its thread ends
    for helper in [t for t in threading.enumerate() if t.name == "fervision-open"]:
        helper.join(30)
    assert not worker.is_alive(), "the run waits out the open timeout (10 s)"
    assert waited < 2.0 and summaries[0].frames == 0


def test_remote_video_file_url_is_not_live():
    assert StreamSource("https://example.com/videos/clip.mp4").live is False
    assert StreamSource("http://cam.local/stream").live is True


def test_live_stream_that_stops_raises_after_its_frames(clip):
    # FFmpeg reads file:// URLs like any stream; as a live source, its end is a stall.
    source = StreamSource(f"file://{clip}", live=True, read_timeout=0.5)
    info = source.open()
    assert info.live and info.frame_count is None and info.width == 640
    count = 0
    with pytest.raises(FervisionError, match="stopped delivering frames after 275 frames"):
        for frame in source.frames():
            count += 1
            assert frame.timestamp >= 0
    source.close()
    assert count == 275


def _clip_images(clip, count):
    capture = cv2.VideoCapture(str(clip))
    images = [capture.read()[1] for _ in range(count)]
    capture.release()
    return images


def _read_until_error(source):
    indexes, stamps = [], []
    with pytest.raises(FervisionError) as err:
        for frame in source.frames():
            indexes.append(frame.index)
            stamps.append(frame.timestamp)
    source.close()
    return indexes, stamps, str(err.value)


def test_network_stream_that_drops_mid_run_ends_in_one_line(clip):
    with MjpegServer(_clip_images(clip, 20), frames=20) as server:
        source = StreamSource(server.url, read_timeout=1)
        assert source.open().width == 640
        indexes, _, message = _read_until_error(source)
    assert indexes == list(range(20))
    assert message.endswith(
        "stopped delivering frames after 20 frames (--reconnect N, or "
        'options={"source": {"reconnect": N}} in Python, tries to reopen it)'
    )


def test_network_stream_that_drops_is_reopened_with_reconnect(clip):
    with MjpegServer(_clip_images(clip, 20), frames=20, connections=2) as server:
        source = StreamSource(server.url, read_timeout=1, reconnect=2)
        source.open()
        start = time.perf_counter()
        indexes, stamps, message = _read_until_error(source)
    assert indexes == list(range(40))  # both connections' frames, numbered on
    assert stamps == sorted(stamps) and stamps[20] - stamps[19] > 0.4  # the gap is in time
    assert source.reconnects == 1 and source.frames_missed > 10
    assert message.endswith("after 40 frames and could not be reopened (2 tries)")
    assert time.perf_counter() - start < 15


def test_a_stream_whose_server_hangs_up_ends_at_once_not_after_its_read_timeout(clip):
    with MjpegServer(_clip_images(clip, 20), frames=20) as server:
        source = StreamSource(server.url, read_timeout=60)
        source.open()
        seen = []
        with pytest.raises(FervisionError, match="stopped delivering frames after 20 frames"):
            for _frame in source.frames():
                seen.append(time.perf_counter())
        ended = time.perf_counter()
        source.close()
    assert len(seen) == 20 and ended - seen[-1] < 30  # a stall would wait the 60 s out


def test_reconnect_starts_as_soon_as_the_server_hangs_up(clip, monkeypatch):
    import fervision_opencv.capture as capture

    monkeypatch.setattr(capture, "RECONNECT_AFTER_S", 60.0)  # a stall would wait a minute
    with MjpegServer(_clip_images(clip, 20), frames=20, connections=2) as server:
        source = StreamSource(server.url, read_timeout=60, reconnect=2)
        source.open()
        indexes, stamps, message = _read_until_error(source)
    assert indexes == list(range(40)) and source.reconnects == 1
    assert stamps[20] - stamps[19] < 30
    assert message.endswith("after 40 frames and could not be reopened (2 tries)")


def test_frames_missed_in_a_drop_are_counted_at_the_rate_the_stream_sent(clip):
    """A camera sending 10 frames a second (OpenCV reads MJPEG over HTTP as 25)."""
    with MjpegServer(_clip_images(clip, 20), frames=20, fps=10, connections=2) as server:
        source = StreamSource(server.url, read_timeout=1, reconnect=2)
        source.open()
        _, stamps, _ = _read_until_error(source)
    gap = stamps[20] - stamps[19]
    assert abs(source.frames_missed - (gap * 10 - 1)) <= 3, (source.frames_missed, gap)


def test_reconnect_must_be_a_count():
    with pytest.raises(FervisionError, match="invalid reconnect -1"):
        StreamSource("rtsp://127.0.0.1/x", reconnect=-1)


def test_sample_source_moves_a_face_haar_can_find():
    source = open_source("sample")
    assert source.live is False
    info = source.open()
    assert (info.width, info.height, info.fps, info.frame_count) == (640, 480, 30.0, 150)
    detector = HaarDetector()
    checked = found = 0
    centres = []
    for frame in source.frames():
        assert frame.timestamp == pytest.approx(frame.index / 30)
        if frame.index % 5:
            continue
        faces = detector.detect(frame)
        checked += 1
        found += len(faces) >= 1
        if faces:
            x, y, w, h = faces[0].box
            centres.append((x + w / 2, y + h / 2, w))
    source.close()
    assert checked == 30 and found >= 0.8 * checked
    centres = np.array(centres)
    assert np.ptp(centres[:, 0]) > 100 and np.ptp(centres[:, 2]) > 50  # it pans and zooms


def test_sample_frame_count_option():
    source = get_registry().build("source", "sample:12")
    source.open()
    assert len(list(source.frames())) == 12
    with pytest.raises(FervisionError):
        SampleSource(0)


def test_a_suspended_video_releases_its_file_and_resumes_at_the_next_frame(clip):
    """Stop in the window: the capture is released, frames wait, Start goes on exactly."""
    from fervision import Pipeline

    expected = []
    capture = cv2.VideoCapture(str(clip))
    while (image := capture.read()[1]) is not None:
        expected.append(image)
    capture.release()
    pipeline = Pipeline(
        VideoSource(clip), detector=None, tracker=None, classifier=None, smoother=None
    )
    seen = []
    frames = pipeline.frames()
    for frame in frames:
        seen.append(frame)
        if frame.index == 40:
            assert pipeline.suspend_source()
            assert pipeline.source._cap is None
            time.sleep(0.3)
            pipeline.resume_source()
    frames.close()
    assert [f.index for f in seen] == list(range(len(expected)))
    assert all(np.array_equal(f.image, e) for f, e in zip(seen, expected))
    times = [f.timestamp for f in seen]
    assert all(b > a for a, b in zip(times, times[1:]))


def test_a_run_ended_while_stopped_closes_at_once(clip):
    """Exit after Stop: the reader waiting for Start is woken, not waited for (was 5 s)."""
    from fervision import Pipeline

    pipeline = Pipeline(
        VideoSource(clip), detector=None, tracker=None, classifier=None, smoother=None
    )
    frames = pipeline.frames()
    next(frames)
    assert pipeline.suspend_source()
    started = time.perf_counter()
    frames.close()
    assert time.perf_counter() - started < 1.0
    assert pipeline.source._cap is None


def test_a_suspended_video_waits_instead_of_ending(clip):
    source = VideoSource(clip)
    source.open()
    frames = source.frames()
    next(frames)
    source.suspend()
    got = []
    reader = threading.Thread(target=lambda: got.append(next(frames)))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive() and not got  # waiting, not ended
    source.resume()
    reader.join(5)
    assert got and got[0].index == 1
    source.close()


def test_a_run_over_a_folder_counts_the_photos_it_skipped(tmp_path):
    from fervision import Pipeline

    _write_folder(tmp_path)
    summary = Pipeline(str(tmp_path), detector=None, tracker=None, classifier=None).run()
    assert summary.frames == 4 and summary.skipped == 1
    assert "4 photos" in summary.describe() and "1 skipped (not readable)" in summary.describe()


@pytest.mark.parametrize("fps, count", [(3.0, 4), (25.0, 1)])
def test_a_slow_or_one_frame_video_is_video_not_photos(photo, tmp_path, fps, count):
    """A video at under 5 frames/s (or of one frame) keeps its ids and has no file column."""
    import csv

    from fervision import Pipeline

    image = cv2.imread(str(photo))
    path = tmp_path / "slow.mp4"
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for _ in range(count):
        writer.write(image)
    writer.release()
    out = tmp_path / "slow.csv"
    summary = Pipeline(str(path), classifier=None, sinks=[f"csv:{out}"]).run()
    assert summary.frames == count and not summary.stills
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert "file" not in rows[0]
    assert len({row["face_id"] for row in rows}) == 2  # the two people, one id each


def test_a_missing_folder_typed_as_one_is_called_a_folder(tmp_path):
    with pytest.raises(FervisionError, match="^image folder not found: .*nodir$"):
        open_source(f"{tmp_path}/nodir/")
