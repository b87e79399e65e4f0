"""Keeping native libraries' start-up logging (TensorFlow, MediaPipe, LiteRT) off the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_lock = threading.Lock()
_depth = 0  # callers inside the quiet window now (any thread); the first opens it
_saved: dict = {}
_quiet_threads: dict[int, int] = {}  # thread id -> its callers inside the window


@contextlib.contextmanager
def quiet_native_output():
    """Send file descriptors 1 and 2 to /dev/null while native code starts up.

    C++ logs written before logging is configured ignore Python's settings; this hides
    them, and the Python output of the threads inside the window (a converter's prints).
    Other threads' Python output (a warning, a progress bar) still reaches the terminal.
    ``FERVISION_DEBUG=1`` leaves everything visible.
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
        me = threading.get_ident()
        _quiet_threads[me] = _quiet_threads.get(me, 0) + 1
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
        writers = [_writer(fd, s) for fd, s in zip(fds, streams)]
        _saved.update(streams=streams, fds=fds, writers=writers)
        sys.stdout, sys.stderr = (
            s if s is None else _OtherThreadsOnly(i, s) for i, s in enumerate(streams)
        )


def _leave() -> None:
    global _depth
    with _lock:
        me = threading.get_ident()
        _quiet_threads[me] -= 1
        if not _quiet_threads[me]:
            del _quiet_threads[me]
        _depth -= 1
        if _depth:
            return
        for stream in _saved["writers"]:
            _flush(stream)
        for target, fd in zip((1, 2), _saved["fds"]):
            os.dup2(fd, target)
        sys.stdout, sys.stderr = _saved["streams"]
        fds = _saved["fds"]
        _saved.clear()  # from here a kept proxy writes to the stream it replaced
        for fd in fds:
            os.close(fd)


def _writer(fd: int, like):
    """A text stream on ``fd`` (the terminal's saved descriptor), encoded as ``like`` is."""
    encoding = getattr(like, "encoding", None) or "utf-8"
    errors = getattr(like, "errors", None) or "backslashreplace"
    return open(fd, "w", buffering=1, encoding=encoding, errors=errors, closefd=False)


class _OtherThreadsOnly:
    """``sys.stdout``/``sys.stderr`` while the window is open: the writes of threads
    outside it go to the terminal, the quiet threads' are dropped. One kept after the
    window (a logging handler made inside it) writes to the stream it replaced."""

    def __init__(self, index: int, replaced):
        self._index, self._replaced = index, replaced

    def _target(self):
        writers = _saved.get("writers")
        return writers[self._index] if writers else self._replaced

    def write(self, text: str) -> int:
        if _saved and threading.get_ident() in _quiet_threads:
            return len(text)
        return self._target().write(text)

    def __getattr__(self, name: str):  # flush, fileno, isatty, encoding...
        return getattr(self._target(), name)


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):
        pass
