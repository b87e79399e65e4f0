"""The ``display`` sink: show the annotated frames in an OpenCV window with controls.

Below the picture a bar of buttons, each with its key: Stop / Start (``s``: Stop releases
the camera or file, Start opens it again), Pause / Resume (space or ``p``: keeps the
capture, freezes the picture), Snapshot (``c``: the current annotated frame as a PNG) and
Exit (``q`` or Esc, or closing the window); then a status line (state, source, frame rate,
faces). A video file plays at its own frame rate unless ``pace`` is off. The sink runs on
the main thread (``main_thread = True``), where GUI toolkits want to be. Whether a display
exists is checked when the sink is built, so ``--display`` on a headless machine fails at
once.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fervision.errors import FervisionError, StopPipeline
from fervision.types import Frame, SourceInfo, to_bgr

from .controls import ControlBar, action_for_key
from .rate import RateMeter
from .timeline import EmotionStrip

NOTE_SECONDS = 6.0


def gui_backend() -> str:
    """The GUI toolkit OpenCV was built with (``QT5``, ``GTK3``, ``WIN32UI``, ``NONE``...)."""
    match = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.MULTILINE)
    return match.group(1).upper() if match else "UNKNOWN"


def _qt_has_wayland() -> bool:
    plugins = Path(cv2.__file__).parent / "qt" / "plugins" / "platforms"
    return not plugins.is_dir() or any("wayland" in p.name for p in plugins.iterdir())


def x11_reachable(display: str, timeout: float = 1.0) -> bool:
    """Whether an X server answers at ``display`` (``:0``, ``unix:0``, ``host:10.0``).

    Checked up front because Qt aborts the whole process when it cannot connect.
    """
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return True  # a form we do not know; let the toolkit try
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        targets = [path, "\0" + path]  # the file, then Linux's abstract socket
        family = socket.AF_UNIX
    else:
        targets = [(host.strip("[]"), 6000 + int(number))]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for target in targets:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(target)
                return True
            except OSError:
                continue
    return False


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one probably can."""
    gui = gui_backend()
    if gui == "NONE":
        return "OpenCV was built without GUI support (opencv-python-headless?)"
    if sys.platform.startswith(("win", "darwin", "cygwin")):
        return None
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not x11 and not wayland:
        return "no display available: neither DISPLAY nor WAYLAND_DISPLAY is set"
    if not x11 and gui.startswith("QT") and not os.environ.get("QT_QPA_PLATFORM"):
        if not _qt_has_wayland():
            return "no display available: OpenCV's Qt needs X11 (DISPLAY), only Wayland is set"
    if x11 and not wayland and not x11_reachable(x11):
        return f"no display available: cannot connect to X display {x11!r}"
    return None


