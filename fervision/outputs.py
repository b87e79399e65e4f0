"""Checks on output paths, made before any frame is processed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import FervisionError


def check_writable(path: str | os.PathLike) -> Path:
    """Return ``path`` if a file can be written there, else raise a one-line error."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise FervisionError(f"output path is a directory: {path}")
    if not parent.is_dir():
        raise FervisionError(f"output directory does not exist: {parent}")
    try:  # a real probe: permission bits alone say nothing for root or read-only mounts
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".fervision-probe-"):
            pass
    except OSError as exc:
        raise FervisionError(
            f"output directory is not writable: {parent} ({exc.strerror})"
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise FervisionError(f"output file is not writable: {path}")
    return path
