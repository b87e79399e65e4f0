"""The ``display`` sink: show the annotated frames in an OpenCV window.

Keys: space or ``p`` pauses and resumes (the window stays responsive and says PAUSED),
``q`` or Esc ends the run, and so does closing the window. It runs on the main thread
(``main_thread = True``), where GUI toolkits want to be. Whether a display exists is
checked when the sink is built, so ``--display`` on a headless machine fails at once.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

import cv2
import numpy as np

from fervision.errors import FervisionError, StopPipeline
from fervision.types import Frame, SourceInfo, to_bgr

QUIT_KEYS = {ord("q"), ord("Q"), 27}
PAUSE_KEYS = {ord(" "), ord("p"), ord("P")}


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
    """Show frames (their overlay when there is one) in a resizable window.

    Args:
        title: the window title (default ``fervision: <source>``).
        max_size: largest initial window side in pixels (the window can be resized).
    """

    main_thread = True

    def __init__(self, title: str | None = None, *, max_size: int = 1280) -> None:
        problem = display_problem()
        if problem:
            raise FervisionError(f"{problem}; use --no-display")
        self.title = title
        self.max_size = int(max_size)
        self.window: str | None = None
        self.paused = False
        self._seen_visible = False

    def open(self, info: SourceInfo, labels=()) -> None:
        name = self.title or f"fervision: {info.source_id}"
        flags = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | getattr(cv2, "WINDOW_GUI_NORMAL", 0)
        try:
            cv2.namedWindow(name, flags)
            scale = min(1.0, self.max_size / max(info.width, info.height, 1))
            cv2.resizeWindow(
                name, max(1, round(info.width * scale)), max(1, round(info.height * scale))
            )
        except cv2.error as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "error"
            raise FervisionError(f"cannot open a window: {detail}; use --no-display") from None
        self.window = name
        self.paused = False
        self._seen_visible = False

    def write(self, frame: Frame) -> None:
        if self.window is None:
            raise FervisionError("display is not open")
        image = to_bgr(frame.annotated if frame.annotated is not None else frame.image)
        cv2.imshow(self.window, image)
        self._handle(cv2.waitKey(1))
        if self.paused:
            self._pause(image)

    def _pause(self, image: np.ndarray) -> None:
        """Show ``image`` marked PAUSED and wait, responsive, until resumed or quit."""
        marked = image.copy()
        h, w = marked.shape[:2]
        unit = max(0.5, min(h, w) / 480)
        text = "PAUSED  (space: resume, q: quit)"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.7 * unit, 2)
        org = (max(0, (w - tw) // 2), min(h - 4, th + round(40 * unit)))
        cv2.rectangle(
            marked,
            (org[0] - 8, org[1] - th - 8),
            (org[0] + tw + 8, org[1] + 10),
            (0, 0, 0),
            cv2.FILLED,
        )
        cv2.putText(
            marked, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.7 * unit, (255, 255, 255), 2, cv2.LINE_AA
        )
        cv2.imshow(self.window, marked)
        while self.paused:
            self._handle(cv2.waitKey(50))
        cv2.imshow(self.window, image)

    def _handle(self, key: int) -> None:
        """Act on a key from ``waitKey`` and on the window having been closed."""
        if key != -1:
            key &= 0xFF
            if key in QUIT_KEYS:
                raise StopPipeline
            if key in PAUSE_KEYS:
                self.paused = not self.paused
        # Closed = seen visible before and not now (some backends never report it).
        if self._visible():
            self._seen_visible = True
        elif self._seen_visible:
            raise StopPipeline

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