class DisplaySink:
    """Show frames (their overlay when there is one) above a bar of controls.

    Args:
        title: the window title (default ``fervision: <source>``).
        max_size: largest initial window side in pixels (the window can be resized).
        pace: show a video file at its own frame rate (outputs still get every frame).
        snapshots: the folder for Snapshot's PNGs (default: the current folder).
        timeline: show each face's emotion over the last 10 s in strips below the picture.
    """

    main_thread = True

    def __init__(
        self,
        title: str | None = None,
        *,
        max_size: int = 1280,
        pace: bool = True,
        snapshots=None,
        timeline: bool = False,
    ) -> None:
        problem = display_problem()
        if problem:
            raise FervisionError(
                f"{problem}; run without a window (--no-display, or no display sink)"
            )
        self.title = title
        self.max_size = int(max_size)
        self.pace = bool(pace)
        self.snapshots = Path(snapshots) if snapshots else Path(".")
        self.timeline = bool(timeline)
        self.strip: EmotionStrip | None = None
        self.window: str | None = None
        self.state = "running"
        self.pipeline = None
        self.info: SourceInfo | None = None
        self.bar: ControlBar | None = None
        self.last_snapshot: Path | None = None
        self._frame: Frame | None = None
        self._image: np.ndarray | None = None
        self._requests: list[str] = []
        self._note = ("", 0.0)
        self._rate = RateMeter()  # frames shown of about the last second
        self._shown_at: float | None = None
        self._clock: tuple[float, float] | None = None  # (wall time, frame time) of pacing
        self._seen_visible = False

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    def bind(self, pipeline) -> None:
        """The pipeline whose source Stop and Start release and reopen."""
        self.pipeline = pipeline

    def open(self, info: SourceInfo, labels=()) -> None:
        name = self.title or f"fervision: {info.source_id}"
        self.info = info
        self.bar = ControlBar(int(info.width))
        self.strip = EmotionStrip(labels=labels) if self.timeline else None
        width, height = self.bar.width, self._bar_top() + self.bar.height
        flags = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | getattr(cv2, "WINDOW_GUI_NORMAL", 0)
        try:
            cv2.namedWindow(name, flags)
            scale = min(1.0, self.max_size / max(width, height, 1))
            cv2.resizeWindow(name, max(1, round(width * scale)), max(1, round(height * scale)))
            cv2.setMouseCallback(name, self._on_mouse)
        except cv2.error as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "error"
            raise FervisionError(
                f"cannot open a window: {detail}; run without a window (--no-display, or no "
                "display sink)"
            ) from None
        self.window = name
        self.state = "running"
        self._requests.clear()
        self._frame = self._image = None
        self._shown_at = self._clock = None
        self._rate.reset()
        self._seen_visible = False

    # showing ----------------------------------------------------------------------------
    def write(self, frame: Frame) -> None:
        if self.window is None:
            raise FervisionError("display is not open")
        self._frame = frame
        if self.strip is not None:
            self.strip.update(frame)
        self._image = to_bgr(frame.annotated if frame.annotated is not None else frame.image)
        now = time.perf_counter()
        self._rate.tick(now)
        self._shown_at = now
        self._show()
        self._wait_until_due(frame)
        if self.state != "running":
            self._hold()

    def _hold(self) -> None:
        """Paused or stopped: stay responsive while frames wait; the time held is not the
        run's processing time (its summary's frame rate leaves it out)."""
        held = time.perf_counter()
        while self.state != "running":
            self._show()
            self._pump(50)
        self._rate.reset()  # the rate after it counts frames shown since, not the wait
        summary = getattr(self.pipeline, "summary", None)
        if summary is not None:
            summary.paused_seconds += time.perf_counter() - held

    def idle(self) -> None:
        """Called while no frame comes (a stream down, reconnecting): the controls still
        answer, and after a second the status line says the frames stopped."""
        if self.window is None:
            return
        waited = time.perf_counter() - (self._shown_at or time.perf_counter())
        if self.state == "running" and waited > 1.0:
            self._note = (f"waiting for frames ({waited:.0f} s)", time.perf_counter() + 0.5)
        self._show()
        self._pump(1)

    def _show(self) -> None:
        cv2.imshow(self.window, self.canvas())

    def canvas(self) -> np.ndarray:
        """The picture with the control bar below it."""
        bar = self.bar.draw(self.state, self._status_line())
        size = (int(self.info.width), int(self.info.height))
        image = self._image
        if image is None:
            image = np.zeros((size[1], size[0], 3), np.uint8)
        elif (image.shape[1], image.shape[0]) != size:  # e.g. a folder of mixed sizes
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if image.shape[1] != bar.shape[1]:  # a narrow picture: centre it over the bar
            left = (bar.shape[1] - image.shape[1]) // 2
            image = cv2.copyMakeBorder(
                image, 0, 0, left, bar.shape[1] - image.shape[1] - left, cv2.BORDER_CONSTANT
            )
        if self.strip is None:
            return np.vstack([image, bar])
        return np.vstack([image, self.strip.draw(bar.shape[1], self.bar.unit), bar])

    def _bar_top(self) -> int:
        """Where the control bar starts: below the picture (and the timeline)."""
        strip = self.strip.height(self.bar.unit) if self.strip is not None else 0
        return int(self.info.height) + strip

    def _status(self) -> str:
        source = self.info.source_id
        if not self.info.live:
            source = Path(source).name or source
        parts = [source]
        if self._frame is not None:
            parts.append(f"frame {self._frame.index}")  # as the CSV's frame column
        if self._rate.rate is not None and self.state == "running":
            parts.append(f"{self._rate.rate:.1f} fps")
        faces = len(self._frame.faces) if self._frame is not None else 0
        parts.append(f"{faces} face{'s' if faces != 1 else ''}")
        return "  ".join(parts)

    def _status_line(self) -> str:
        """The status, or a recent note (e.g. where a snapshot went) in its place."""
        text, until = self._note
        return text if time.perf_counter() < until else self._status()

    def _wait_until_due(self, frame: Frame) -> None:
        """Pump events; for a video file, until the frame is due at the file's own rate."""
        if not (self.pace and self.info is not None and not self.info.live):
            self._pump(1)
            return
        now = time.perf_counter()
        if self._clock is None:
            self._clock = (now, frame.timestamp)
        due = self._clock[0] + frame.timestamp - self._clock[1]
        if due < now - 0.25:  # processing fell behind: play on from here
            self._clock = (now, frame.timestamp)
        self._pump(1)
        while self.state == "running" and (left := due - time.perf_counter()) > 0.001:
            self._pump(max(1, min(50, int(left * 1000))))

    # input ------------------------------------------------------------------------------
    def _on_mouse(self, event, x, y, flags, param) -> None:
        if event != cv2.EVENT_LBUTTONUP or self.bar is None or self.info is None:
            return
        action = self.bar.hit(x, y - self._bar_top())
        if action:
            self._requests.append(action)

    def _pump(self, delay_ms: int) -> None:
        """Wait up to ``delay_ms`` for events, then act on keys, clicks and a closed window."""
        key = cv2.waitKey(delay_ms)
        action = action_for_key(key)
        if action:
            self._requests.append(action)
        while self._requests:
            self._act(self._requests.pop(0))
        # Closed = seen visible before and not now (some backends never report it).
        if self._visible():
            self._seen_visible = True
        elif self._seen_visible:
            raise StopPipeline

    def _act(self, action: str) -> None:
        if action == "exit":
            raise StopPipeline
        if action == "snapshot":
            self.snapshot()
        elif action == "pause" and self.state != "stopped":
            self.state = "running" if self.state == "paused" else "paused"
        elif action == "run":
            if self.state == "stopped":
                if self.pipeline is not None:
                    try:
                        self.pipeline.resume_source()
                    except FervisionError as exc:  # the camera is gone: stay stopped, say so
                        self._note = (f"cannot start: {exc}", time.perf_counter() + NOTE_SECONDS)
                        self._show()
                        return
                self.state = "running"
            else:
                if self.pipeline is not None:
                    self.pipeline.suspend_source()
                self.state = "stopped"
        self._clock = None  # pacing starts again from the next frame
        self._show()

    def snapshot(self) -> Path | None:
        """Save the current annotated frame as a PNG and say where."""
        if self._image is None or self._frame is None:
            return None
        stem = Path(self.info.source_id).stem if not self.info.live else "live"
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "frame"
        name = f"snapshot-{stem}-{self._frame.index:06d}"  # the frame as the CSV numbers it
        path = self.snapshots / f"{name}.png"
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(f"{name}-{n}.png")
        if not cv2.imwrite(str(path), self._image):
            self._note = (f"cannot write {path}", time.perf_counter() + NOTE_SECONDS)
            return None
        self.last_snapshot = path
        self._note = (f"saved {path.name}", time.perf_counter() + NOTE_SECONDS)
        print(f"snapshot: {path}", file=sys.stderr, flush=True)
        return path

    def _visible(self) -> bool:
        try:
            return cv2.getWindowProperty(self.window, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def close(self) -> None:
        """Destroy the window (safe to call twice)."""
        name, self.window = self.window, None
        if name is not None:
            try:
                cv2.destroyWindow(name)
                cv2.waitKey(1)
            except cv2.error:
                pass
