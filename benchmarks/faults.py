"""Faults a user meets, tried for real: what ``fervision`` prints and leaves behind for each.

    python benchmarks/faults.py [--only NAME ...]

Each case runs the real command in a subprocess (real files, a real full disk on a tiny
tmpfs, a real MJPEG-over-HTTP server on 127.0.0.1 that stops mid-run, a batch worker
killed with SIGKILL) and checks that the user gets a clear line, a fitting exit status
and outputs that are whole and valid. It prints one line per case and then
``faults: M of N mishandled`` (skipped cases, such as Ray when it is absent, are not
counted). ``tests/test_faults.py`` runs the same cases under pytest.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(os.environ.get("FERVISION_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CLIP = SHARED / "media" / "short_hamilton_clip.mp4"
#: Runs the CLI with one more plugin: a sink that fails like a full disk at frame 10.
WITH_FAILING_SINK = """
import errno, sys
from fervision import hookimpl
from fervision.plugins import register_plugin

class FailingSink:
    def __init__(self, at="10"):
        self.at = int(at)
    def open(self, info, labels):
        pass
    def write(self, frame):
        if frame.index == self.at:
            raise OSError(errno.ENOSPC, "No space left on device")
    def close(self):
        pass

class Plugin:
    @hookimpl
    def register_stages(self, registry):
        registry.add("sink", "failing", FailingSink)

