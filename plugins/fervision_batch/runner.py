"""Running a batch: skip finished videos, feed the rest to an engine, write what comes back.

Only this process writes into the output folder: each finished video's files (atomically,
see :mod:`fervision_batch.outputs`) and the index CSV, rewritten after every video.
Interrupted, it asks the workers to stop, keeps every video that finished, marks the
rest ``interrupted`` in the index and raises ``KeyboardInterrupt`` again.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fervision.errors import FervisionError, Interrupted, one_line
from fervision.interrupts import interrupts_deferred
from fervision.options import OptionError
from fervision.outputs import prepare_folder
from fervision.spec import PipelineSpec

from .coder_files import check_coders, coder_paths, write_coder_files, written_record
from .inputs import find_videos, leave_out_annotated, output_names
from .outputs import (
    CSV,
    INDEX_NAME,
    REPORT,
    SUMMARY,
    TIMELINE,
    completed_summary,
    failure_path,
    output_paths,
    record_failure,
    recorded_failure,
    remove_partials,
    write_atomic,
    write_index,
    write_video_outputs,
)
from .worker import (
    BAD_OPTION,
    BROKEN,
    CANCELLED,
    DONE,
    FAILED,
    LOST,
    NEEDS_DATA,
    VIDEO_SOURCE,
    Job,
    Result,
    job_settings,
)

ENGINES = ("local", "ray")
POLL_S = 0.2
#: After Ctrl-C, how long workers get to stop their current video before they are killed.
CANCEL_GRACE_S = 3.0
WORKER_LOG = "workers.log"


@dataclass
class BatchReport:
    """What a batch did, for the command's closing lines."""

    index: Path
    rows: list[dict]
    seconds: float = 0.0
    workers: int = 0
    frames: int = 0
    counts: dict = field(default_factory=dict)
    earlier_index: bytes | None = None  # the index an earlier batch left in the folder

    def failures(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == FAILED]


def _row(job: Job, paths: dict[str, Path], status: str, **values) -> dict:
    row = {
        "input": job.source,
        "status": status,
        "frames": "",
        "faces": "",
        "seconds": "",
        "fps": "",
        "csv": "",
        "summary": "",
        "timeline": "",
        "report": "",
        "reason": "",
    }
    row.update(values)
    if status in (DONE, "skipped"):
        row.update(csv=str(paths[CSV]), summary=str(paths[SUMMARY]), timeline=str(paths[TIMELINE]))
        if paths[REPORT].exists():  # videos a batch finished before it wrote reports have none
            row["report"] = str(paths[REPORT])
    return row


def _done_row(job, paths, status, frames, faces, seconds) -> dict:
    fps = frames / seconds if seconds else 0.0
    return _row(
        job, paths, status, frames=frames, faces=faces, seconds=f"{seconds:.2f}", fps=f"{fps:.1f}"
    )


def _frame_total(jobs: list[Job]) -> int | None:
    """The frame count the videos declare (for the progress bar; None if unknown)."""
    try:
        import cv2
    except ImportError:
        return None
    total = 0
    for job in jobs:
        cap = cv2.VideoCapture(job.source)
        total += max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        cap.release()
    return total or None


def check_parts(videos, options: dict) -> None:
    """``--start``/``--end`` checked against every video's length before any work (an
    OptionError, exit 2, naming the video)."""
    from fervision.pipeline import open_source

    if "start" in options or "end" in options:
        for video in videos:
            open_source(f"{VIDEO_SOURCE}:{video}", **options)  # checks; opens nothing


def make_engine(
    engine: str,
    spec: PipelineSpec,
    workers: int | None,
    videos: int,
    ray_address: str | None,
    out: Path,
):
    from .engines import LocalEngine, RayEngine

    if engine == "ray":
        return RayEngine(spec, workers, videos, ray_address)
    if ray_address:
        raise FervisionError("--ray-address needs --engine ray")
    count = max(1, min(workers or os.cpu_count() or 1, videos))
    return LocalEngine(spec, count, log_path=out / WORKER_LOG)


