"""The ``fervision`` command's entry point: Ctrl-C while the command line still loads is
one line and exit 130, as it is later."""

from __future__ import annotations

import sys


def main(argv=None) -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    run(argv)
