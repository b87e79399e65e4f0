"""The quiet window around native start-up hides C++ logs, never other threads' output."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, os, sys, threading
    from fervision.native import quiet_native_output

    log = logging.getLogger("fervision.test")
    with quiet_native_output():
        kept = logging.getLogger("library")  # a handler made inside keeps sys.stderr
        kept.addHandler(logging.StreamHandler())
        kept.propagate = False
        os.write(2, b"native chatter\\n")  # what a C++ library writes: hidden
        worker = threading.Thread(target=lambda: log.warning("warning from a thread"))
        worker.start(); worker.join()
        with quiet_native_output():  # nested, as lazy loaders do
            os.write(1, b"more chatter\\n")
            print("a converter's print: hidden")
            printer = threading.Thread(target=lambda: print("printed by a thread"))
            printer.start(); printer.join()
        log.warning("warning from the quiet thread: hidden")
    os.write(2, b"native after\\n")  # the terminal is back
    print("printed after")
    kept.warning("the kept handler still writes")
    """
)


def test_native_writes_are_hidden_and_other_threads_python_output_is_kept():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning from a thread",
        "native after",
        "the kept handler still writes",
    ]
    assert result.stdout.splitlines() == ["printed by a thread", "printed after"]
