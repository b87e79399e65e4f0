"""Push one image at a time and get its faces back: for apps that own their camera loop."""

from __future__ import annotations

import threading
import time

from .errors import FervisionError, SinkFailed
from .memory import _image
from .options import OptionError, require_between
from .pipeline import Pipeline, Summary, _call, _notify, _open_sink
from .registry import DEFAULT_STAGES
from .types import Face, Frame, SourceInfo


class _Pushed:
    """The stand-in source of an Analyzer: its frames come one by one from ``process``."""

    live = True
    source_id = "pushed"

    def open(self) -> SourceInfo:
        raise FervisionError("an Analyzer's frames are pushed with process(image)")

    def frames(self):
        return iter(())


class Analyzer:
    """The pipeline's stages on images you push: ``faces = analyzer.process(image)``.

    The same stages, names and ``options`` as :class:`Pipeline` (without a source), run
    synchronously on the calling thread; the tracker and smoother keep their state from
    one call to the next, so a face keeps its ``track_id``. Sinks are optional and
    written on the calling thread too; :meth:`close` closes them and the stages (a later
    :meth:`process` starts afresh, new tracks). ``summary`` counts what was processed.

    Args:
        fps: the frame rate sinks are told (a video file's rate); frames may come at any.

    Example:
        >>> with Analyzer() as analyzer:
        ...     faces = analyzer.process(image)  # BGR uint8, H x W x 3
    """

    def __init__(
        self,
        detector=DEFAULT_STAGES["detector"],
        tracker=DEFAULT_STAGES["tracker"],
        classifier=DEFAULT_STAGES["classifier"],
        smoother=DEFAULT_STAGES["smoother"],
        annotator=None,
        sinks=None,
        detect_every: int = 1,
        keep_going: bool = False,
        options: dict[str, dict] | None = None,
        fps: float = 30.0,
    ):
        if options is not None and not isinstance(options, dict):
            raise OptionError(f"options must be a dict by kind, not {options!r}")
        if options and "source" in options:
            raise OptionError("an Analyzer has no source: its images are pushed with process()")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)):
            raise OptionError(f"Analyzer fps must be a number, not {fps!r}")
        self.fps = float(fps)
        require_between("Analyzer", 1e-3, 1000, fps=self.fps)
        self._pipeline = Pipeline(
            _Pushed(),
            detector=detector,
            tracker=tracker,
            classifier=classifier,
            smoother=smoother,
            annotator=annotator,
            sinks=sinks,
            detect_every=detect_every,
            keep_going=keep_going,
            options=options,
        )
        self._lock = threading.RLock()  # one image at a time; close() waits for it
        self._sinks: list = []  # the open ones
        self._previous: list[Face] = []  # the last detection, carried between detections
        self._index = 0
        self._started = 0.0
        self.info: SourceInfo | None = None  # set by the first image: its size
        self.frame: Frame | None = None  # the latest processed frame (``annotated`` too)

    @property
    def summary(self) -> Summary:
        """Frames, faces and emotions since the first image (latency: time in process)."""
        return self._pipeline.summary

    @property
    def labels(self) -> tuple[str, ...]:
        """The classifier's class names, in the order of each face's ``probs``."""
        return self._pipeline.labels

    def stages(self) -> list:
        """The stages, in the order an image meets them."""
        return self._pipeline.stages()

    def process(self, image, timestamp: float | None = None) -> list[Face]:
        """The faces in ``image`` (BGR uint8; gray and BGRA are converted), tracked,
        classified and smoothed; ``timestamp`` in seconds (default: since the first image)."""
        with self._lock:
            pipeline = self._pipeline
            image = _image(image, self._index)
            now = time.perf_counter()
            if self.info is None:
                self._open(image, now)
            if image.shape[:2] != (self.info.height, self.info.width):
                h, w = image.shape[:2]
                raise FervisionError(
                    f"image {self._index} is {w}x{h}, not {self.info.width}x{self.info.height} "
                    "as the first: close() the analyzer to start again at another size"
                )
            when = now - self._started if timestamp is None else float(timestamp)
            frame = Frame(image, self._index, when, self.info.source_id, captured_at=now)
            if pipeline.detector is not None:
                if self._index % pipeline.detect_every == 0:
                    frame.faces = pipeline._detect(frame)
                else:
                    frame.faces = [Face(f.box, f.score) for f in self._previous]
            self._previous = frame.faces
            self._index += 1
            pipeline.analyze(frame)
            _notify("frame_processed", frame=frame)
            pipeline.counted(frame)
            self.frame = frame
            if self._sinks:
                try:
                    pipeline._write(self._sinks, frame)
                except SinkFailed:  # the others stop too, closed and valid
                    self._close_sinks()
                    raise
            return frame.faces

    def _open(self, image, now: float) -> None:
        """Open the stages and sinks for images of this size."""
        pipeline = self._pipeline
        h, w = image.shape[:2]
        info = SourceInfo("pushed", w, h, self.fps, None, live=True, video=True)
        pipeline.info, pipeline.summary = info, Summary()
        pipeline._open_stages(info)
        self.info, self._started, self._index, self._previous = info, now, 0, []
        try:
            for sink in pipeline.sinks:
                _open_sink(sink, info, pipeline.labels)
                self._sinks.append(sink)
                _call(sink, "bind", pipeline)
            _notify("pipeline_started", pipeline=pipeline, info=info)
        except BaseException:
            self.close()
            raise

    def _close_sinks(self) -> None:
        sinks, self._sinks = self._sinks, []
        Pipeline._close_sinks(sinks)

    def close(self) -> None:
        """Close the sinks and stages; a later :meth:`process` starts afresh."""
        with self._lock:
            if self.info is None:
                return
            pipeline = self._pipeline
            pipeline.summary.seconds = time.perf_counter() - self._started
            self.info = None
            try:
                self._close_sinks()
            finally:
                pipeline._close_stages()
                _notify("pipeline_finished", summary=pipeline.summary)

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