def run_batch(
    inputs,
    out_dir,
    spec: PipelineSpec,
    engine: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    overwrite: bool = False,
    retry_failed: bool = False,
    echo=print,
    participants: str = "",
    coders=(),
    events: str | None = None,
    include_annotated: bool = False,
) -> BatchReport:
    """Process every video in ``inputs`` into ``out_dir``; see the module docstring.
    ``participants`` (e.g. "a=left,b=right", "auto:2") fills each CSV's participant column.
    ``coders``: sinks (``eaf``, ``boris``, ``states``) whose file each video also gets from its
    CSV (the video linked, ``events`` added); a skipped video gets those it lacks."""
    if engine not in ENGINES:
        raise FervisionError(f"unknown engine {engine!r}; known engines: {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise FervisionError(f"--workers must be 1 or more, not {workers}")
    if engine == "ray":
        from .engines import _import_ray

        _import_ray()  # the one-line install hint before any work
    spec = spec.checked(VIDEO_SOURCE)  # names and options, before any work or model load
    check_coders(coders)
    videos = find_videos(inputs)
    if not include_annotated:  # an earlier run's --output beside the interviews
        videos = leave_out_annotated(videos, lambda line: echo(line, file=sys.stderr))
    check_parts(videos, spec.options.get("source", {}))
    out = prepare_folder(out_dir)
    index = out / INDEX_NAME
    start = time.perf_counter()
    marked = _events_text(events)
    made_by = job_settings(spec, participants, marked)  # made otherwise: processed again
    jobs, rows, todo = [], [], []
    for video, name in zip(videos, output_names(videos)):
        job = Job.for_video(video, name, participants, marked)
        paths = output_paths(out, name)
        remove_partials(paths)
        summary = None
        if not overwrite:
            summary = completed_summary(paths, job.size, job.mtime_ns, made_by)
        failed_before = None
        if not (overwrite or retry_failed):
            failed_before = recorded_failure(failure_path(out, name), job.size, job.mtime_ns)
        if failed_before is not None:
            rows.append(
                _row(
                    job,
                    paths,
                    FAILED,
                    reason=f"{failed_before} (earlier run; --retry-failed tries again)",
                )
            )
        elif summary is not None:
            run = summary.get("processing", {})
            rows.append(
                _done_row(
                    job,
                    paths,
                    "skipped",
                    run.get("frames", ""),
                    run.get("faces", ""),
                    float(run.get("seconds") or 0),
                )
            )
            _coder_files(rows[-1], job, out, coders, paths[CSV], events, missing_only=True)
        else:
            rows.append(_row(job, paths, "pending"))
            todo.append(len(jobs))
        jobs.append(job)
    report = BatchReport(index, rows, earlier_index=index.read_bytes() if index.exists() else None)
    write_index(index, rows)
    if todo:
        _process(
            report, [jobs[i] for i in todo], todo, out, spec, engine, workers, ray_address, echo,
            (coders, events),
        )  # fmt: skip
    report.seconds = time.perf_counter() - start
    report.counts = {s: sum(r["status"] == s for r in rows) for s in (DONE, "skipped", FAILED)}
    return report


def _events_text(events: str | None) -> str:
    """The events CSV's text, shipped with each job (a Ray worker may not see the file)."""
    if not events:
        return ""
    try:
        return Path(events).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FervisionError(f"cannot read the events file {events}: {one_line(exc)}") from None


def _coder_files(row, job: Job, out, coders, csv_path, events, missing_only=False) -> list:
    """Write the video's coders' files (only those missing, for a skipped video), keeping
    any a coder changed (returned); a failure marks the video failed (not remembered: a
    rerun tries again)."""
    paths = coder_paths(out, job.name, coders)
    if missing_only:
        paths = {kind: path for kind, path in paths.items() if not path.exists()}
    try:
        record = written_record(out, job.name)
        return write_coder_files(paths, csv_path, job.source, events or "", record=record)
    except (FervisionError, OSError) as exc:
        row.update(status=FAILED, reason=f"its coders' files: {exc}")
        return []


def _process(report, jobs, positions, out, spec, engine_name, workers, ray_address, echo, coders):
    """Run ``jobs`` on the engine; ``coders``: (sink names, events) of each video's coders'
    files."""
    from tqdm import tqdm

    rows = report.rows
    where = {job.source: pos for job, pos in zip(jobs, positions)}
    bars = tqdm(
        total=len(jobs), unit="video", desc="videos", disable=None, file=sys.stderr, position=0
    )
    frame_bar = None
    if not bars.disable:
        frame_bar = tqdm(
            total=_frame_total(jobs),
            unit="frame",
            desc="frames",
            file=sys.stderr,
            position=1,
            leave=False,
        )
    queue = [(job, False) for job in reversed(jobs)]
    shown_frames = 0
    engine = None

    def handle(result: Result) -> None:
        job = result.job
        pos = where[job.source]
        paths = output_paths(out, job.name)
        if result.status == NEEDS_DATA:
            queue.append((job, True))
            return
        if result.status in (BROKEN, BAD_OPTION):
            raise _StageLoadError(result.reason, result.status == BAD_OPTION)
        if result.worker_deaths and result.status not in (LOST, CANCELLED):
            echo(
                f"note: a worker died (crashed or killed) while processing {job.source}; "
                f"it was tried again",
                file=sys.stderr,
            )
        if result.status == DONE:
            write_video_outputs(paths, result.files)
            failure_path(out, job.name).unlink(missing_ok=True)
            rows[pos] = _done_row(job, paths, DONE, result.frames, result.faces, result.seconds)
            if result.worker_deaths:
                rows[pos]["reason"] = f"done on try {result.worker_deaths + 1}: a worker died"
            for path in _coder_files(rows[pos], job, out, coders[0], paths[CSV], coders[1]):
                echo(
                    f"note: kept {path} as it was: it changed since fervision wrote it (a "
                    f"coder's corrections?); remove it to get this run's codes",
                    file=sys.stderr,
                )
            report.frames += result.frames
        elif result.status == CANCELLED:
            rows[pos] = _row(job, paths, "interrupted")
        elif result.status == LOST:  # not remembered as failed: a rerun tries it again
            rows[pos] = _row(job, paths, FAILED, reason=result.reason)
        else:
            rows[pos] = _row(job, paths, FAILED, reason=result.reason)
            record_failure(failure_path(out, job.name), job.size, job.mtime_ns, result.reason)
        bars.update()
        write_index(report.index, rows)

    try:
        try:
            engine = make_engine(engine_name, spec, workers, len(jobs), ray_address, out)
        except FervisionError as exc:  # Ray missing or unreachable: no video started
            raise _StageLoadError(str(exc), isinstance(exc, OptionError)) from None
        report.workers = engine.workers
        while queue or engine.in_flight():
            with interrupts_deferred():  # Ctrl-C lands between steps, never inside one
                while queue and engine.in_flight() < engine.workers:
                    job, ship = queue.pop()
                    engine.submit(job, ship=ship)
                for result in engine.poll(POLL_S):
                    handle(result)
                if frame_bar is not None:
                    frames = engine.frames_done()
                    frame_bar.update(frames - shown_frames)
                    shown_frames = frames
    except KeyboardInterrupt:
        _stop(engine, handle, rows, jobs, where, out, report)
        bars.close()
        finished = sum(rows[pos]["status"] in (DONE, FAILED) for pos in positions)
        echo(
            f"interrupted after {finished} of {len(jobs)} videos; every finished video is "
            f"kept (see {report.index}); run the same command again to resume",
            file=sys.stderr,
        )
        raise BatchInterrupted(report) from None
    except _StageLoadError as exc:
        if engine is not None:
            engine.close(force=True)
        _mark_unfinished(rows, jobs, where, out, "not started", reason=exc.reason)
        if report.earlier_index is not None:  # the record of an earlier batch is kept
            write_atomic(report.index, report.earlier_index)
        else:
            write_index(report.index, rows)
        bars.close()
        raise (OptionError if exc.bad_option else FervisionError)(exc.reason) from None
    except BaseException:
        if engine is not None:
            engine.close(force=True)
        raise
    finally:
        if frame_bar is not None:
            frame_bar.close()
    engine.close()
    bars.close()


class BatchInterrupted(Interrupted):
    """Ctrl-C or SIGTERM in a batch, said already; ``report`` holds the videos finished."""

    def __init__(self, report: BatchReport):
        super().__init__()
        self.report = report


class _StageLoadError(Exception):
    """The engine could not start, or a worker build its stages: not a bad video's fault."""

    def __init__(self, reason: str, bad_option: bool = False):
        super().__init__(reason)
        self.reason, self.bad_option = reason, bad_option


def _stop(engine, handle, rows, jobs, where, out, report) -> None:
    """After Ctrl-C: let workers stop, keep what finished, mark the rest interrupted."""
    try:
        if engine is None:
            return
        engine.cancel()
        deadline = time.monotonic() + CANCEL_GRACE_S
        while engine.in_flight() and time.monotonic() < deadline:
            with interrupts_deferred():
                for result in engine.poll(POLL_S):
                    if result.status in (DONE, FAILED, CANCELLED):
                        handle(result)
    except (KeyboardInterrupt, _StageLoadError):
        pass  # a second Ctrl-C: stop waiting
    finally:
        if engine is not None:
            engine.close(force=True)
        _mark_unfinished(rows, jobs, where, out, "interrupted")
        write_index(report.index, rows)


def _mark_unfinished(rows, jobs, where, out, status, reason: str = "") -> None:
    for job in jobs:
        pos = where[job.source]
        if rows[pos]["status"] == "pending":
            rows[pos] = _row(job, output_paths(out, job.name), status, reason=reason)
        remove_partials(output_paths(out, job.name))
