"""The ``fervision`` command's entry point: Ctrl-C while the command line still loads is
one line and exit 130, as it is later."""

from __future__ import annotations

import _thread
import sys
import time


def main(argv=None) -> None:
    sys.unraisablehook = _redeliver_dropped_interrupts
    try:
        import signal

        from .interrupts import raise_interrupt

        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where ignored
            signal.signal(signal.SIGINT, raise_interrupt)  # remembers it (interrupt_seen)
        from .cli import main as run
        from .interrupts import interrupt_seen

        if interrupt_seen():  # while the command line loaded, its KeyboardInterrupt dropped
            raise KeyboardInterrupt
        run(argv)  # handles Ctrl-C itself from its first lines on
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def _redeliver_dropped_interrupts(unraisable) -> None:
    """Deliver again a Ctrl-C that Python dropped, instead of printing it.

    Python prints and drops an exception raised where none can propagate: a weakref
    callback (every import runs one), a ``__del__``. A Ctrl-C (or SIGTERM) whose handler ran
    there would be lost and the command would run on. Delivered again once this hook has
    returned (in it, it would be dropped too), its handler runs at the main thread's next
    step, where it propagates.
    """
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        _thread.start_new_thread(_interrupt_after, (_thread.get_ident(), sys._getframe()))
    else:
        sys.__unraisablehook__(unraisable)


def _interrupt_after(main: int, frame) -> None:
    """Interrupt the main thread (``main``) once ``frame`` has left its stack."""
    while _on_stack(frame, sys._current_frames().get(main)):
        time.sleep(0.001)
    _thread.interrupt_main()


def _on_stack(frame, top) -> bool:
    while top is not None:
        if top is frame:
            return True
        top = top.f_back
    return False
