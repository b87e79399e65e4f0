"""The stage contract: one Protocol per kind, and the check a built stage must pass.

Each kind has one verb the pipeline calls (a detector detects, a sink writes...). Any
stage may also have ``open(info)`` (called with the source's ``SourceInfo`` before the
first frame) and ``close()`` (called after the last, even on errors); a source's
``open()`` takes no argument and returns the ``SourceInfo``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from .errors import PluginError
from .types import Face, Frame, SourceInfo


class Source(Protocol):
    """Frames from a file, camera or stream. Optional: ``close()``, attribute ``live`` (True:
    stale frames are dropped, as with ``SourceInfo(live=True)``),
    ``suspend()`` / ``resume()`` (release the device; ``frames()`` waits meanwhile),
    ``abort()`` (from another thread: an ``open()`` in progress raises StopPipeline soon)."""

    def open(self) -> SourceInfo: ...

    def frames(self) -> Iterator[Frame]: ...


class Detector(Protocol):
    """Finds faces: boxes and scores, optionally ``eyes``. Optional: ``detect_stream(frames)``
    yields recorded frames in order with ``faces`` set, possibly a few frames late."""

    def detect(self, frame: Frame) -> list[Face]: ...


class Tracker(Protocol):
    """Sets ``face.track_id`` (None while unconfirmed) and may drop faces it judges false.
    Optional: attribute ``ended``, the ids that ended at this frame."""

    def update(self, frame: Frame) -> None: ...


class Classifier(Protocol):
    """Sets ``face.probs``, one probability per label."""

    labels: Sequence[str]

    def classify(self, frame: Frame) -> None: ...


class Smoother(Protocol):
    """Sets ``face.smoothed``, ``label`` and ``confidence``. Optional: ``forget(track_ids)``."""

    def update(self, frame: Frame) -> None: ...


class Annotator(Protocol):
    """Draws what was found on a new BGR image (the frame's own stays as it is)."""

    def annotate(self, frame: Frame) -> np.ndarray: ...


class Sink(Protocol):
    """Writes each frame; its ``open(info, labels)`` gets the classifier's labels too.
    Optional: ``main_thread = True`` (write on the main thread), ``bind(pipeline)``."""

    def write(self, frame: Frame) -> None: ...


PROTOCOLS: dict[str, type] = {
    "source": Source,
    "detector": Detector,
    "tracker": Tracker,
    "classifier": Classifier,
    "smoother": Smoother,
    "annotator": Annotator,
    "sink": Sink,
}


def required(kind: str) -> list[str]:
    """The methods, then the attributes, a stage of ``kind`` must have."""
    protocol = PROTOCOLS[kind]
    methods = [name for name, value in vars(protocol).items() if _public(name) and callable(value)]
    return methods + [name for name in protocol.__annotations__ if _public(name)]


def check_stage(kind: str, stage: object, what: str) -> None:
    """Raise one line naming ``what`` (the plugin and stage) and the first member it lacks."""
    protocol = PROTOCOLS[kind]
    for name in required(kind):
        value = getattr(stage, name, None)
        is_method = callable(vars(protocol).get(name))
        if value is None or (is_method and not callable(value)):
            member = "method" if is_method else "attribute"
            raise PluginError(
                f"{what} has no {member} {name!r}: a {kind} must have {', '.join(required(kind))}"
            )


def _public(name: str) -> bool:
    return not name.startswith("_")
