"""Shared fixtures: the real media, models and dataset in ``../shared`` (skipped when absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FERVISION_SHARED", REPO.parent / "shared"))


def _shared(relative: str) -> Path:
    """A path in the shared data; skipped when absent, a failure under
    ``FERVISION_REQUIRE_SHARED=1`` (CI sets it: nothing there may be skipped silently)."""
    path = SHARED / relative
    if not path.exists():
        reason = f"{path} is absent (set FERVISION_SHARED to the shared data folder)"
        if os.environ.get("FERVISION_REQUIRE_SHARED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def clip() -> Path:
    """The real 640x360, 275-frame clip with faces."""
    return _shared("media/short_hamilton_clip.mp4")


@pytest.fixture
def photo() -> Path:
    """A real photo with two frontal faces."""
    return _shared("media/two_people.jpg")


@pytest.fixture
def mediapipe_model() -> Path:
    """The MediaPipe short-range face detector model."""
    return _shared("models/face_detection_short_range.tflite")


@pytest.fixture
def fer_cache() -> Path:
    """FER2013 as a KaggleHub cache (for ``KAGGLEHUB_CACHE``)."""
    return _shared("kagglehub")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep each test session's caches out of the user's home."""
    cache = tmp_path_factory.getbasetemp() / "fervision-cache"
    monkeypatch.setenv("FERVISION_CACHE", str(cache))


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory nobody can write into, root included (immutable when run as root)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
            pytest.skip("cannot make a directory read-only for root here (chattr +i failed)")
        yield locked
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True)
    else:
        locked.chmod(0o500)
        yield locked
        locked.chmod(0o700)


@pytest.fixture
def xvfb():
    """A private X server (Xvfb, on a free display it picks itself): yields ``":N"``."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as ready:  # Xvfb writes its display number once it accepts clients
            number = ready.readline().strip()
        if not number.isdigit():
            pytest.fail(f"Xvfb did not start (exit code {server.poll()})")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)
