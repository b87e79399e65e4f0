"""Keeping native libraries' start-up logging (TensorFlow, MediaPipe, LiteRT) off the terminal."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_native_output():
    """Send file descriptors 1 and 2 to /dev/null while native code starts up.

    C++ logs written before logging is configured ignore Python's settings; this hides
    them. ``FERVISION_DEBUG=1`` leaves them visible.
    """
    if os.environ.get("FERVISION_DEBUG"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
