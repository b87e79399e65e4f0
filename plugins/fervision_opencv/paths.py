"""Checking input and output paths up front, so a bad path fails before any processing."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fervision.errors import FervisionError


def input_file(path, what: str) -> Path:
    """``path`` as a Path when it is a readable file; otherwise a one-line error."""
    if path is None or str(path) == "":
        raise FervisionError(f"{what} file not given")
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise FervisionError(f"{what} file not found: {p}")
    if p.is_dir():
        raise FervisionError(f"{what} file is a directory: {p}")
    if not os.access(p, os.R_OK):
        raise FervisionError(f"cannot read {what} file: {p} (permission denied)")
    return p


def natural_key(name: str):
    """Sort key that puts ``frame2`` before ``frame10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced, for error messages."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", url)
