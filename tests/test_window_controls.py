"""The live window as a person uses it: the real ``fervision run --display`` under Xvfb,
each control clicked with the mouse (and pressed as a key) through xdotool.

Screenshots of each state land in the test's folder (and in ``$FERVISION_SCREENSHOTS``
when set, which is how docs/ gets them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from fervision_opencv.controls import ControlBar

pytestmark = pytest.mark.skipif(
    shutil.which("xdotool") is None or shutil.which("import") is None,
    reason="needs xdotool and ImageMagick's import (Debian packages xdotool, imagemagick)",
)

WIDTH, HEIGHT = 640, 360


@pytest.fixture
def long_clip(clip, tmp_path) -> Path:
    """The real clip three times over (about 27 s at its own pace), without sound."""
    path = tmp_path / "looped.mp4"
    frames = []
    capture = cv2.VideoCapture(str(clip))
    while (image := capture.read()[1]) is not None:
        frames.append(image)
    capture.release()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 29.97, (WIDTH, HEIGHT))
    for _ in range(3):
        for image in frames:
            writer.write(image)
    writer.release()
    return path


class Window:
    """The window of a ``fervision run --display`` process, driven like a person would."""

    def __init__(self, display: str, process: subprocess.Popen, source: Path, shots: Path):
        self.env = {**os.environ, "DISPLAY": display}
        self.process, self.source, self.shots = process, source, shots
        found = self._x("search", "--sync", "--onlyvisible", "--name", "^fervision: ", timeout=180)
        self.id = found.split()[0]
        self.bar = ControlBar(WIDTH)

    def _x(self, *args, timeout=20) -> str:
        return subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        ).stdout

    def screenshot(self, name: str | None = None) -> np.ndarray:
        png = subprocess.run(
            ["import", "-window", self.id, "png:-"], env=self.env, capture_output=True, timeout=20
        ).stdout
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, "no screenshot"
        if name:
            cv2.imwrite(str(self.shots / f"window-{name}.png"), image)
        return image

    def open_handles(self) -> int:
        """How many file descriptors of the process point at the source video."""
        fds = Path(f"/proc/{self.process.pid}/fd")
        count = 0
        for fd in fds.iterdir():
            try:
                count += os.readlink(fd) == str(self.source)
            except OSError:
                pass
        return count

    def use(self, action: str, by: str) -> None:
        if by == "mouse":
            button = next(b for b in self.bar.buttons if b.control.action == action)
            x0, y0, x1, y1 = button.rect
            x, y = (x0 + x1) // 2, HEIGHT + (y0 + y1) // 2
            # as a hand does: rest on the button, press, release (a bare XTEST click right
            # after the move was lost twice in about twenty CI runs)
            self._x("mousemove", "--window", self.id, str(x), str(y), "sleep", "0.1")
            self._x("mousedown", "1", "sleep", "0.05", "mouseup", "1")
        else:
            key = {"run": "s", "pause": "space", "snapshot": "c", "exit": "q"}[action]
            self._x("key", "--window", self.id, key)

    def changes(self, seconds: float = 0.7) -> bool:
        """Whether the window's picture changes within ``seconds``."""
        first = self.screenshot()[:HEIGHT]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if not np.array_equal(self.screenshot()[:HEIGHT], first):
                return True
        return False


def wait_for(condition, seconds: float, step: float = 0.02) -> float | None:
    """Seconds until ``condition()`` held, or None if it did not within ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(step)
    return None


@pytest.mark.parametrize("by", ["mouse", "key"])
def test_every_control_works_in_the_real_window(xvfb, long_clip, tmp_path, by):
    out = tmp_path / "out"
    out.mkdir()
    shots = Path(os.environ.get("FERVISION_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DISPLAY": xvfb}
    env.pop("WAYLAND_DISPLAY", None)
    command = [sys.executable, "-m", "fervision", "run", "--source", str(long_clip), "--display"]
    command += ["--csv", str(out / "emotions.csv"), "--output", str(out / "annotated.mp4")]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        window = Window(xvfb, process, long_clip, shots)
        assert wait_for(window.changes, 60, step=0.1) is not None, "frames never moved"
        assert window.open_handles() == 1
        window.screenshot("running" if by == "mouse" else None)

        window.use("run", by)  # Stop: the capture is released and frames stop
        released = wait_for(lambda: window.open_handles() == 0, 2.0)
        assert released is not None and released < 0.5, f"released after {released} s"
        assert not window.changes()
        window.screenshot("stopped" if by == "mouse" else None)

        window.use("run", by)  # Start: opened again, frames move on
        assert wait_for(lambda: window.open_handles() == 1, 5.0) is not None
        assert window.changes(3.0)

        window.use("pause", by)  # Pause: frames freeze, the capture stays open
        time.sleep(0.3)
        assert not window.changes()
        assert window.open_handles() == 1
        window.screenshot("paused" if by == "mouse" else None)
        window.use("pause", by)
        assert window.changes(3.0)

        window.use("snapshot", by)  # a PNG next to the outputs
        assert wait_for(lambda: list(out.glob("snapshot-*.png")), 5.0) is not None
        time.sleep(0.3)
        window.screenshot("snapshot" if by == "mouse" else None)
        snapshot = cv2.imread(str(next(out.glob("snapshot-*.png"))))
        assert snapshot is not None and snapshot.shape == (HEIGHT, WIDTH, 3)

        window.use("exit", by)  # Exit: the run ends and every output is complete
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "snapshot: " + str(out) in stderr
    csv_frames = {line.split(",")[0] for line in (out / "emotions.csv").read_text().splitlines()}
    processed = len(csv_frames - {"frame"})
    capture = cv2.VideoCapture(str(out / "annotated.mp4"))
    written = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    assert capture.read()[0]
    capture.release()
    assert 20 < processed < 3 * 275 and written == processed  # ended by Exit, all written
    assert f"{processed} frames" in stdout


SNAPSHOT_SCRIPT = """
import sys
import numpy as np
from fervision.types import Frame, SourceInfo
from fervision_opencv.display import DisplaySink

