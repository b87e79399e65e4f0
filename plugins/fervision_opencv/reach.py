"""Why a stream did not open: refused, unknown host, silent, or not a video stream."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

#: Schemes over TCP and their usual port, where a connection attempt can tell what failed.
TCP_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443}


def why_not_opened(url: str, open_timeout: float, waited: float) -> str:
    """Why FFmpeg could not open ``url`` after ``waited`` seconds, found by connecting to
    its host (only when it failed before its timeout, so this adds at most 2 s)."""
    timed_out = f"timed out after {open_timeout:g} s"
    if waited >= 0.9 * open_timeout:
        return f"unreachable, {timed_out}"
    parsed = urlparse(url)
    try:
        port = parsed.port or TCP_PORTS.get(parsed.scheme.lower())
    except ValueError:
        return f"its port is not a number: {parsed.netloc.rpartition('@')[2]!r}"
    host = parsed.hostname
    if not host or port is None:  # udp, srt...: nothing to ask
        return f"unreachable, {timed_out}, or not a video stream"
    try:
        with socket.create_connection((host, port), timeout=min(2.0, open_timeout)):
            pass
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on {host}:{port}"
    except socket.gaierror:
        return f"unknown host {host!r}"
    except TimeoutError:
        return f"unreachable: {host}:{port} did not answer"
    except OSError as exc:
        return f"unreachable: {exc.strerror or exc}"
    return f"{host}:{port} answered but sent no video stream FFmpeg can read"
