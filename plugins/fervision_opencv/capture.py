"""Sources read through ``cv2.VideoCapture``: video files, cameras and network streams.

Each source checks its target cheaply when built, opens the capture in :meth:`open`
(reading the first frame there, so a file OpenCV cannot decode fails before processing
starts), yields :class:`~fervision.types.Frame` objects from :meth:`frames` on the
pipeline's reader thread, and releases the capture in :meth:`close`.

A camera or stream that drops mid-run ends the run with one line, or, with ``reconnect``
set to N, is opened again (up to N tries per drop, waiting 0.5 s, 1 s, 2 s... between);
``reconnects`` and ``frames_missed`` (estimated from the gap and the frame rate) say
what it cost.

Timestamps: files use the decoder's position (``CAP_PROP_POS_MSEC``) while it is sane
and ``index / fps`` otherwise; cameras and live streams use seconds since :meth:`open`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

if not os.environ.get("FERVISION_DEBUG"):  # FFmpeg's own lines (a stream ending...) stay off
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402 - after the log level, which FFmpeg reads when it first starts

from fervision.errors import FervisionError, StopPipeline  # noqa: E402
from fervision.native import quiet_native_output  # noqa: E402
from fervision.options import OptionError  # noqa: E402
from fervision.timecode import seconds as in_seconds  # noqa: E402
from fervision.types import Frame, SourceInfo, to_bgr  # noqa: E402

from .paths import input_file, redact_url  # noqa: E402
from .reach import why_not_opened  # noqa: E402

DEFAULT_FPS = 30.0
#: A file that ends before this share of its container's frame count gets a warning.
SHORT_FILE = 0.8
log = logging.getLogger("fervision.opencv")
#: URL suffixes taken as a finite remote file rather than a live stream.
REMOTE_FILE_SUFFIXES = frozenset(".mp4 .m4v .mov .mkv .avi .webm .mpg .mpeg .wmv .flv".split())
#: How a dropped camera or stream says it can be reopened, on the command line and in Python.
RECONNECT_HINT = (
    ' (--reconnect N, or options={"source": {"reconnect": N}} in Python, tries to reopen it)'
)
#: With ``reconnect``: seconds without a frame before a live source is opened again, and
#: the first and longest waits between tries.
RECONNECT_AFTER_S = 1.0
RECONNECT_DELAY_S = 0.5
RECONNECT_MAX_DELAY_S = 8.0


def _sane_fps(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and 0 < value <= 1000 else None


class _CaptureSource:
    """What files, cameras and streams share; subclasses open the capture."""

    live = False
    #: Seconds a live source may deliver nothing before it counts as stopped.
    stall_timeout = 2.0
    #: Tries to open a live source again after it drops (0: the drop ends the run).
    reconnect = 0
    #: Opening may wait long on the network: done on a helper thread, so Ctrl-C is heard.
    slow_open = False
    #: A read that fails within this many seconds means the source closed (a stream's
    #: server hung up: FFmpeg fails at once at its end, but waits out a stall); 0: never.
    ended_within = 0.0
    #: The part of a file to read, in its own seconds: from ``start``, before ``end``.
    start = 0.0
    end: float | None = None

    def __init__(self, fps: float | None = None) -> None:
        self.fps_override = _sane_fps(fps) if fps is not None else None
        if fps is not None and self.fps_override is None:
            raise OptionError(f"invalid fps {fps!r}: give a number above 0")
        self.source_id = ""
        self.info: SourceInfo | None = None
        self._cap = None
        self._first = None
        self._lock = threading.Lock()
        self._closing = False
        self._opened_at = 0.0
        self._use_msec = True  # timestamps from the decoder until it misbehaves
        self._last_ts = -1.0
        self.reconnects = 0
        self.frames_missed = 0
        self._frames_read = 0  # where a suspended file resumes (counted from _seeked_to)
        self._seeked_to = 0  # the frame a late start sought to
        self._offset = 0.0
        self._running = threading.Event()  # cleared while suspended
        self._running.set()
        self._ended = False  # the last read failed at once: the source closed

    # subclasses -------------------------------------------------------------------------
    def _open_capture(self):
        raise NotImplementedError

    def _what(self) -> str:
        """How messages name this source, e.g. ``camera 0``."""
        return self.source_id

    def _no_first_frame(self) -> FervisionError:
        return FervisionError(f"{self._what()} delivered no frames")

    def _media_path(self) -> str | None:
        """The file behind this source, for sinks that copy from it (a video's sound)."""
        return None

    def _fallback_fps(self) -> float:
        """The frame rate when neither the option nor the capture gives a sane one."""
        return DEFAULT_FPS

    # protocol ---------------------------------------------------------------------------
    def open(self) -> SourceInfo:
        """Open the capture, read the first frame, and describe the source."""
        self.close()
        self._closing = False
        self._frames_read = 0
        self.ended_early: tuple[int, int] | None = None  # (frames decoded, the file's count)
        self._running.set()
        try:
            with quiet_native_output():  # FFmpeg and OpenCV log straight to stderr
                # OpenCV's own warnings off too: an open given up may fail after this block
                cap = self._opened(lambda: _quietly(self._open_capture), lambda c: c.release())
            self._cap = cap
            self._opened_at = time.perf_counter()
            self._seeked_to = self._seek(cap) if self.start else 0
            first = self._opened(self._read_first)
        except (KeyboardInterrupt, StopPipeline):  # the helper releases what it opens from now
            self._close_within(0)
            raise
        if first is None:
            self.close()
            raise self._no_first_frame()
        self._first = first
        image = first[0]
        declared = _sane_fps(cap.get(cv2.CAP_PROP_FPS))
        fps = self.fps_override or declared or self._fallback_fps()
        if self.fps_override and declared and not self.live and abs(fps - declared) > 0.01:
            log.warning(
                "note: %s is %.4g frames/s; read as %.4g, its timestamps and an output video "
                "follow %.4g (without the sound)",
                self.source_id,
                declared,
                fps,
                fps,
            )
        count = None
        if not self.live:
            n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
            count = int(n) if math.isfinite(n) and n > 0 else None
            if count and (self.start or self.end is not None):  # the part's frames
                last = min(count, math.ceil(self.end * fps)) if self.end is not None else count
                count = max(1, last - round(self.start * fps))
        self.info = SourceInfo(
            source_id=self.source_id,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            fps=float(fps),
            frame_count=count,
            live=self.live,
            # a part's sound would start at the file's start, out of step: none is copied
            media_path=self._media_path() if self.fps_override is None and not self.start else None,
            video=True,
        )
        self._use_msec = self.fps_override is None
        self._last_ts = -1.0
        first_frame = self._seeked_to + self._frames_read - 1 if self.start else 0
        self._offset = first_frame / fps  # index / fps counts from the part's first frame
        return self.info

    def frames(self):
        """Yield every frame; a live source that stops delivering raises FervisionError."""
        if self.info is None or (self._cap is None and self._first is None):
            raise FervisionError(f"{self._what()} is not open: call open() first")
        index = 0
        item, self._first = self._first, None
        last_good = time.perf_counter()
        while True:
            if item is None:
                item = self._read()
                if item is None:
                    if not self._closing and not self._running.is_set():
                        if not self._wait_resumed():
                            return
                        last_good = time.perf_counter()
                        continue
                    if self._closing or self._cap is None:
                        return
                    if not self.live:  # the end of a file
                        self._warn_if_short(index)
                        return
                    quiet = time.perf_counter() - last_good
                    ended = self._ended  # closed at its end: no use waiting for a frame
                    if self.reconnect and (
                        ended or quiet > min(self.stall_timeout, RECONNECT_AFTER_S)
                    ):
                        item = self._reopen(index, last_good)
                        if item is None:
                            return  # closed while reconnecting
                        continue
                    if ended or quiet > self.stall_timeout:
                        hint = "" if self.reconnect else RECONNECT_HINT
                        raise FervisionError(
                            f"{self._what()} stopped delivering frames after {index} frames{hint}"
                        )
                    time.sleep(0.01)
                    continue
            image, msec, captured_at = item
            item = None
            last_good = captured_at
            timestamp = self._timestamp(index, msec, captured_at)
            if self.end is not None and timestamp >= self.end:
                return  # the end of the part
            yield Frame(
                image=to_bgr(image),
                index=index,
                timestamp=timestamp,
                source_id=self.source_id,
                captured_at=captured_at,
            )
            index += 1

    def _warn_if_short(self, decoded: int) -> None:
        """Warn when a file ends well before the frame count its container gives (an
        estimate in some containers, hence the margin)."""
        expected = self.info.frame_count
        if expected and decoded < SHORT_FILE * expected:
            self.ended_early = (decoded, expected)
            log.warning(
                "warning: %s ended after %d of its %d frames; the file may be truncated or damaged",
                self._what(),
                decoded,
                expected,
            )

    def _reopen(self, index: int, last_good: float):
        """After a drop, open the capture again: its first frame, or None when closing.

        Tries ``reconnect`` times, waiting longer before each; then raises one line.
        """
        self._release()
        delay = RECONNECT_DELAY_S
        for _ in range(self.reconnect):
            if self._wait(delay):
                return None
            delay = min(2 * delay, RECONNECT_MAX_DELAY_S)
            try:
                cap = _quietly(self._open_capture)
            except FervisionError:
                continue
            with self._lock:
                if self._closing:
                    cap.release()
                    return None
                self._cap = cap
            item = self._read_first()
            if item is not None:
                self.reconnects += 1
                gap = item[2] - last_good
                self.frames_missed += max(0, round(gap * self._rate(index, last_good)) - 1)
                return item
            self._release()
        raise FervisionError(
            f"{self._what()} stopped delivering frames after {index} frames and could not "
            f"be reopened ({self.reconnect} tries)"
        )

    def _opened(self, work, release=None):
        """``work()``; on a helper thread for a source that opens slowly (see
        :func:`_heeding_interrupts`), given up when :meth:`abort` is called."""
        if not self.slow_open:
            return work()
        return _heeding_interrupts(work, release, give_up=lambda: self._closing)

    def abort(self) -> None:
        """Give up an :meth:`open` in progress (from another thread, at once): it raises
        StopPipeline, and what FFmpeg opens meanwhile is released when it returns."""
        self._closing = True

    def _rate(self, frames: int, last_good: float) -> float:
        """Frames a second the source delivered before a drop (its declared rate until a
        second's worth came: a stream may declare 25 and send 22)."""
        span = last_good - self._opened_at
        return frames / span if span >= 1.0 and frames >= 10 else self.info.fps

    def suspend(self) -> None:
        """Release the capture (a camera's light goes off) until :meth:`resume`.

        :meth:`frames` waits meanwhile instead of ending.
        """
        self._running.clear()
        self._release()  # waits for a read in progress

    def resume(self) -> None:
        """Open the capture again; a file continues at the frame after the last one read."""
        with self._lock:
            if self._cap is None and not self._closing:
                with quiet_native_output():
                    cap = self._open_capture()
                if not self.live and (self._frames_read or self._seeked_to):
                    cap.set(cv2.CAP_PROP_POS_FRAMES, self._seeked_to + self._frames_read)
                self._cap = cap
        self._running.set()

    def _wait_resumed(self) -> bool:
        """Wait while suspended; False when the source closes meanwhile."""
        while not self._running.wait(0.1):
            if self._closing:
                return False
        return not self._closing

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less if the source is closed meanwhile (then True)."""
        deadline = time.perf_counter() + seconds
        while not self._closing and time.perf_counter() < deadline:
            time.sleep(0.02)
        return self._closing

    def _release(self) -> None:
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None

    def close(self) -> None:
        """Release the capture (safe to call twice, and while the reader thread reads)."""
        self._close_within(1.0)

    def _close_within(self, seconds: float) -> None:
        """Close, waiting at most ``seconds`` for a read in progress (0: an open that Ctrl-C
        cut short is given up at once)."""
        self._closing = True
        self._first = None
        # A read in progress holds the lock; if it outlasts the wait, the reader thread
        # releases the capture itself when that read returns.
        if self._lock.acquire(timeout=seconds):
            try:
                if self._cap is not None:
                    self._cap.release()
                    self._cap = None
            finally:
                self._lock.release()

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # reading ----------------------------------------------------------------------------
    def _read(self):
        """One (image, position in ms, capture time), or None when nothing came."""
        with self._lock:
            cap = self._cap
            if cap is None:
                return None
            asked_at = time.perf_counter()
            ok, image = cap.read()
            captured_at = time.perf_counter()
            if self._closing:
                cap.release()
                self._cap = None
                return None
            if not ok or image is None or image.size == 0:
                self._ended = captured_at - asked_at < self.ended_within
                return None
            self._ended = False
            self._frames_read += 1
            msec = cap.get(cv2.CAP_PROP_POS_MSEC) if not self.live else None
            return image, msec, captured_at

    def _read_first(self):
        deadline = time.perf_counter() + (self.stall_timeout if self.live else 0)
        while True:
            item = self._read()
            if item is not None and self.start and _early(item[1], self.start):
                continue  # a seek that landed before the start: decode on to it
            if item is not None or time.perf_counter() >= deadline or self._ended:
                return item
            time.sleep(0.02)

    def _seek(self, cap) -> int:
        """Go to the part's start without decoding what comes before it (the decoder jumps to
        the key frame before it); the frame it is at."""
        cap.set(cv2.CAP_PROP_POS_MSEC, self.start * 1000.0)
        position = cap.get(cv2.CAP_PROP_POS_FRAMES)
        return int(position) if math.isfinite(position) and position > 0 else 0

    def _timestamp(self, index: int, msec, captured_at: float) -> float:
        if self.live:
            return max(0.0, captured_at - self._opened_at)
        ts = self._offset + index / self.info.fps
        if self._use_msec:
            sane = (
                msec is not None
                and math.isfinite(msec)
                and (msec > 0 or index == 0)
                and msec / 1000 >= self._last_ts
            )
            if sane:
                ts = msec / 1000
            else:
                self._use_msec = False  # once the decoder's clock misbehaves, count frames
        self._last_ts = ts
        return ts


def _early(msec, start: float) -> bool:
    """Whether a frame at ``msec`` comes before ``start`` (seconds; half a ms of slack)."""
    return msec is not None and math.isfinite(msec) and msec / 1000.0 < start - 0.0005


def _quietly(open_capture):
    """Open a capture with OpenCV's warnings off (on the reader thread, where file
    descriptors cannot be redirected): a refused reconnect is expected, not news."""
    if os.environ.get("FERVISION_DEBUG"):
        return open_capture()
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        return open_capture()
    finally:
        logging.setLogLevel(level)


def _heeding_interrupts(work, release=None, give_up=None):
    """Run ``work`` (an FFmpeg open or first read, which can block in C for its whole
    timeout) on a helper thread and wait for it here, where Ctrl-C ends the wait at once,
    and so does ``give_up()`` turning true (StopPipeline). A result that comes after that
    is handed to ``release``."""
    outcome: dict = {}
    lock = threading.Lock()

    def run():
        try:
            value = work()
        except BaseException as exc:
            value, outcome["error"] = None, exc
        with lock:
            outcome["value"] = value
            if outcome.get("abandoned") and value is not None and release is not None:
                release(value)

    helper = threading.Thread(target=run, name="fervision-open", daemon=True)
    helper.start()
    try:
        while helper.is_alive():
            helper.join(0.05)
            if give_up is not None and give_up():
                raise StopPipeline
    except BaseException:
        with lock:
            outcome["abandoned"] = True
            if outcome.get("value") is not None and release is not None:
                release(outcome["value"])
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _tries(value) -> int:
    try:
        tries = int(value)
    except (TypeError, ValueError):
        tries = -1
    if tries < 0:
        raise FervisionError(f"invalid reconnect {value!r}: give a count of 0 or more")
    return tries


class VideoSource(_CaptureSource):
    """A video file.

    Args:
        path: the file.
        fps: override the frame rate the file declares (timestamps, output video).
        start: read from this time on (seconds, MM:SS(.s) or HH:MM:SS(.s)); sought to, not
            decoded up to. Timestamps stay the file's.
        end: stop before this time (the same forms).
    """

    live = False

    def __init__(
        self,
        path=None,
        *,
        fps: float | None = None,
        start: float | str | None = None,
        end: float | str | None = None,
    ) -> None:
        super().__init__(fps)
        self.path = input_file(path, "video")
        self.source_id = str(self.path)
        if start is not None or end is not None:
            self.start, self.end = part_of(self.path, start, end, self.fps_override)

    def _what(self) -> str:
        return f"video {self.path}"

    def _media_path(self) -> str | None:
        return str(self.path)

    def _open_capture(self):
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            why = "not a format OpenCV reads"
            if _looks_like_video(self.path):
                why = (
                    "the file is incomplete or damaged (a recording not finished, a copy cut short)"
                )
            raise FervisionError(f"cannot decode video {self.path}: {why}")
        return cap

    def _no_first_frame(self) -> FervisionError:
        return FervisionError(f"cannot decode video {self.path}: no frame could be read")


def part_of(path, start, end, fps: float | None = None) -> tuple[float, float | None]:
    """``start`` and ``end`` in seconds, checked against each other and the file's length
    (from its header: cheap); a one-line OptionError when the part is empty or past the end."""
    first = in_seconds(start, "--start") if start is not None else 0.0
    last = in_seconds(end, "--end") if end is not None else None
    if last is not None and last <= first:
        raise OptionError(f"--end {last:g} s is not after --start {first:g} s")
    cap = cv2.VideoCapture(str(path))
    try:
        count, rate = cap.get(cv2.CAP_PROP_FRAME_COUNT), fps or _sane_fps(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    if not (rate and math.isfinite(count) and count > 0):
        return first, last  # a length the header does not give: the part ends where it ends
    length = count / rate  # the header's count may be an estimate: a frame of slack
    for flag, value, limit in (("--start", first, length), ("--end", last, length + 1 / rate)):
        if value is not None and value >= limit:
            raise OptionError(f"{flag} {value:g} s is past the end of {path} ({length:.2f} s long)")
    return first, last


def _looks_like_video(path) -> bool:
    """Whether the file begins as a video container does (MP4/MOV, Matroska/WebM, AVI)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3" or head[8:12] == b"AVI "


