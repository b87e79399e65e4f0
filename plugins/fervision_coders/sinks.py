"""The ``eaf``, ``boris`` and ``states`` sinks: a coder's file of the run, written at its end.

Each keeps every frame's time and each face's participant and smoothed label. When the run
also writes the per-frame CSV (``csv``), the finished CSV is read instead, so the coder's
file holds the CSV's participants (named after the run, for ``auto:N``) and labels exactly.
"""

from __future__ import annotations

import os

from fervision.errors import FervisionError
from fervision.options import OptionError
from fervision.outputs import check_not_input, check_writable
from fervision.types import Frame, SourceInfo

from .boris import write_boris
from .coding import CodingBuilder, face_participant, read_events, read_run_csv, within
from .eaf import write_eaf
from .states import write_states


class _CoderSink:
    """Gathers the run's labels; writes its file when the run ends (interrupted or not).

    Args:
        path: the file to write.
        media: the video to link (default: the run's video file).
        csv: the run's per-frame CSV, read at the end and linked (ELAN's time series).
        events: a CSV of events (onset, offset, label[, participant]; seconds) to add.
        from_csv: write from the finished ``csv`` alone: ``close()`` needs no frames (how
            ``fervision report`` writes it).
    """

    what = "coder's file"

    def __init__(
        self, path=None, *, media: str = "", csv: str = "", events: str = "", from_csv: bool = False
    ):
        if from_csv and not csv:
            raise FervisionError(f"{self.what}: from_csv needs the CSV (csv=PATH)")
        self.path = check_writable(path, self.what)
        self.from_csv = from_csv
        self.media = media or None
        self.csv = csv or None
        self.events = read_events(events) if events else []
        self._builder: CodingBuilder | None = None
        self._info: SourceInfo | None = None

    def open(self, info: SourceInfo, labels=()) -> None:
        check_not_input(self.path, info.source_id, self.what)
        if info.stills:
            raise FervisionError(f"{self.what} {self.path}: codes a video; this source is photos")
        self._builder = CodingBuilder(tuple(labels))
        self._info = info

    def _media(self, info: SourceInfo) -> str | None:
        """The video to link: the one given, else the run's video file."""
        if self.media or info.media_path:
            return self.media or info.media_path
        return info.source_id if info.video and os.path.isfile(info.source_id) else None

    def write(self, frame: Frame) -> None:
        builder = self._builder
        if not builder.label_names and frame.labels:
            builder.label_names = tuple(frame.labels)
        position = builder.add_frame(frame.timestamp)
        for face in frame.faces:
            builder.add_face(position, face_participant(face), face.label or "")

    def close(self) -> None:
        """Write the file (only the first call after open); a run with no frame writes none."""
        builder, info, self._builder = self._builder, self._info, None
        if self.from_csv:
            coding = read_run_csv(self.csv)
            coding.media = self.media
        elif builder is None or not builder.times:
            return
        else:
            media = self._media(info)
            linked = self.csv if self.csv and os.path.isfile(self.csv) else None
            coding = builder.coding(media=media, fps=info.fps or None, csv=linked)
            if linked:
                finished = read_run_csv(self.csv)
                if len(finished.times) == len(builder.times):  # the whole run: its participants
                    finished.media, finished.fps = coding.media, coding.fps
                    coding = finished
        self.write_file(coding, within(self.events, coding.end))

    def write_file(self, coding, events) -> None:
        raise NotImplementedError


class EafSink(_CoderSink):
    """An ELAN file (eaf:OUT.eaf): a tier per participant, the video and CSV linked."""

    what = "ELAN file"

    def write_file(self, coding, events) -> None:
        write_eaf(coding, self.path, events)


class BorisSink(_CoderSink):
    """A BORIS project (boris:OUT.boris): labels as state events of each participant."""

    what = "BORIS project"

    def __init__(self, path=None, **options):
        super().__init__(path, **options)
        if self.from_csv and not self.media:  # before any work: BORIS codes on the video
            raise OptionError("a BORIS project needs the video the CSV is of: give --media VIDEO")

    def open(self, info: SourceInfo, labels=()) -> None:
        super().open(info, labels)
        if not self._media(info):
            raise FervisionError(
                f"{self.what} {self.path}: BORIS codes on a video file; this source is none "
                "(record it, then run on the file)"
            )

    def write_file(self, coding, events) -> None:
        write_boris(coding, self.path, events)


class StatesSink(_CoderSink):
    """A state log (states:OUT.csv): participant, label, onset, offset, duration."""

    what = "state log"

    def write_file(self, coding, events) -> None:
        write_states(coding, self.path, events)
