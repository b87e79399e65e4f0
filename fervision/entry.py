"""The ``fervision`` command's entry point: Ctrl-C while the command line still loads is
one line and exit 130, as it is later."""

from __future__ import annotations

import _thread
import sys


def main(argv=None) -> None:
    sys.unraisablehook = _redeliver_dropped_interrupts
    try:
        from .cli import main as run

        run(argv)  # handles Ctrl-C itself from its first lines on
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def _redeliver_dropped_interrupts(unraisable) -> None:
    """Deliver again a Ctrl-C that Python dropped, instead of printing it.

    Python prints and drops an exception raised where none can propagate: a weakref
    callback (every import runs one), a ``__del__``. A Ctrl-C (or SIGTERM) whose handler ran
    there would be lost and the command would run on; delivered again, its handler runs at
    the main thread's next step, where it propagates.
    """
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        _thread.interrupt_main()
    else:
        sys.__unraisablehook__(unraisable)