_BACKENDS = {
    "any": "CAP_ANY",
    "v4l2": "CAP_V4L2",
    "dshow": "CAP_DSHOW",
    "msmf": "CAP_MSMF",
    "avfoundation": "CAP_AVFOUNDATION",
    "gstreamer": "CAP_GSTREAMER",
    "ffmpeg": "CAP_FFMPEG",
}


def _backend(name: str | None) -> int:
    if name is None:
        return cv2.CAP_ANY
    attr = _BACKENDS.get(str(name).lower())
    if attr is None or not hasattr(cv2, attr):
        known = ", ".join(sorted(_BACKENDS))
        raise OptionError(f"unknown capture backend {name!r}; known: {known}")
    return getattr(cv2, attr)


class WebcamSource(_CaptureSource):
    """A camera by index (``webcam:1``) or device path (``webcam:/dev/video2``).

    Args:
        device: camera index or device path (default 0).
        width, height, fps: asked of the camera; it may choose the nearest it supports.
        reconnect: tries to open the camera again after it vanishes (0: end the run).
        backend: ``v4l2``, ``dshow``, ``msmf``, ``avfoundation``, ... (default: OpenCV's pick).
    """

    live = True

    def __init__(
        self,
        device=0,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        backend: str | None = None,
        reconnect: int = 0,
    ) -> None:
        super().__init__(None)
        self.reconnect = _tries(reconnect)
        text = str(device).strip()
        if text.lstrip("-").isdigit():
            self.device: int | str = int(text)
            if self.device < 0:
                raise FervisionError(f"invalid camera index {device!r}")
        else:
            if not Path(text).exists():
                raise FervisionError(
                    f"camera not found: {text} (a camera is a number, webcam:1, or a device "
                    "path, webcam:/dev/video2)"
                )
            self.device = text
        try:
            self.width = int(width) if width else None
            self.height = int(height) if height else None
            self.fps = float(fps) if fps else None
        except (TypeError, ValueError) as exc:
            raise FervisionError(f"invalid camera option: {exc}") from None
        self.backend = _backend(backend)
        self.source_id = f"webcam:{self.device}"

    def _what(self) -> str:
        return f"camera {self.device}"

    def _open_capture(self):
        cap = cv2.VideoCapture(self.device, self.backend)
        if not cap.isOpened():
            cap.release()
            raise FervisionError(
                f"cannot open camera {self.device}: no such camera, or it is in use"
            )
        for prop, value in (
            (cv2.CAP_PROP_FRAME_WIDTH, self.width),
            (cv2.CAP_PROP_FRAME_HEIGHT, self.height),
            (cv2.CAP_PROP_FPS, self.fps),
        ):
            if value:
                cap.set(prop, value)
        return cap

    def _fallback_fps(self) -> float:
        return self.fps or DEFAULT_FPS

    def _no_first_frame(self) -> FervisionError:
        return FervisionError(f"camera {self.device} opened but delivered no frames")


