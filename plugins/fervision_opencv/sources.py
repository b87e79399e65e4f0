"""The ``auto`` source: choose the right source for a path, URL or camera index."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fervision.errors import FervisionError
from fervision.imaging import IMAGE_SUFFIXES
from fervision.plugins import get_registry

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def source_kind(target: str) -> str:
    """``stream``, ``webcam``, ``folder``, ``image`` or ``video`` for ``target``."""
    if _URL.match(target) and not target.lower().startswith("file://"):
        return "stream"
    if target.strip().isdigit():
        return "webcam"
    path = Path(os.path.expanduser(_strip_file_scheme(target)))
    if path.is_dir() or target.endswith(("/", os.sep)):  # "photos/": meant as a folder
        return "folder"
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    return "video"


def _strip_file_scheme(target: str) -> str:
    return target[len("file://") :] if target.lower().startswith("file://") else target


def open_auto(target=None, **options):
    """Build the source for ``target``.

    ``rtsp://``, ``http(s)://`` and other URLs -> stream; a folder -> folder; an image
    suffix -> image; a bare number -> that webcam; anything else -> video file.

    Args:
        target: a path, URL or camera index.
        options: go to the source chosen (``fps`` is accepted by every one of them).
    """
    if target is None or str(target).strip() == "":
        raise FervisionError("no source given")
    target = str(target)
    kind = source_kind(target)
    options = get_registry().get("source", kind).convert(options)  # one-line error if wrong
    if kind == "stream":
        from .capture import StreamSource

        return StreamSource(target, **options)
    if kind == "webcam":
        from .capture import WebcamSource

        return WebcamSource(int(target), **options)
    path = _strip_file_scheme(target)
    if kind == "folder":
        from .images import FolderSource

        return FolderSource(path, **options)
    if kind == "image":
        from .images import ImageSource

        return ImageSource(path, **options)
    from .capture import VideoSource

    return VideoSource(path, **options)