sink = DisplaySink(snapshots=sys.argv[1])
sink.open(SourceInfo(source_id="talk.mp4", width=64, height=48, fps=25.0))
sink.write(Frame(image=np.zeros((48, 64, 3), np.uint8), index=7, timestamp=0.28))
print(sink.snapshot().name)
print(sink._status())
sink.close()
"""


def test_a_snapshot_is_named_by_the_frame_number_the_csv_gives_it(xvfb, tmp_path):
    env = {**os.environ, "DISPLAY": xvfb}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    name, status = done.stdout.splitlines()[-2:]
    assert name == "snapshot-talk-000007.png" and (tmp_path / name).is_file()
    assert "frame 7 " in status


@pytest.mark.skipif(
    shutil.which("openbox") is None or shutil.which("wmctrl") is None,
    reason="needs a window manager to close the window (Debian packages openbox, wmctrl)",
)
def test_closing_the_window_by_its_title_bar_ends_the_run_with_outputs_whole(xvfb, tmp_path):
    env = {**os.environ, "DISPLAY": xvfb}
    env.pop("WAYLAND_DISPLAY", None)
    manager = subprocess.Popen(
        ["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    csv = tmp_path / "emotions.csv"
    command = [sys.executable, "-m", "fervision", "run", "--source", "sample:3000", "--display"]
    process = subprocess.Popen(
        [*command, "--csv", str(csv)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        window = Window(xvfb, process, Path("sample"), tmp_path)
        assert wait_for(window.changes, 60, step=0.1) is not None, "frames never moved"
        # what the title bar's close button sends: a polite WM_DELETE_WINDOW via the manager
        subprocess.run(["wmctrl", "-i", "-c", window.id], env=env, timeout=20, check=True)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        manager.terminate()
        manager.wait(timeout=10)
    assert process.returncode == 0, stderr
    rows = csv.read_text().splitlines()[1:]
    assert 10 < len(rows) < 3000 and all(row.count(",") == rows[0].count(",") for row in rows)
    assert f"{len(rows)} frames".encode() in stdout


STALLED_SCRIPT = """
import time
import numpy as np
from fervision.errors import FervisionError
from fervision.types import Frame, SourceInfo
from fervision_opencv.display import DisplaySink


class Gone:

    def suspend_source(self):
        return True

    def resume_source(self):
        raise FervisionError("cannot open stream http://cam/x: unreachable")


sink = DisplaySink()
sink.bind(Gone())
sink.open(SourceInfo(source_id="http://cam/x", width=64, height=48, fps=25.0, live=True))
sink.write(Frame(image=np.zeros((48, 64, 3), np.uint8), index=0, timestamp=0.0))
time.sleep(1.2)
sink.idle()
print(sink._status_line())
sink._act("run")  # Stop
sink._act("run")  # Start: the camera is gone
print(sink.state, "|", sink._status_line())
sink.close()
"""


def test_the_window_says_frames_stopped_and_stays_stopped_when_start_fails(xvfb):
    env = {**os.environ, "DISPLAY": xvfb}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-c", STALLED_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    waiting, after_start = done.stdout.splitlines()[-2:]
    assert waiting.startswith("waiting for frames (1 s)")
    assert after_start == "stopped | cannot start: cannot open stream http://cam/x: unreachable"


def test_the_status_line_fits_a_narrow_picture():
    from fervision_opencv.controls import FONT

    bar = ControlBar(320)
    status = "http://127.0.0.1:8803/camera.mjpg  frame 343  24.8 fps  1 face"
    image = bar.draw("running", status)
    assert image.shape[1] == bar.width
    scale, line = bar._fitted(f"running  |  {status}", bar.width - 20)
    assert cv2.getTextSize(line, FONT, scale, bar.thickness)[0][0] <= bar.width - 20
    assert line.endswith("24.8 fps  1 face")
