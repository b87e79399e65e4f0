"""The frame pipeline: source -> detect -> track -> classify -> smooth -> annotate -> sinks."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import sys
import threading
import time
import weakref
from collections import Counter, deque
from contextlib import closing
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from .contracts import check_annotated, check_ids, check_labels, check_probs, checked_faces
from .errors import (
    FervisionError,
    SinkFailed,
    SinkNotClosed,
    StageFailed,
    StopPipeline,
    one_line,
)
from .interrupts import interrupts_deferred
from .outputs import check_distinct, check_not_input
from .plugins import call_hook, get_plugin_manager, get_registry
from .registry import DEFAULT_STAGES, built_title
from .spec import STAGES, PipelineSpec, build_stage, check_option_kinds, open_source
from .threads import ReadAhead, WriteBehind
from .types import Face, Frame, SourceInfo

_UNCOUNTABLE = 64  # recent frames whose counts can be taken back (the write queue holds 8)


@dataclass
class Summary:
    """What a run did: counts, speed, latency and the share of each emotion."""

    frames: int = 0
    faces: int = 0
    frames_with_faces: int = 0
    seconds: float = 0.0
    dropped: int = 0
    interrupted: bool = False
    reconnects: int = 0  # times a live source was opened again after it dropped
    missed: int = 0  # frames a live source is estimated to have sent while it was away
    failed_sinks: list[str] = field(default_factory=list)  # outputs that stopped early
    label_counts: Counter = field(default_factory=Counter)
    track_frames: Counter = field(default_factory=Counter)  # track id -> frames it was in
    latencies: list[float] = field(default_factory=list, repr=False)
    stills: bool = False  # the frames were photos: counted as photos
    skipped: int = 0  # inputs the source could not read (photos it skipped)
    ended_early: tuple[int, int] | None = None  # a file cut short: (frames, its frame count)
    error: str | None = None  # the error that ended the run (a stream that stopped), if any
    paused_seconds: float = 0.0  # time a window held the run (Pause, Stop): not processing

    @property
    def fps(self) -> float:
        """Frames over the time spent processing (a window's Pause and Stop left out)."""
        active = self.seconds - self.paused_seconds
        return self.frames / active if active > 0 else 0.0

    @property
    def label_shares(self) -> dict[str, float]:
        total = sum(self.label_counts.values())
        return {k: v / total for k, v in self.label_counts.most_common()} if total else {}

    @property
    def latency_ms(self) -> float | None:
        """Median capture-to-sink latency in milliseconds."""
        return float(np.median(self.latencies)) * 1000 if self.latencies else None

    def describe(self) -> str:
        """A few human-readable lines."""
        unit = "photo" if self.stills else "frame"
        lines = [
            f"{counted(self.frames, unit)}, {self._faces()} "
            f"({counted(self.frames_with_faces, unit)} with a face), "
            f"{self.fps:.1f} {unit}s/s processing"
        ]
        if self.latency_ms is not None:
            lines[0] += f", latency {self.latency_ms:.0f} ms"
        if self.skipped:
            lines[0] += f", {self.skipped} skipped (not readable)"
        if self.dropped:
            lines[0] += f", {counted(self.dropped, 'stale frame')} dropped"
        if self.reconnects:
            times = "time" if self.reconnects == 1 else "times"
            lines[0] += f", reconnected {self.reconnects} {times} ({self.missed} frames missed)"
        if self.label_shares:
            lines.append(
                "emotions: " + ", ".join(f"{k} {v:.0%}" for k, v in self.label_shares.items())
            )
        for failure in self.failed_sinks:
            lines.append(f"stopped early: {failure}")
        if self.interrupted:
            lines.append("interrupted: every processed frame was written")
        return "\n".join(lines)

    def _faces(self) -> str:
        """Faces as a reader counts them: on photos each face, in video each tracked face
        (not the detections summed over frames), or detections where nothing tracked."""
        if self.stills:
            return counted(self.faces, "face")
        if self.track_frames:
            return counted(len(self.track_frames), "tracked face")
        return counted(self.faces, "face detection")


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless n is 1: "1 photo", "3 faces"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def sink_path(sink) -> str | os.PathLike | None:
    """The file a sink writes: its ``path``, as file sinks (plugins' too) name it; else None."""
    path = getattr(sink, "path", None)
    return path if isinstance(path, (str, os.PathLike)) else None


def _frame_limit(max_frames, sinks) -> int | None:
    """The fewest frames asked for: by the run, or by a sink (its ``max_frames``: a single
    image file takes one frame, and the run stops there for every output)."""
    limits = [max_frames] + [getattr(s, "max_frames", None) for s in sinks]
    limits = [n for n in limits if n is not None]
    return min(limits) if limits else None


def _check_not_input(sink, info: SourceInfo) -> None:
    """A sink must not be about to write over the input; checked before any sink opens
    (and truncates) a file."""
    path = sink_path(sink)
    if path is not None:
        check_not_input(path, info.source_id)


def _open_sink(sink, info: SourceInfo, labels) -> None:
    """Open ``sink``; an error that does not name it (a plugin's OSError) is made to."""
    try:
        _call(sink, "open", info, labels)
    except FervisionError:
        raise
    except Exception as exc:
        raise FervisionError(f"cannot open {sink_name(sink)}: {one_line(exc)}") from exc


def _call(stage, method: str, *args):
    fn = getattr(stage, method, None)
    return fn(*args) if fn is not None else None


def sink_name(sink) -> str:
    """How messages name a sink: by plugin and name if built by name (``plugin 'jsonl' sink
    'jsonl' out.jsonl``), else by class (``broken sink out.csv``), with any path."""
    kind = type(sink).__name__.removesuffix("Sink").lower() or "sink"
    title = built_title(sink) or f"{kind} sink"
    path = getattr(sink, "path", None)
    return f"{title} {path}" if path else title


log = logging.getLogger("fervision")


class Pipeline:
    """A streaming pipeline of stages; iterate it frame by frame or :meth:`run` it.

    Every stage may be an object or a registered name (``"mediapipe"``, ``"csv:out.csv"``);
    ``options`` sets named stages' options by kind, ``{"detector": {"min_size": 60}}``
    (``fervision plugins -v`` lists them). A sink that raises is reported once with its
    name; by default the run then stops with every other output closed and valid; with
    ``keep_going`` the others go on.

    Breaking out of ``for frame in pipeline`` ends the run; so does :meth:`close` or
    leaving a ``with pipeline:`` block, also where an exception in the loop keeps the
    iteration alive (a notebook's traceback holds it).

    Example:
        >>> pipeline = Pipeline("sample", sinks=["csv:emotions.csv"])
        >>> summary = pipeline.run(max_frames=50)
    """

    def __init__(
        self,
        source,
        detector=DEFAULT_STAGES["detector"],
        tracker=DEFAULT_STAGES["tracker"],
        classifier=DEFAULT_STAGES["classifier"],
        smoother=DEFAULT_STAGES["smoother"],
        annotator=None,
        sinks=(),
        detect_every: int = 1,
        keep_going: bool = False,
        options: dict[str, dict] | None = None,
    ):
        if not _is_count(detect_every):
            raise FervisionError(
                f"detect_every must be a whole number, 1 or more, not {detect_every!r}"
            )
        options = options or {}
        check_option_kinds(options)
        # Sinks first: a bad output path fails before any model loads.
        if sinks is None:
            sinks = []
        elif isinstance(sinks, (str, os.PathLike)) or not hasattr(sinks, "__iter__"):
            sinks = [sinks]  # one sink given alone: "csv:out.csv"
        self.sinks = [build_stage("sink", s) for s in sinks]
        check_distinct([(sink_name(s), getattr(s, "path", None)) for s in self.sinks])
        self.source = open_source(source, **options.get("source", {}))
        given = {
            "detector": detector,
            "tracker": tracker,
            "classifier": classifier,
            "smoother": smoother,
            "annotator": annotator,
        }
        for kind, stage in given.items():
            setattr(self, kind, build_stage(kind, stage, options.get(kind)))
        self._titles = {
            kind: _title(kind, stage, getattr(self, kind)) for kind, stage in given.items()
        }
        self.detect_every = detect_every
        self.keep_going = keep_going
        self.info: SourceInfo | None = None
        self.summary = Summary()
        self._counted: deque = deque(maxlen=_UNCOUNTABLE)  # what the latest frames added
        self._running = threading.Lock()  # one run at a time: the stages keep per-run state
        self._suspended = False  # a window's Stop released the source
        self._stop_requested = threading.Event()  # stop() was called
        self._opening = False  # the run is opening its source (a stream may be connecting)
        self._runner: int | None = None  # the thread that started the run in progress
        self._left_running = False  # the last run's reader was still in its source at the end
        # iterations to end on close(); weak: a loop left behind still ends its run at once
        self._runs: weakref.WeakSet = weakref.WeakSet()

    @classmethod
    def from_spec(cls, spec: PipelineSpec, source, sinks=(), keep_going=False, **stages):
        """The pipeline ``spec`` describes, on ``source``; stages given as objects (``source``,
        or ``detector=...`` built once and reused) take the place of the spec's."""
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise FervisionError(
                f"from_spec got {', '.join(map(repr, unknown))}, not a stage kind; it takes "
                f"{', '.join(STAGES)}"
            )
        named = {kind: stages.get(kind, getattr(spec, kind)) for kind in STAGES}
        # a source object is built already; a path, name, camera index or images take options
        built = {*stages, *(["source"] if hasattr(source, "frames") else [])}
        options = {kind: v for kind, v in spec.options.items() if kind not in built}
        return cls(
            source,
            **named,
            sinks=sinks,
            detect_every=spec.detect_every,
            keep_going=keep_going,
            options=options,
        )

    @property
    def labels(self) -> tuple[str, ...]:
        if self.classifier is None:
            return ()
        labels = self.classifier.labels
        if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
            title = self._titles["classifier"]
            raise StageFailed(f"{title} has labels {labels!r}, not a list of class names")
        return tuple(labels)

    def stages(self) -> list:
        """The run's stages in order (source, detector, tracker, classifier, smoother,
        annotator, then the sinks), those left out (None) skipped."""
        return [stage for _, stage in self._staged()]

    def _staged(self) -> list[tuple[str, object]]:
        """(kind, stage) of every stage there is, in pipeline order."""
        return [(kind, getattr(self, kind)) for kind in STAGES if getattr(self, kind) is not None]

    def detected(self, frames, live: bool = False):
        """Detect faces in each frame; between detections (``detect_every``) carry the boxes.

        For recorded sources a detector's ``detect_stream(frames)``, when it has one,
        detects instead: it may hold a few frames back to look at them again.
        """
        stream = getattr(self.detector, "detect_stream", None)
        if stream is not None and not live and self.detect_every == 1:
            frame = None
            try:
                for frame in stream(frames):
                    frame.faces = checked_faces(frame.faces, self._titles["detector"], frame)
                    yield frame
            except (FervisionError, StopPipeline, GeneratorExit):
                raise
            except Exception as exc:  # the source's own are FervisionErrors by now
                at = frame.index + 1 if frame is not None else 0
                raise StageFailed(
                    f"{self._titles['detector']} failed at frame {at}: {one_line(exc)}"
                ) from exc
            return
        previous: list[Face] = []
        for i, frame in enumerate(frames):
            if self.detector is not None:
                if i % self.detect_every == 0:
                    frame.faces = self._detect(frame)
                else:
                    frame.faces = [Face(f.box, f.score) for f in previous]
            previous = frame.faces
            yield frame

    def _detect(self, frame: Frame) -> list[Face]:
        try:
            faces = self.detector.detect(frame)
        except (FervisionError, StopPipeline):
            raise
        except Exception as exc:
            raise self._stage_failed("detector", frame, exc) from exc
        return checked_faces(faces, self._titles["detector"], frame)

    def analyze(self, frame: Frame, tracked: bool = False) -> Frame:
        """Track (unless ``tracked``: by :meth:`tracked`), classify, smooth and annotate the
        faces already detected in ``frame``."""
        frame.labels = self.labels
        kind = "tracker"
        try:
            if self.tracker is not None:
                if not tracked:
                    self.tracker.update(frame)
                check_ids(frame, self._titles["tracker"])
                ended = getattr(self.tracker, "ended", None)
                if ended and self.smoother is not None:
                    kind = "smoother"
                    _call(self.smoother, "forget", ended)
            kind = "classifier"
            if self.classifier is not None and frame.faces:
                self.classifier.classify(frame)
                check_probs(frame, self._titles["classifier"])
            kind = "smoother"
            if self.smoother is not None:
                self.smoother.update(frame)
                check_probs(frame, self._titles["smoother"], "smoothed")
                check_labels(frame, self._titles["smoother"])
            kind = "annotator"
            if self.annotator is not None:
                frame.annotated = self.annotator.annotate(frame)
                check_annotated(frame.annotated, frame, self._titles["annotator"])
        except (FervisionError, StopPipeline):
            raise
        except Exception as exc:  # say which stage, at which frame
            raise self._stage_failed(kind, frame, exc) from exc
        return frame

    def tracked(self, frames):
        """For recorded sources: the tracker's ``track_stream(frames)``, which may hold a few
        frames back to give a track its id from its first frame (``analyze`` them with
        ``tracked=True``); its own error in one line naming it."""
        frame = None
        try:
            for frame in self.tracker.track_stream(frames):
                yield frame
        except (FervisionError, StopPipeline, GeneratorExit):
            raise
        except Exception as exc:
            at = f" after frame {frame.index}" if frame is not None else ""
            raise StageFailed(f"{self._titles['tracker']} failed{at}: {one_line(exc)}") from exc

    def _stage_failed(self, kind: str, frame: Frame, exc: Exception) -> StageFailed:
        return StageFailed(f"{self._titles[kind]} failed at frame {frame.index}: {one_line(exc)}")

    def __iter__(self):
        """Open everything, yield each processed frame, and close everything at the end."""
        return self._frames(None)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def stop(self) -> None:
        """Ask the run in progress to end at its next frame; safe from any thread (a GUI's
        button, a signal handler, a timer). The thread running it closes every output."""
        self._stop_requested.set()
        if self._opening:  # a stream still connecting gives up at once
            _call(self.source, "abort")

    def close(self, timeout: float | None = None) -> bool:
        """End the run in progress, if any: every output closed and valid, the source released.

        From another thread than the one running it, this asks it to stop and waits (at
        most ``timeout`` seconds) until it has closed everything; from a stage or sink of
        the run itself, it only asks (the run ends after the current frame). Returns
        whether it timed out: True if the run, or its reader stuck in the source (a
        generator blocked in your code), was still going when it returned.
        """
        me = threading.current_thread()
        if self._runner not in (None, me.ident):
            self.stop()
            if not me.name.startswith("fervision-"):  # not the run's own reader or writer
                if not self._running.acquire(timeout=-1 if timeout is None else timeout):
                    return True
                self._running.release()
                return self._left_running
            return False
        if self._runs:
            self._stop_requested.set()  # a reader waiting in the source is not waited for
        for run in list(self._runs):
            try:
                run.close()
            except ValueError:  # "generator already executing": a stage of this run asked
                self.stop()
        return self._left_running

    def frames(self, max_frames: int | None = None):
        """Like iterating the pipeline, stopping after ``max_frames``."""
        if max_frames is not None and not _is_count(max_frames):
            raise FervisionError(
                f"max_frames must be a whole number, 1 or more (None: every frame), "
                f"not {max_frames!r}"
            )
        return self._frames(max_frames)

    def _frames(self, max_frames):
        run = self._iterate(max_frames)
        self._runs.add(run)
        _WITH_RUNS.add(self)
        return run

    def _iterate(self, max_frames):
        if not self._running.acquire(blocking=False):
            raise FervisionError(
                "this pipeline is already running; build another Pipeline to run two at once"
            )
        self._stop_requested.clear()
        self._runner = threading.get_ident()
        self._left_running = False
        try:
            yield from self._run_frames(max_frames)
        finally:
            self._runner = None
            self._running.release()

    def _run_frames(self, max_frames):
        max_frames = _frame_limit(max_frames, self.sinks)
        summary = self.summary = Summary()
        try:
            info = self.info = self._open_source()
            summary.stills = info.stills
        except StopPipeline:  # stop() while the source was opening: a run of no frames
            self._close_stages()
            return
        except BaseException:  # stages may hold models already: release them
            self._close_stages()
            raise
        if self._stop_requested.is_set():  # stop() as the open ended
            _call(self.source, "close")
            self._close_stages()
            return
        reader = writer = None
        opened = []
        self._counted.clear()
        start = time.perf_counter()  # reset once every stage is open
        try:
            self._open_stages(info)
            for sink in self.sinks:
                _check_not_input(sink, info)
            for sink in self.sinks:
                _open_sink(sink, info, self.labels)
                opened.append(sink)
                _call(sink, "bind", self)  # a sink that steers the run (a window's Stop)
            background = [s for s in self.sinks if not getattr(s, "main_thread", False)]
            foreground = [s for s in self.sinks if getattr(s, "main_thread", False)]
            if background:
                writer = WriteBehind(lambda f: self._write(background, f))
            halt = self._stop_requested
            # while no frame comes (a stream down), a window still answers its controls
            idle = (lambda: [_call(s, "idle") for s in foreground]) if foreground else None
            if info.live:  # drop stale frames first, then detect only the newest
                reader = ReadAhead(self._source_frames, newest_only=True, halt=halt, idle=idle)
                frames = self.detected(reader, live=True)
            else:  # decode and detect on the reader thread, ahead of the rest
                produce = lambda: self.detected(self._source_frames())  # noqa: E731
                reader = frames = ReadAhead(produce, halt=halt, idle=idle)
            # recorded: a tracker that can holds a few frames, so ids start at a face's first
            held = not info.live and hasattr(self.tracker, "track_stream")
            if held:
                frames = self.tracked(frames)
            _notify("pipeline_started", pipeline=self, info=info)
            start = time.perf_counter()
            for frame in frames:
                if halt.is_set():
                    break
                self.analyze(frame, tracked=held)
                _notify("frame_processed", frame=frame)
                with interrupts_deferred():  # a frame handed to the sinks is a frame counted
                    if writer is not None:
                        writer.put(frame)
                    self.counted(frame)  # before a window's Exit can end the run at this frame
                if foreground:
                    self._write(foreground, frame)
                yield frame
                if halt.is_set() or (max_frames is not None and summary.frames >= max_frames):
                    break
        except StopPipeline:  # a window's Exit: a reader waiting for frames need not finish
            self._stop_requested.set()
        except KeyboardInterrupt:
            summary.interrupted = True
            self._stop_requested.set()
            raise
        except FervisionError as exc:  # the outputs still close: they can say why they end
            summary.error = one_line(exc)
            raise
        finally:
            summary.seconds = time.perf_counter() - start
            # Ctrl-C pressed again must not cut this short (a reader left running, a video
            # without its end): it is delivered once everything is closed.
            with interrupts_deferred():
                self._finish(reader, writer, opened, summary)

    def _open_stages(self, info: SourceInfo) -> None:
        """Open every stage for this run; a stage's own error in one line naming it."""
        for kind, stage in self._staged():
            try:
                _call(stage, "open", info)
            except (FervisionError, StopPipeline):
                raise
            except Exception as exc:
                title = self._titles[kind]
                raise StageFailed(f"{title} could not be opened: {one_line(exc)}") from exc

    def _close_stages(self) -> None:
        """Close every stage even if one raises; then name the first that did (unless an
        error is already on its way)."""
        error = None
        for kind, stage in self._staged():
            try:
                _call(stage, "close")
            except Exception as exc:
                error = error or StageFailed(
                    f"{self._titles[kind]} could not be closed: {one_line(exc)}"
                )
        if error is not None and sys.exc_info()[1] is None:
            raise error

    def _open_source(self) -> SourceInfo:
        """Open the source; its own error (not a FervisionError) in one line naming it."""
        name = type(self.source).__name__
        self._opening = True
        try:
            if self._stop_requested.is_set():
                raise StopPipeline
            info = self.source.open()
        except (FervisionError, StopPipeline):
            raise
        except Exception as exc:
            raise StageFailed(f"source {name} could not be opened: {one_line(exc)}") from exc
        finally:
            self._opening = False
        if not isinstance(info, SourceInfo):
            what = type(info).__name__
            raise StageFailed(f"source {name} open() gave {what}, not a fervision SourceInfo")
        if getattr(self.source, "live", False) is True and not info.live:  # its attribute says
            info = dataclasses.replace(info, live=True)
        return info

    def _source_frames(self):
        """The source's frames; its own error (not a FervisionError) in one line naming it."""
        count = 0
        try:
            for frame in self.source.frames():
                if not isinstance(frame, Frame):
                    raise StageFailed(
                        f"source {self.info.source_id!r} gave a {type(frame).__name__} at frame "
                        f"{count}, not a fervision Frame"
                    )
                yield frame
                count += 1
        except (FervisionError, StopPipeline):
            raise
        except Exception as exc:
            raise StageFailed(
                f"source {self.info.source_id!r} failed after {count} frames: {one_line(exc)}"
            ) from exc

    def _finish(self, reader, writer, opened: list, summary: Summary) -> None:
        """Stop the reader, close the source, drain the writer, close sinks and stages."""
        stopped = self._stop_requested.is_set()
        if self._suspended or stopped:  # its reader may wait for frames: closing may wake it
            _call(self.source, "close")
            self._suspended = False
        if reader is not None:
            summary.dropped = reader.dropped
            reader.close(wait=0.5 if stopped else 5.0)  # a reader stuck in user code stays
            self._left_running = reader.alive
        summary.reconnects = getattr(self.source, "reconnects", 0)
        summary.missed = getattr(self.source, "frames_missed", 0)
        summary.skipped = len(getattr(self.source, "skipped", ()))
        summary.ended_early = getattr(self.source, "ended_early", None)
        _call(self.source, "close")
        try:
            if writer is not None:
                writer.close()
        finally:
            if writer is not None and writer.failed:
                self._uncount_after(writer.failed_item.index)
            self._close_sinks(opened)
            if reader is None or not reader.alive:  # a reader still detecting keeps its models
                self._close_stages()
            _notify("pipeline_finished", summary=summary)

    def _write(self, sinks: list, frame: Frame) -> None:
        """Give ``frame`` to each sink; one that raises is dropped and reported once.

        Every other sink still gets the frame; then, unless ``keep_going``, the run stops.
        """
        failed = None
        for sink in list(sinks):
            try:
                sink.write(frame)
            except StopPipeline:
                raise
            except Exception as exc:
                sinks.remove(sink)
                failed = self._sink_failed(sink, frame.index, exc)
        if failed is not None and not self.keep_going:
            raise SinkFailed(failed)

    def _sink_failed(self, sink, index: int, exc: Exception) -> str:
        """Record a sink that raised; the line says which sink, when and why."""
        cause = one_line(exc)
        if not isinstance(exc, FervisionError):  # its own message may not name the output
            cause = f"{sink_name(sink)} failed at frame {index}: {cause}"
        if self.keep_going:
            self.summary.failed_sinks.append(cause)
            log.warning("warning: %s; the other outputs go on", cause)
        return f"{cause}; the other outputs stopped at frame {index}, closed and valid"

    @staticmethod
    def _close_sinks(sinks: list) -> None:
        """Close every sink even if one raises; then raise the first error (if none is already
        on its way: a sink that failed while writing is the one to report)."""
        error = None
        for sink in sinks:
            try:
                _call(sink, "close")
            except Exception as exc:
                message = f"cannot close {sink_name(sink)}: {one_line(exc)}"
                error = error or SinkNotClosed(message, sink)
        if error is not None and sys.exc_info()[1] is None:
            raise error

    def suspend_source(self) -> bool:
        """Release the source's camera or file until :meth:`resume_source`; False if it can't.

        Frames then wait: the source's reader blocks instead of ending the run.
        """
        suspend = getattr(self.source, "suspend", None)
        if suspend is None:
            return False
        suspend()
        self._suspended = True
        return True

    def resume_source(self) -> None:
        """Open the suspended source again; frames continue where they stopped."""
        _call(self.source, "resume")
        self._suspended = False

    def counted(self, frame: Frame) -> None:
        """Add ``frame`` to the run's summary."""
        s = self.summary
        labels = [f.label for f in frame.faces if f.label]
        s.frames += 1
        s.faces += len(frame.faces)
        s.frames_with_faces += bool(frame.faces)
        s.label_counts.update(labels)
        ids = [f.track_id for f in frame.faces if f.track_id is not None]
        s.track_frames.update(ids)
        self._counted.append((frame.index, len(frame.faces), labels, ids))
        if frame.captured_at and self.info.live:
            s.latencies.append(time.perf_counter() - frame.captured_at)
            if len(s.latencies) > 10_000:  # keep memory flat on endless streams
                del s.latencies[:5_000]

    def _uncount_after(self, index: int) -> None:
        """Take frames after ``index`` out of the summary: a background sink stopped the run
        at ``index`` while they were processed, so no output got them."""
        s = self.summary
        while self._counted and self._counted[-1][0] > index:
            _, faces, labels, ids = self._counted.pop()
            s.frames -= 1
            s.faces -= faces
            s.frames_with_faces -= bool(faces)
            s.label_counts.subtract(labels)
            s.track_frames.subtract(ids)
        s.label_counts += Counter()  # drop labels and ids counted down to zero
        s.track_frames += Counter()

    def run(self, max_frames: int | None = None) -> Summary:
        """Process the whole source (or ``max_frames``) and return the summary."""
        with closing(self.frames(max_frames)) as frames:
            for _ in frames:
                pass
        return self.summary


#: Pipelines that started a run: one still open when Python exits is closed first.
_WITH_RUNS: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_runs_left_open() -> None:
    """A run left unfinished at exit (``frames()`` never exhausted nor closed) closes its
    outputs and threads while the interpreter is still whole, not in its teardown."""
    for pipeline in list(_WITH_RUNS):
        if pipeline._runs:
            pipeline.close(timeout=10)


def _notify(hook: str, **kwargs) -> None:
    """Call every plugin's observer ``hook``; one that raises stops the run in one line
    naming the plugin (unless an error is already on its way)."""
    in_flight = sys.exc_info()[1] is not None  # e.g. the run's own error, while finishing
    for impl in getattr(get_plugin_manager().hook, hook).get_hookimpls():
        try:
            call_hook(impl, **kwargs)
        except Exception as exc:
            frame = kwargs.get("frame")
            at = f" at frame {frame.index}" if frame is not None else ""
            message = f"plugin {impl.plugin_name!r} {hook} failed{at}: {one_line(exc)}"
            if in_flight:
                log.warning("warning: %s", message)
                continue
            raise StageFailed(message) from exc


def _title(kind: str, given, stage) -> str:
    """How messages name a stage: ``plugin 'basic' tracker 'iou'``, or ``tracker MyTracker``."""
    if isinstance(given, str):
        return get_registry().get(kind, given.partition(":")[0]).title
    return f"{kind} {type(stage).__name__}"


def _is_count(value) -> bool:
    """Whether ``value`` is a whole number of 1 or more (``True`` is not one)."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1
