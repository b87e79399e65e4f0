"""Checks on output paths, made before any frame is processed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import FervisionError


def check_writable(path, what: str = "output") -> Path:
    """Return ``path`` as a Path if a file can be written there, else raise a one-line error."""
    if path is None or str(path) == "":
        raise FervisionError(f"{what} path not given")
    p = Path(os.path.expanduser(str(path)))
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise FervisionError(f"cannot write {what} {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise FervisionError(f"cannot write {what} {p}: {parent} is not a folder")
    if p.is_dir():
        raise FervisionError(f"cannot write {what} {p}: it is a folder")
    try:  # a real probe: permission bits say nothing for root or read-only mounts
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".fervision-probe-"):
            pass
    except OSError as exc:
        raise FervisionError(
            f"cannot write {what} {p}: folder {parent} is not writable ({exc.strerror})"
        ) from None
    if p.exists() and not os.access(p, os.W_OK):
        raise FervisionError(f"cannot write {what} {p}: the file is not writable")
    return p
