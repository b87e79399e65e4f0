"""One video in a worker: heavy stages built once per worker, a fresh Pipeline per video.

A :class:`VideoWorker` lives in a worker process (a process-pool worker or a Ray
actor). It builds the detector and classifier once from the batch's
:class:`~fervision.spec.PipelineSpec` and loads the models then; each video gets a new
Pipeline from the same spec around those objects, with a new tracker and smoother
(they hold per-video state). The worker writes the CSV into a
private scratch folder and returns the finished files' bytes, so only the process that
runs ``fervision batch`` writes into the output folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from fervision.errors import one_line
from fervision.options import OptionError
from fervision.spec import PipelineSpec

SCRATCH_PREFIX = "fervision-batch-"
#: Result statuses a worker sends back.
DONE, FAILED, CANCELLED, NEEDS_DATA, BROKEN = "done", "failed", "cancelled", "needs-data", "broken"
BAD_OPTION = "bad-option"  # like BROKEN, from a stage option given wrong (a usage error)
#: The status an engine gives a video whose worker died on every try (not the video's fault
#: for sure, so not remembered as failed: the next run tries it again).
LOST = "lost"
#: The source every video is opened with.
VIDEO_SOURCE = "video"
#: Stages built once per worker (they load models); the others hold per-video state.
SHARED_STAGES = ("detector", "classifier")
PER_VIDEO_STAGES = ("tracker", "smoother")


@dataclass(frozen=True)
class Job:
    """One video to process: where it is, its output name, its size and mtime, who is who
    in it (``--participants``, for its CSV's participant column; "" for none) and the text
    of its events CSV (``--events``, segments for its report; "" for none)."""

    source: str
    name: str
    size: int
    mtime_ns: int
    participants: str = ""
    events: str = ""

    @classmethod
    def for_video(cls, path: Path, name: str, participants: str = "", events: str = "") -> Job:
        stat = path.stat()
        return cls(str(path), name, stat.st_size, stat.st_mtime_ns, participants, events)


def job_settings(spec: PipelineSpec, participants: str = "", events: str = "") -> dict[str, str]:
    """What made a video's outputs, as its summary and report list them: the stages and
    options, the participants and the events' digest (another value processes the video
    again: its report shows the segments)."""
    settings = {**spec.settings(), **({"participants": participants} if participants else {})}
    if events:  # shown in the report: how many, and which file's text (by digest)
        rows = sum(1 for line in events.splitlines()[1:] if line.strip())
        digest = hashlib.sha256(events.encode("utf-8")).hexdigest()[:12]
        settings["events"] = f"{rows} segment{'s' if rows != 1 else ''} ({digest})"
    return settings


@dataclass
class Result:
    """What a worker did with a job; ``files`` maps output kinds to bytes when done."""

    job: Job
    status: str
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0
    reason: str = ""
    worker_deaths: int = 0  # times a worker died on this video before this result
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    summary: dict | None = field(default=None, repr=False)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def limit_threads(threads: int | None) -> None:
    """Keep each worker to its share of the CPU (call before TensorFlow or OpenCV load)."""
    if not threads:
        return
    for var in (
        "OMP_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    ):
        os.environ[var] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:
        pass


class VideoWorker:
    """Processes videos one at a time with stages that stay loaded between videos.

    ``cancel()`` and ``progress()`` may be called from another thread while
    ``process()`` runs (a Ray actor with ``max_concurrency=2`` does so).
    """

    def __init__(
        self, spec: PipelineSpec, threads: int | None = None, on_frame=None, cancelled=None
    ):
        limit_threads(threads)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _ignore_ctrl_c()
        _remove_stale_scratch()
        self.spec = spec
        self._on_frame = on_frame
        self._cancel = threading.Event()
        self._cancelled = cancelled or self._cancel.is_set
        self._frames = 0
        self._stages: dict = {}
        self.load_error: str | None = None
        self.load_status = BROKEN
        self.load_seconds = 0.0
        self.load()

    def load(self) -> None:
        """Build the heavy stages now, and the per-video ones once to check their options;
        a failure is kept and reported for every video (a setting, not a bad video)."""
        start = time.perf_counter()
        try:
            for kind in SHARED_STAGES:
                stage = self._stages[kind] = self.spec.stage(kind)
                if hasattr(stage, "open"):
                    stage.open(None)  # load its model now, not in the first video
            for kind in PER_VIDEO_STAGES:
                self.spec.stage(kind)
        except Exception as exc:  # noqa: BLE001 - reported per video, one line
            self.load_error = one_line(exc)
            self.load_status = BAD_OPTION if isinstance(exc, OptionError) else BROKEN
        self.load_seconds = time.perf_counter() - start

    def cancel(self) -> None:
        self._cancel.set()

    def progress(self) -> int:
        """Frames processed by this worker so far, over all videos."""
        return self._frames

    def ping(self) -> str:
        return self.load_error or ""

    def process(self, job: Job, data: bytes | None = None) -> Result:
        """Run the pipeline on one video and build its report; never raises for a bad video."""
        if self.load_error is not None:
            return Result(job, self.load_status, reason=self.load_error)
        if data is None and not _same_file(job):
            return Result(job, NEEDS_DATA, reason=f"{job.source} is not on this worker's machine")
        with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch:
            source = job.source
            if data is not None:
                source = os.path.join(scratch, "input" + Path(job.source).suffix)
                with open(source, "wb") as f:
                    f.write(data)
            try:
                return self._run(job, source, Path(scratch))
            except Exception as exc:  # noqa: BLE001 - one bad video must not stop the batch
                reason = one_line(exc)
                if source != job.source:
                    reason = reason.replace(source, job.source)
                return Result(job, FAILED, reason=reason)

    def _run(self, job: Job, source: str, scratch: Path) -> Result:
        from fervision.pipeline import Pipeline
        from fervision.plugins import get_registry

        from .outputs import CSV, REPORT, SUMMARY, TIMELINE
        from .report import build_report, summary_json
        from .report_sink import ReportSink

        csv_path = scratch / "emotions.csv"
        started_at = time.time()
        stages = job_settings(self.spec, job.participants, job.events)
        events = scratch / "events.csv"
        if job.events:
            events.write_text(job.events, encoding="utf-8")
        html = ReportSink(
            scratch / "report.html",
            title=Path(job.source).name,
            settings={"source": job.source, **stages},
            csv=csv_path,
            participants=job.participants,
            events=str(events) if job.events else "",
        )
        who = {"participants": job.participants} if job.participants else {}
        csv_sink = get_registry().build("sink", "csv", path=str(csv_path), **who)
        pipeline = Pipeline.from_spec(
            self.spec,
            f"{VIDEO_SOURCE}:{source}",
            sinks=[csv_sink, html],
            **self._stages,
        )
        with closing(pipeline.frames()) as frames:
            for _ in frames:
                self._frames += 1
                if self._on_frame is not None:
                    self._on_frame()
                if self._cancelled():
                    return Result(job, CANCELLED, reason="interrupted")
        run = pipeline.summary
        summary, png = build_report(csv_path, title=Path(job.source).name)
        summary = {
            "source": {"path": job.source, "size": job.size, "mtime_ns": job.mtime_ns},
            "outputs": {
                "csv": f"{job.name}{CSV}",
                "timeline": f"{job.name}{TIMELINE}",
                "report": f"{job.name}{REPORT}",
            },
            "processing": {
                "frames": run.frames,
                "faces": run.faces,
                "seconds": round(run.seconds, 3),
                "fps": round(run.fps, 2),
                "started_at": round(started_at, 3),  # Unix time, in the worker
                "finished_at": round(time.time(), 3),
                "stages": stages,
            },
            **summary,
        }
        files = {
            CSV: csv_path.read_bytes(),
            TIMELINE: png,
            REPORT: (scratch / "report.html").read_bytes(),
            SUMMARY: summary_json(summary),
        }
        return Result(job, DONE, run.frames, run.faces, run.seconds, files=files, summary=summary)


def _same_file(job: Job) -> bool:
    """Whether ``job.source`` on this machine is the file the driver saw."""
    try:
        return os.stat(job.source).st_size == job.size
    except OSError:
        return False


def _ignore_ctrl_c() -> None:
    """Leave Ctrl-C to the batch's main process, which stops workers cleanly.

    A terminal's Ctrl-C reaches every process in its group, workers included.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _remove_stale_scratch() -> None:
    """Remove scratch folders of workers that were killed (their process is gone)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX) :].partition("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