class StreamSource(_CaptureSource):
    """A network stream or remote video through FFmpeg (rtsp, rtmp, http(s), udp, srt...).

    A URL whose path ends in a video suffix (``https://host/clip.mp4``) is read as a
    finite file (not live: every frame, and the end is just the end); anything else is
    live (stale frames dropped; a stall of ``read_timeout`` seconds is an error, and so is
    the server closing the connection, at once).

    Args:
        url: the stream URL.
        open_timeout, read_timeout: seconds before connecting or reading gives up.
        fps: override the declared frame rate.
        live: force live (True) or file (False) handling.
        reconnect: tries to open a live stream again after it drops (0: end the run).
    """

    def __init__(
        self,
        url=None,
        *,
        open_timeout: float = 10.0,
        read_timeout: float = 10.0,
        fps: float | None = None,
        live: bool | None = None,
        reconnect: int = 0,
    ) -> None:
        super().__init__(fps)
        self.reconnect = _tries(reconnect)
        if not url or "://" not in str(url):
            raise FervisionError(f"not a stream URL: {url!r} (expected e.g. rtsp://host/path)")
        self.url = str(url)
        self.open_timeout = float(open_timeout)
        self.read_timeout = float(read_timeout)
        if live is None:
            suffix = os.path.splitext(urlparse(self.url).path)[1].lower()
            live = suffix not in REMOTE_FILE_SUFFIXES
        self.live = bool(live)
        self.stall_timeout = max(self.read_timeout, 0.5)
        self.ended_within = 0.5 * self.read_timeout
        self.source_id = redact_url(self.url)
        self.slow_open = True

    def _what(self) -> str:
        return f"stream {self.source_id}"

    def _open_capture(self):
        params = []
        for name, seconds in (
            ("CAP_PROP_OPEN_TIMEOUT_MSEC", self.open_timeout),
            ("CAP_PROP_READ_TIMEOUT_MSEC", self.read_timeout),
        ):
            if hasattr(cv2, name):
                params += [getattr(cv2, name), int(seconds * 1000)]
        asked_at = time.perf_counter()
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            waited = time.perf_counter() - asked_at
            why = why_not_opened(self.url, self.open_timeout, waited)
            raise FervisionError(f"cannot open stream {self.source_id}: {why}")
        return cap
