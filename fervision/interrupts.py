"""Holding Ctrl-C (and SIGTERM) while work that must not be cut in half finishes."""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

_seen = False


def raise_interrupt(signum, frame):
    """The command line's handler of Ctrl-C and SIGTERM: ``KeyboardInterrupt``, remembered."""
    global _seen
    _seen = True
    raise KeyboardInterrupt


def forget_interrupts() -> None:
    """Start a command afresh: an interrupt of an earlier command in this process (the
    command line called from Python or a test) is not this one's."""
    global _seen
    _seen = False


def interrupt_seen() -> bool:
    """Whether Ctrl-C (or SIGTERM) came, even where native code turned its
    ``KeyboardInterrupt`` into another error (pybind11's ``ImportError('initialization
    failed')`` when it lands in an extension's import) or dropped it."""
    return _seen


@contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (and SIGTERM) until the block ends, then deliver it.

    So finishing work (a video's last frames and index, a batch's bookkeeping) is never
    cut in half by a second Ctrl-C. Outside the main thread signals cannot be held: the
    block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda n, f: caught.append(n)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():  # None: set outside Python (at exit)
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(caught):
            os.kill(os.getpid(), signum)
