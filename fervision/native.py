"""Keeping native libraries' start-up logging (TensorFlow, MediaPipe, LiteRT) off the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_lock = threading.Lock()
_depth = 0  # callers inside the quiet window now (any thread); the first opens it
_saved: dict = {}


@contextlib.contextmanager
def quiet_native_output():
    """Send file descriptors 1 and 2 to /dev/null while native code starts up.

    C++ logs written before logging is configured ignore Python's settings; this hides
    them. Python's own output (``sys.stdout``/``sys.stderr``, any thread's warnings) still
    reaches the terminal meanwhile. ``FERVISION_DEBUG=1`` leaves everything visible.
    """
    if os.environ.get("FERVISION_DEBUG"):
        yield
        return
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    global _depth
    with _lock:
        _depth += 1
        if _depth > 1:
            return
        streams = (sys.stdout, sys.stderr)
        for stream in streams:
            _flush(stream)
        fds = [os.dup(1), os.dup(2)]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
        _saved.update(streams=streams, fds=fds)
        sys.stdout, sys.stderr = (_writer(fd, s) for fd, s in zip(fds, streams))


def _leave() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth:
            return
        for stream in (sys.stdout, sys.stderr):
            _flush(stream)
        for target, fd in zip((1, 2), _saved["fds"]):
            os.dup2(fd, target)
        sys.stdout, sys.stderr = _saved["streams"]
        for fd in _saved["fds"]:
            os.close(fd)
        _saved.clear()


def _writer(fd: int, like):
    """A text stream on ``fd`` (the terminal's saved descriptor) encoded as ``like`` is."""
    if like is None:
        return None
    encoding = getattr(like, "encoding", None) or "utf-8"
    errors = getattr(like, "errors", None) or "backslashreplace"
    return open(fd, "w", buffering=1, encoding=encoding, errors=errors, closefd=False)


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):
        pass
