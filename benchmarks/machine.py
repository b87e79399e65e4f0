"""What machine a benchmark ran on: speed figures mean little without it."""

from __future__ import annotations

import os
import platform


def processor() -> str:
    """The CPU's model name and core count."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            name = next(ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} CPUs"
