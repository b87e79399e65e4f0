"""The annotated video as people use it: H.264 that browsers play, with the source's sound."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from fervision import FervisionError, Pipeline
from fervision.types import Frame

av = pytest.importorskip("av", reason="PyAV writes the H.264 video")

from fervision_opencv.video_sink import VideoSink  # noqa: E402


class Recorder:
    """A sink keeping a copy of every annotated frame."""

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []

    def open(self, info, labels=()):
        pass

    def write(self, frame: Frame) -> None:
        self.images.append(frame.annotated.copy())

    def close(self):
        pass


def _run(source, out: Path, max_frames=None, detector="haar", **sink_options):
    recorder = Recorder()
    sink = VideoSink(out, **sink_options)
    pipeline = Pipeline(
        source,
        detector=detector,
        tracker="iou",
        classifier=None,
        smoother=None,
        annotator="overlay",
        sinks=[sink, recorder],
    )
    pipeline.run(max_frames)
    return sink, recorder.images


def _probe(path: Path) -> dict:
    """What ffprobe would say, through PyAV, plus every decoded frame (BGR)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        info = {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "rate": video.average_rate,
            "audio": audio.codec_context.name if audio is not None else None,
            "audio_s": float(audio.duration * audio.time_base) if audio is not None else None,
        }
        info["frames"] = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    data = path.read_bytes()
    info["fast_start"] = 0 <= data.find(b"moov") < data.find(b"mdat")
    return info


def test_mp4_is_h264_with_the_overlay_and_the_source_sound(clip, tmp_path):
    out = tmp_path / "annotated.mp4"
    sink, drawn = _run(str(clip), out, max_frames=90, detector="mediapipe")
    probe = _probe(out)
    assert sink.with_audio
    assert (probe["codec"], probe["pix_fmt"], probe["audio"]) == ("h264", "yuv420p", "aac")
    assert probe["fast_start"]
    assert probe["rate"] == Fraction(2997, 100)
    assert len(probe["frames"]) == len(drawn) == 90
    # the sound stops with the picture (90 frames at 29.97/s), not at the clip's end
    assert probe["audio_s"] == pytest.approx(90 / 29.97, abs=0.05)
    # decoded frames are the frames the pipeline drew, overlay included
    raw = _probe(clip)["frames"][:90]
    for i in (0, 45, 89):
        decoded = probe["frames"][i].astype(int)
        assert np.abs(decoded - drawn[i]).mean() < 4
        overlay = np.abs(drawn[i].astype(int) - raw[i]).max(axis=2) > 60  # boxes, captions
        assert overlay.sum() > 200, i
        to_drawn = np.abs(decoded - drawn[i])[overlay].mean()
        to_raw = np.abs(decoded - raw[i])[overlay].mean()
        assert to_drawn < 35 and to_raw > 60 and to_drawn < to_raw / 2, (to_drawn, to_raw)


def test_an_interrupted_run_leaves_a_playable_mp4_with_sound(clip, tmp_path):
    class CtrlC:
        def detect(self, frame):
            if frame.index == 40:
                raise KeyboardInterrupt
            return []

    out = tmp_path / "interrupted.mp4"
    with pytest.raises(KeyboardInterrupt):
        _run(str(clip), out, detector=CtrlC())
    probe = _probe(out)
    assert 30 <= len(probe["frames"]) <= 40  # the frames processed before Ctrl-C
    assert probe["codec"] == "h264" and probe["audio"] == "aac"
    assert probe["audio_s"] == pytest.approx(len(probe["frames"]) / 29.97, abs=0.05)


def _tone_clip(clip: Path, out: Path, seconds: float = 2.0, hz: float = 440.0) -> Path:
    """The real clip's first seconds with a generated tone as 16-bit PCM (no AAC) in MKV."""
    rate = 44100
    with av.open(str(clip)) as source, av.open(str(out), "w") as target:
        video = target.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        audio = target.add_stream("pcm_s16le", rate=rate)
        audio.layout = "mono"
        t = np.arange(int(rate * seconds)) / rate
        samples = (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)[None, :]
        sound = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        sound.sample_rate, sound.pts = rate, 0
        target.mux(audio.encode(sound))
        target.mux(audio.encode(None))
        for i, frame in enumerate(source.decode(video=0)):
            if i >= seconds * 30:
                break
            image = frame.to_ndarray(format="bgr24")
            picture = av.VideoFrame.from_ndarray(image, format="bgr24")
            picture.pts = None
            target.mux(video.encode(picture))
        target.mux(video.encode(None))
    return out