register_plugin(Plugin(), "faults")
from fervision.cli import main
main(sys.argv[1:])
"""


@dataclass
class Outcome:
    """What one case showed: handled or not, and what the user got."""

    ok: bool
    got: str
    skipped: str = ""


class Mishandled(AssertionError):
    """A check on what the user got failed."""


def check(condition, what: str) -> None:
    if not condition:
        raise Mishandled(what)


CASES: dict[str, Callable[[Path], str]] = {}


def case(name: str):
    """Register a case: a function of a fresh folder that returns what the user got."""

    def register(fn):
        CASES[name] = fn
        return fn

    return register


class Skip(Exception):
    """The case cannot run here (a tool or package is absent)."""


def run_case(name: str, work: Path) -> Outcome:
    try:
        return Outcome(True, CASES[name](work))
    except Skip as exc:
        return Outcome(True, "", skipped=str(exc))
    except (Mishandled, subprocess.TimeoutExpired) as exc:
        return Outcome(False, str(exc))


# -- running the command and reading what it left ------------------------------------------


def fervision(*args, code: str | None = None, timeout: float = 300, prefix=(), **kw):
    """Run ``fervision ARGS`` (through ``code`` when given, for an extra plugin)."""
    start = ["-c", code] if code else ["-m", "fervision"]
    return subprocess.run(
        [*prefix, sys.executable, *start, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def error_line(result, *fragments, status: int = 1) -> str:
    """Check that the run failed with exactly one ``error:`` line holding ``fragments``."""
    lines = [ln for ln in result.stderr.strip().splitlines() if not ln.startswith("warning:")]
    got = lines[0] if lines else f"(nothing on stderr, exit {result.returncode})"
    check("Traceback" not in result.stderr, f"a traceback: {result.stderr[-300:]}")
    check(result.returncode == status, f"exit {result.returncode}, not {status}: {got}")
    check(len(lines) == 1 and got.startswith("error: "), f"not one error line: {lines}")
    for fragment in fragments:
        check(fragment in got, f"{fragment!r} not in {got!r}")
    return got


def succeeded(result) -> str:
    check("Traceback" not in result.stderr, f"a traceback: {result.stderr[-300:]}")
    check(result.returncode == 0, f"exit {result.returncode}: {result.stderr.strip()[-300:]}")
    return result.stdout.strip().splitlines()[0]


def whole_csv(path: Path, live: bool = False) -> list[int]:
    """The frames of an emotion CSV, checking every row is whole; returns them in order.

    Frames run 0, 1, 2... without a gap, except from ``live`` sources (stale ones dropped).
    """
    data = path.read_bytes()
    check(data.endswith(b"\r\n"), f"{path.name} ends inside a row: {data[-40:]!r}")
    rows = list(csv.reader(data.decode("utf-8").splitlines()))
    check(rows and rows[0][0] == "frame", f"{path.name} has no header")
    check(all(len(r) == len(rows[0]) for r in rows), f"{path.name} has a short row")
    frames = [int(r[0]) for r in rows[1:]]
    check(frames == sorted(frames), f"{path.name} has frames out of order")
    frames = sorted(set(frames))
    if not live:
        check(frames == list(range(len(frames))), f"{path.name} misses frames: {frames[:5]}...")
    return frames


def decoded_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def clip_frames(count: int) -> list[np.ndarray]:
    """The first ``count`` frames of the shared clip (the built-in sample when it is absent)."""
    images = []
    if CLIP.is_file():
        capture = cv2.VideoCapture(str(CLIP))
        while len(images) < count:
            ok, image = capture.read()
            if not ok:
                break
            images.append(image)
        capture.release()
    if not images:
        from fervision_opencv.sample import SampleSource

        source = SampleSource(count)
        source.open()
        images = [frame.image for frame in source.frames()]
        source.close()
    return images


def write_video(path: Path, images, fps: float = 25.0) -> Path:
    h, w = images[0].shape[:2]
    codec = "MJPG" if path.suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    for image in images:
        writer.write(image)
    writer.release()
    return path


# -- a camera on the network: MJPEG over HTTP --------------------------------------------


class MjpegServer:
    """An IP camera on 127.0.0.1: JPEG frames as ``multipart/x-mixed-replace`` over HTTP.

    Each of the first ``connections`` clients gets ``frames`` frames at ``fps``, then its
    connection closes; after the last one the server stops listening (reconnects refused).
    """

    def __init__(self, images, frames: int = 60, fps: float = 30.0, connections: int = 1):
        self.jpegs = [cv2.imencode(".jpg", im)[1].tobytes() for im in images]
        self.frames, self.fps, self.connections = frames, fps, connections
        self.served = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for i in range(server.frames):
                        jpeg = server.jpegs[i % len(server.jpegs)]
                        head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}"
                        self.wfile.write(head.encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                        time.sleep(1 / server.fps)
                except OSError:
                    pass  # the client went away
                server.served += 1
                if server.served >= server.connections:
                    threading.Thread(target=server.close, daemon=True).start()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/camera.mjpg"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._closed = False

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._httpd.shutdown()
            self._httpd.server_close()


# -- the cases -----------------------------------------------------------------------------


def _full_disk_prefix(mount: Path, size_kb: int) -> list[str]:
    """A command prefix that runs the command with a ``size_kb`` tmpfs at ``mount``."""
    if not shutil.which("unshare"):
        raise Skip("unshare is not installed")
    probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    if subprocess.run(probe, capture_output=True).returncode:
        raise Skip("user namespaces are not allowed here (no tmpfs to fill)")
    script = (
        f'mount -t tmpfs -o size={size_kb}k fervision-full "{mount}" || exit 99; '
        f'"$@"; rc=$?; cp -a "{mount}/." "{mount}.kept/"; exit $rc'
    )
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"]


def _on_full_disk(work: Path, size_kb: int, *args, **kw):
    """Run ``fervision *args`` with a ``size_kb`` tmpfs at ``work/full``; what it left there
    is copied to ``work/full.kept``."""
    (work / "full").mkdir()
    (work / "full.kept").mkdir()
    result = fervision(*args, prefix=_full_disk_prefix(work / "full", size_kb), **kw)
    check(result.returncode != 99, "could not mount the tmpfs")
    return result


@case("disk full under the CSV")
def disk_full_csv(work: Path) -> str:
    full, video = work / "full", work / "annotated.mp4"
    result = _on_full_disk(
        work, 12, "run", "--source", "sample", "--csv", full / "e.csv", "-o", video
    )
    got = error_line(result, str(full / "e.csv"), "No space left on device")
    frames = whole_csv(work / "full.kept" / "e.csv")
    check(0 < len(frames) < 150, f"{len(frames)} frames in the CSV")
    check(decoded_frames(video) >= len(frames), "the video holds fewer frames than the CSV")
    return got


@case("disk full under the video")
def disk_full_video(work: Path) -> str:
    full, csv_path = work / "full", work / "e.csv"
    args = ("run", "--source", "sample", "--csv", csv_path, "-o", full / "a.mp4")
    result = _on_full_disk(work, 48, *args)
    got = error_line(result, f"cannot write video {full / 'a.mp4'}: No space left on device")
    check(0 < len(whole_csv(csv_path)), "no whole CSV")
    check(not list((work / "full.kept").iterdir()), "a partial video was left")
    return got


@case("disk full under a batch's output folder")
def disk_full_batch(work: Path) -> str:
    videos, full = work / "videos", work / "full"
    videos.mkdir()
    write_video(videos / "a.mp4", clip_frames(150))
    args = ("batch", videos, "--out", full, "--workers", "1", "--detector", "haar")
    result = _on_full_disk(work, 16, *args, cwd=work)
    got = error_line(result, f"cannot write {full}/a.", "No space left on device")
    kept = work / "full.kept"
    rows = list(csv.DictReader((kept / "index.csv").open(newline="")))
    check([r["status"] for r in rows] == ["pending"], f"index: {rows}")
    check(not list(kept.glob("a.*")) and not list(kept.glob(".*partial")), "partial outputs")
    return got


@case("file size limit under the CSV (EFBIG)")
def file_too_large(work: Path) -> str:
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = work / "e.csv"
    result = fervision("run", "--source", "sample", "--csv", out, preexec_fn=limit)
    got = error_line(result, str(out), "File too large")
    check(0 < len(whole_csv(out)) < 150, "the CSV is not cut back to whole frames")
    return got


@case("a sink that raises (default: stop, others valid)")
def failing_sink(work: Path) -> str:
    out, video = work / "e.csv", work / "v.mp4"
    result = fervision(
        "run", "--source", "sample", "--csv", out, "-o", video, "--sink", "failing:10",
        code=WITH_FAILING_SINK,
    )  # fmt: skip
    failed = "plugin 'faults' sink 'failing' failed at frame 10"
    got = error_line(result, failed, "No space left", "--keep-going")
    check(whole_csv(out) == list(range(11)), "the CSV does not stop at frame 10")
    check(decoded_frames(video) == 11, "the video does not stop at frame 10")
    return got


@case("a sink that raises, --keep-going")
def failing_sink_keep_going(work: Path) -> str:
    out = work / "e.csv"
    result = fervision(
        "run", "--source", "sample", "--max-frames", "40", "--csv", out, "--sink", "failing:10",
        "--keep-going", code=WITH_FAILING_SINK,
    )  # fmt: skip
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    check(len(warnings) == 1 and "sink 'failing'" in warnings[0], f"warnings: {warnings}")
    check(result.returncode == 1, f"exit {result.returncode}")
    shown = "stopped early: plugin 'faults' sink 'failing'" in result.stdout
    check(shown, "the summary hides the failure")
    check(whole_csv(out) == list(range(40)), "the CSV did not go on")
    return warnings[0]


@case("a network stream that drops mid-run")
def stream_drops(work: Path) -> str:
    out = work / "e.csv"
    with MjpegServer(clip_frames(60), frames=60) as server:
        result = fervision("run", "--source", server.url, "--no-display", "--csv", out)
    got = error_line(result, "stopped delivering frames after 60 frames", "--reconnect")
    check(" frames, " in result.stdout, "no summary of the frames processed")
    check(len(whole_csv(out, live=True)) > 5, "the CSV is empty")
    return got


@case("a network stream that drops, --reconnect 2")
def stream_reconnects(work: Path) -> str:
    out = work / "e.csv"
    with MjpegServer(clip_frames(45), frames=45, connections=2) as server:
        result = fervision(
            "run", "--source", server.url, "--no-display", "--csv", out, "--reconnect", "2"
        )
    got = error_line(result, "after 90 frames and could not be reopened (2 tries)")
    check("reconnected 1 time (" in result.stdout, f"summary: {result.stdout.strip()}")
    check("frames missed" in result.stdout, "frames missed not counted")
    rows = list(csv.DictReader(out.open(newline="")))
    times = [float(r["timestamp_s"]) for r in rows]
    check(times == sorted(times) and times[-1] - times[0] > 3, "timestamps do not go on")
    whole_csv(out, live=True)
    return result.stdout.strip().splitlines()[0] + " / " + got


@case("a stream that refuses")
def stream_refused(work: Path) -> str:
    with MjpegServer(clip_frames(1)) as server:
        url = server.url
    start = time.perf_counter()
    got = error_line(fervision("run", "--source", url, "--no-display"), "cannot open stream")
    check(time.perf_counter() - start < 60, "it took too long")
    return got


def _bad_option(*args, option: str, status: int = 2) -> Callable[[Path], str]:
    def run(work: Path) -> str:
        return error_line(fervision(*args, cwd=work), option, status=status)

    return run


for _name, _args, _option in (
    ("--max-frames -5", ("run", "sample", "--max-frames", "-5"), "--max-frames"),
    ("--max-frames 0", ("run", "sample", "--max-frames", "0"), "--max-frames"),
    ("--fps 0", ("run", "sample", "--fps", "0"), "--fps"),
    ("--fps 5000", ("run", "sample", "--fps", "5000"), "--fps"),
    ("--camera-size big", ("run", "--source", "webcam", "--camera-size", "big"), "--camera-size"),
    ("--detect-every 0", ("run", "sample", "--detect-every", "0"), "--detect-every"),
    ("--reconnect on a file", ("run", "sample", "--reconnect", "2"), "--reconnect"),
    ("batch --workers 0", ("batch", ".", "--out", "o", "--workers", "0"), "--workers"),
    ("--fps nan", ("run", "sample", "--fps", "nan"), "not a finite number"),
    ("-O source.fps=0", ("run", "sample", "-O", "source.fps=0"), "0 < fps"),
    ("--tracker bogus", ("run", "sample", "--tracker", "bogus"), "unknown tracker 'bogus'"),
    ("--sink bogus", ("run", "sample", "--sink", "bogus:x"), "unknown sink 'bogus'"),
    (
        "-O detector.variant=bogus",
        ("run", "sample", "-O", "detector.variant=bogus"),
        "variant 'bogus'",
    ),
    (
        "-O classifier.backend=bogus",
        ("run", "sample", "-O", "classifier.backend=bogus"),
        "backend 'bogus'",
    ),
    ("vote window 0", ("run", "sample", "--smoother", "vote", "-O", "smoother.window=0"), "window"),
    ("tracker high_score 5", ("run", "sample", "-O", "tracker.high_score=5"), "from 0 to 1, not 5"),
    ("classifier lift nan", ("run", "sample", "-O", "classifier.lift=nan"), "lift must be"),
    ("no source", ("run", "--csv", "e.csv"), "no source"),
    ("--report without .html", ("run", "sample", "--report", "r"), "does not end in .html"),
):
    case(_name)(_bad_option(*_args, option=_option))

case("--sink csv and --csv on one file")(
    _bad_option(
        "run",
        "sample",
        "--csv",
        "e.csv",
        "--sink",
        "csv:e.csv",
        option="name the same file",
    )
)


def _odd_image(name: str, make, expect_error: str | None = None):
    """A case: ``fervision run`` on the image ``make()`` returns (None: an empty file)."""

    def run(work: Path) -> str:
        path, image = work / name, make()
        if image is None:
            path.write_bytes(b"")
        else:
            check(cv2.imwrite(str(path), image), f"cannot write {name}")
        out = work / "e.csv"
        result = fervision("run", "--source", path, "--csv", out, timeout=600)
        if expect_error:
            return error_line(result, expect_error)
        got = succeeded(result)
        check(whole_csv(out) == [0], "not one frame in the CSV")
        return got

    return run


def _noise(*shape, dtype=np.uint8):
    return np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype)


case("image 1x1")(_odd_image("one.png", lambda: np.full((1, 1, 3), 128, np.uint8)))
case("image 16-bit")(_odd_image("deep.png", lambda: _noise(120, 160, 3, dtype=np.uint16)))
case("image RGBA")(_odd_image("alpha.png", lambda: _noise(120, 160, 4)))
case("image 8000x8000")(_odd_image("huge.jpg", lambda: np.full((8000, 8000, 3), 90, np.uint8)))
case("image file empty")(_odd_image("empty.jpg", lambda: None, expect_error="cannot decode"))


@case("a truncated video (.mp4: its index is at the end)")
def truncated_mp4(work: Path) -> str:
    whole = write_video(work / "whole.mp4", clip_frames(90))
    cut = work / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    return error_line(fervision("run", "--source", cut, "--csv", work / "e.csv"), "cut.mp4")


@case("a truncated video (.avi: frames up to the cut)")
def truncated_avi(work: Path) -> str:
    whole = write_video(work / "whole.avi", clip_frames(90))
    cut = work / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    out = work / "e.csv"
    result = fervision("run", "--source", cut, "--csv", out)
    succeeded(result)
    frames = whole_csv(out)
    check(40 < len(frames) < 90, f"{len(frames)} frames from two thirds of 90")
    warned = [line for line in result.stderr.splitlines() if "ended after" in line]
    check(len(warned) == 1, f"no one-line warning that the video is cut: {result.stderr!r}")
    return warned[0].replace(str(cut), "cut.avi")


def _scratch_pids(tmp: Path) -> set[int]:
    """Workers busy on a video now (their scratch folders in ``tmp``)."""
    pids = set()
    for folder in tmp.glob("fervision-batch-*-*"):
        pid = folder.name.removeprefix("fervision-batch-").partition("-")[0]
        if pid.isdigit():
            pids.add(int(pid))
    return pids


def _wait_for(condition, proc, what: str, seconds: float = 240):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if proc.poll() is not None:
            raise Mishandled(f"the batch ended before {what}: {proc.communicate()}")
        if time.monotonic() >= deadline:
            raise Mishandled(f"timed out waiting for {what}; stacks: {_stacks(proc)}")
        time.sleep(0.05)
    return found


def _stacks(proc) -> str:
    """Every thread's stack of a hung ``fervision`` and its batch workers (they dump them on
    SIGUSR1: the workers into ``workers.log`` of the output folder), then the end of stderr."""
    os.killpg(proc.pid, signal.SIGUSR1)
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    return err[-6000:]


def _batch_worker_killed(engine: str) -> Callable[[Path], str]:
    def run(work: Path) -> str:
        if engine == "ray":
            try:
                import ray  # noqa: F401
            except ImportError:
                raise Skip("ray is not installed") from None
        videos = work / "videos"
        videos.mkdir()
        frames = clip_frames(150)
        for name in ("a", "b", "c"):
            write_video(videos / f"{name}.mp4", frames)
        out = work / "out"
        tmp = Path(tempfile.mkdtemp(prefix="fvb"))  # short: Ray's sockets live under it
        env = {**os.environ, "TMPDIR": str(tmp)}
        args = ["-m", "fervision", "batch", videos, "--out", out, "--workers", "1"]
        args += ["--engine", engine, "--detector", "haar"]
        cmd = [sys.executable, *map(str, args)]
        try:
            popen = dict(
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=work
            )
            proc = subprocess.Popen(cmd, start_new_session=True, **popen)
            try:
                _wait_for(lambda: (out / "a.summary.json").exists(), proc, "video a")
                pid = next(iter(_wait_for(lambda: _scratch_pids(tmp), proc, "video b")))
                time.sleep(0.3)  # well into the video
                os.kill(pid, signal.SIGKILL)
                if engine == "local":  # then the whole batch dies on video c
                    _wait_for(lambda: (out / "b.summary.json").exists(), proc, "a retry of b")
                    _wait_for(lambda: _scratch_pids(tmp) - {pid}, proc, "video c")
                    os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate(timeout=300)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            index = {Path(r["input"]).stem: r for r in csv.DictReader((out / "index.csv").open())}
            check(index["a"]["status"] == "done", f"a: {index['a']}")
            check(index["b"]["status"] == "done", f"b: {index['b']}")
            check("a worker died" in index["b"]["reason"], f"b's death not recorded: {index['b']}")
            if engine == "ray":
                check(proc.returncode == 0, f"exit {proc.returncode}: {err[-300:]}")
                check("note: a worker died" in err, f"not said: {err[-300:]}")
            else:
                check(index["c"]["status"] == "pending", f"c: {index['c']}")
            rerun = subprocess.run(
                cmd, capture_output=True, text=True, env=env, cwd=work, timeout=600
            )
            succeeded(rerun)
            missing = 0 if engine == "ray" else 1
            line = f"{missing} done, {3 - missing} skipped, 0 failed"
            check(line in rerun.stdout, f"rerun: {rerun.stdout.strip()}")
            for name in "abc":
                check(len(whole_csv(out / f"{name}.emotions.csv")) == 150, f"{name}'s CSV")
            return f"{index['b']['reason']}; rerun: {rerun.stdout.strip().splitlines()[0]}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return run


case("batch worker killed (local pool), then the batch")(_batch_worker_killed("local"))
case("batch worker killed (Ray)")(_batch_worker_killed("ray"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", action="extend", help="run only the cases whose name has this"
    )
    args = parser.parse_args()
    names = [n for n in CASES if not args.only or any(part in n for part in args.only)]
    mishandled = counted = 0
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            outcome = run_case(name, Path(tmp))
            seconds = time.perf_counter() - start
        if outcome.skipped:
            print(f"skipped     {name}: {outcome.skipped}", flush=True)
            continue
        counted += 1
        mishandled += not outcome.ok
        mark = "ok        " if outcome.ok else "MISHANDLED"
        print(f"{mark}  {name} ({seconds:.0f} s): {outcome.got}", flush=True)
    print(f"faults: {mishandled} of {counted} mishandled")
    return 1 if mishandled else 0


if __name__ == "__main__":
    sys.exit(main())