def _dominant_hz(path: Path) -> tuple[str, float]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        chunks = [f.to_ndarray()[0].astype(np.float64) for f in container.decode(stream)]
        name = stream.codec_context.name
    signal = np.concatenate(chunks)[rate // 4 : rate]  # past the encoder's start
    spectrum = np.abs(np.fft.rfft(signal))
    return name, float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


def test_sound_an_mp4_cannot_hold_is_reencoded_to_aac(clip, tmp_path):
    source = _tone_clip(clip, tmp_path / "tone.mkv")
    assert _dominant_hz(source) == ("pcm_s16le", pytest.approx(440, abs=3))
    out = tmp_path / "tone.mp4"
    sink, drawn = _run(str(source), out, detector=None)
    assert sink.with_audio and len(drawn) == 60
    assert _dominant_hz(out) == ("aac", pytest.approx(440, abs=3))
    assert _probe(out)["audio_s"] == pytest.approx(2.0, abs=0.1)


def test_a_changed_frame_rate_leaves_the_sound_out(clip, tmp_path):
    out = tmp_path / "fast.mp4"
    sink, _ = _run(str(clip), out, max_frames=20, detector=None, fps=60)
    probe = _probe(out)
    assert not sink.with_audio and probe["audio"] is None
    assert probe["rate"] == 60 and len(probe["frames"]) == 20


def test_odd_sizes_and_opencv_fourccs_still_write(tmp_path):
    from fervision.types import SourceInfo

    rng = np.random.default_rng(0)
    for name, codec in (("odd.mp4", None), ("part2.mp4", "mp4v")):
        sink = VideoSink(tmp_path / name, codec=codec)
        sink.open(SourceInfo("odd", 161, 121, 25.0), ())
        for i in range(5):
            image = rng.integers(0, 256, (121, 161, 3), np.uint8)
            sink.write(Frame(image=image, index=i, timestamp=i / 25))
        sink.close()
    assert _probe(tmp_path / "odd.mp4")["frames"][0].shape == (122, 162, 3)  # padded, not cut
    assert _probe(tmp_path / "part2.mp4")["codec"] == "mpeg4"


def test_an_odd_sized_vp9_source_keeps_every_pixel_in_its_annotated_copy(clip, tmp_path):
    """511x387: yuv420p needs even sides; the copy gets a 512th column and a 388th row."""
    import cv2

    source = tmp_path / "odd.webm"
    capture = cv2.VideoCapture(str(clip))
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libvpx-vp9", rate=25)
        stream.width, stream.height, stream.pix_fmt = 511, 387, "yuv420p"
        for _ in range(10):
            image = cv2.resize(capture.read()[1], (511, 387), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            out.mux(stream.encode(frame.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
    capture.release()
    _, images = _run(str(source), tmp_path / "odd.mp4", detector=None)
    frames = _probe(tmp_path / "odd.mp4")["frames"]
    assert len(frames) == 10 and frames[0].shape == (388, 512, 3)
    drawn = images[5].astype(int)  # what the overlay gave the sink (no face: the picture)
    got = frames[5].astype(int)
    assert drawn.shape == (387, 511, 3)
    assert np.abs(got[:387, :511] - drawn).mean() < 6  # H.264's loss, nothing moved or cut
    assert np.abs(got[:387, 510] - drawn[:, 510]).mean() < 12  # the last column is there
    assert np.abs(got[386, :511] - drawn[386]).mean() < 12  # and the last row
    assert np.abs(got[:387, 511] - got[:387, 510]).mean() < 6  # the added one repeats it


def test_a_write_that_fails_keeps_the_earlier_file_and_leaves_no_partial(tmp_path):
    """A full disk mid-run: the unfinished file goes, the video already at the path stays;
    a run that ends well replaces it whole."""
    from fervision.types import SourceInfo
    from fervision_opencv import h264

    frames = [np.full((120, 160, 3), i * 40, np.uint8) for i in range(5)]
    path = tmp_path / "out.mp4"

    def write(sink, count):
        sink.open(SourceInfo("gray", 160, 120, 25.0), ())
        try:
            for i in range(count):
                sink.write(Frame(image=frames[i], index=i, timestamp=i / 25))
        finally:
            sink.close()

    write(VideoSink(path), 5)
    earlier = path.read_bytes()
    real_write = h264.H264Writer.write

    def full_disk(self, image):
        if self.frames == 3:
            raise OSError(28, "No space left on device")
        real_write(self, image)

    h264.H264Writer.write = full_disk
    try:
        with pytest.raises(FervisionError, match=r"cannot write video .*out.mp4: No space left"):
            write(VideoSink(path), 5)
    finally:
        h264.H264Writer.write = real_write
    assert path.read_bytes() == earlier
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    write(VideoSink(path), 2)
    assert len(_probe(path)["frames"]) == 2


PAGE = """<!doctype html><video id="v" src="VIDEO" muted autoplay></video><pre id="out"></pre>
<script>
const v = document.getElementById("v"), out = document.getElementById("out");
let first = null;
setInterval(() => {
  if (first === null && v.currentTime > 0) first = v.currentTime;
  out.textContent = JSON.stringify({ready: v.readyState, t: v.currentTime, first: first,
                                    width: v.videoWidth, error: v.error && v.error.code});
}, 50);
v.play().catch(e => { out.textContent = JSON.stringify({error: String(e)}); });
</script>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _play_in_chromium(video: Path) -> dict:
    page = video.with_suffix(".html")
    page.write_text(PAGE.replace("VIDEO", video.name))
    dom = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--autoplay-policy=no-user-gesture-required",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    match = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"'))


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed")
def test_headless_chromium_plays_the_mp4_and_not_mp4v(clip, tmp_path):
    out = tmp_path / "web.mp4"
    _run(str(clip), out, max_frames=60)
    state = _play_in_chromium(out)
    assert state["error"] is None and state["ready"] >= 2 and state["width"] == 640
    assert state["first"] is not None and state["t"] > state["first"]  # playing
    old = tmp_path / "old.mp4"
    _run(str(clip), old, max_frames=10, detector=None, codec="mp4v")
    assert _play_in_chromium(old)["error"] is not None  # what the issue saw before


def test_frames_of_another_size_are_letterboxed_not_stretched():
    from fervision_opencv.video_sink import letterboxed

    tall = np.full((300, 100, 3), 200, np.uint8)  # 1:3, into a 4:3 frame
    boxed = letterboxed(tall, (400, 300))
    assert boxed.shape == (300, 400, 3)
    lit = np.flatnonzero(boxed[150, :, 0] > 100)
    assert (lit[0], lit[-1]) == (150, 249)  # 100 wide, centred: the shape kept
    assert boxed[:, :150].max() == 0 and boxed[:, 250:].max() == 0
    wide = letterboxed(np.full((10, 80, 3), 255, np.uint8), (40, 40))
    rows = np.flatnonzero(wide[:, 20, 0] > 100)
    assert (rows[0], rows[-1]) == (17, 21)  # 40x5, centred


def test_an_unknown_video_suffix_names_the_video_and_image_choices(tmp_path):
    from fervision_opencv.video_sink import VideoSink

    with pytest.raises(FervisionError, match=r"use a suffix of .*\.mp4 \(or \.jpg, \.png"):
        VideoSink(str(tmp_path / "clip.gif"))


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_a_streams_video_keeps_real_time_whatever_rate_it_declares(clip, tmp_path, suffix):
    """An IP camera sending 10 frames a second for 3 s (OpenCV reads its rate as 25):
    the video lasts 3 s, as the CSV's timestamps do, not 30 frames at 25/s (1.2 s)."""
    import sys

    import cv2

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from faults import MjpegServer

    from fervision_opencv.capture import StreamSource

    capture = cv2.VideoCapture(str(clip))
    images = [capture.read()[1] for _ in range(30)]
    capture.release()
    out = tmp_path / f"camera{suffix}"
    with MjpegServer(images, frames=30, fps=10) as server:
        pipeline = Pipeline(
            StreamSource(server.url, read_timeout=1),
            detector=None,
            tracker=None,
            classifier=None,
            smoother=None,
            sinks=[VideoSink(out)],
        )
        with pytest.raises(FervisionError, match="stopped delivering frames"):
            pipeline.run()
    frames = pipeline.summary.frames
    assert frames >= 25
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        times = [float(f.pts * f.time_base) for f in container.decode(video)]
    if suffix == ".mp4":  # each frame at its own time
        assert len(times) == frames and 2.5 < times[-1] < 3.3, times
    else:  # a constant rate: frames repeated to fill the time between them
        rate = float(video.average_rate)
        assert 2.5 < len(times) / rate < 3.4 and len(times) > frames, (len(times), rate)


@pytest.mark.parametrize("fps", [-5, 0, 1e9, float("nan"), "fast"])
def test_a_video_frame_rate_out_of_range_is_refused_before_any_frame(tmp_path, fps):
    from fervision.options import OptionError

    with pytest.raises(OptionError, match="invalid fps .* give 0 < fps <= 1000"):
        VideoSink(tmp_path / "out.mp4", fps=fps)
    assert not list(tmp_path.iterdir())


def test_an_unknown_x264_preset_is_refused_before_any_frame(tmp_path):
    from fervision.options import OptionError

    with pytest.raises(OptionError, match="unknown x264 preset 'bogus'; give one of ultrafast"):
        VideoSink(tmp_path / "out.mp4", preset="bogus")


def _frame_times(path: Path, stream: str = "v") -> list[float]:
    """Each frame's (or audio packet's) presentation time as ffprobe reads it."""
    entry = "frame=pts_time" if stream == "v" else "packet=pts_time"
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", entry,
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(line.strip(",")) for line in result.stdout.split()]


def test_a_variable_frame_rate_clips_annotated_copy_keeps_its_clock(tmp_path):
    """A phone-like clip (frames 40 to 120 ms apart, its sound kept): each annotated frame
    shows within one frame of its CSV time, which is the source frame's, and the sound is the
    source's at the same times; a constant rate drifts ~0.3 s from it."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg is not installed (it makes the variable-rate clip)")
    import csv
    import sys

    from conftest import _shared

    talk = _shared("media/talking_head_glasses.mp4")  # 25 fps, 122 frames, AAC sound
    vfr = tmp_path / "phone.mp4"
    keep = "lt(n,30)+gte(n,75)+not(mod(n,2))*lt(n,50)+not(mod(n,3))*gte(n,50)"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(talk), "-vf", f"select='{keep}'", "-fps_mode",
         "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", str(vfr)],
        check=True,
    )  # fmt: skip
    source = _frame_times(vfr)
    gaps = np.diff(source)
    assert len(source) == 95 and gaps.min() < 0.05 and gaps.max() > 0.1  # really variable
    table, out = tmp_path / "c.csv", tmp_path / "out.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "fervision", "run", str(vfr), "--classifier", "none",
         "--csv", str(table), "--output", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with open(table, newline="") as f:
        times = {int(row["frame"]): float(row["timestamp_s"]) for row in csv.DictReader(f)}
    assert len(times) == 95 and list(times) == list(range(95))  # a face in every frame
    expected = np.array([times[i] for i in range(95)])
    assert np.abs(expected - source).max() < 0.0015  # the CSV keeps the source's clock
    shown = np.array(_frame_times(out))
    assert len(shown) == 95
    duration = np.append(gaps, gaps[-1])  # each frame's own
    assert (np.abs(shown - expected) < duration).all(), np.abs(shown - expected).max()
    assert np.abs(shown - expected).max() < 0.002
    # the sound is the source's, packet for packet at the same times, to the picture's end
    sound, copied = _frame_times(vfr, "a"), _frame_times(out, "a")
    assert len(copied) >= len(sound) - 2
    assert np.abs(np.array(copied) - np.array(sound[: len(copied)])).max() < 0.001
    assert copied[-1] == pytest.approx(source[-1], abs=0.1)
