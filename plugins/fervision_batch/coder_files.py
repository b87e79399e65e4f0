"""Each video's coders' files in a batch (NAME.eaf, NAME.boris, NAME.states.csv beside NAME's
CSV), written from its finished CSV by the sinks registered under those names."""

from __future__ import annotations

from pathlib import Path

#: The sinks asked for (``batch --eaf --boris --states``) and the suffix of each one's file.
CODER_FILES = {"eaf": ".eaf", "boris": ".boris", "states": ".states.csv"}


def check_coders(coders) -> None:
    """Every asked sink is registered (a one-line usage error, before any work)."""
    from fervision.plugins import get_registry

    registry = get_registry()
    for name in coders:
        registry.get("sink", name)


def coder_paths(out: Path, name: str, coders) -> dict[str, Path]:
    """Where each asked coder's file of the video ``name`` goes."""
    return {kind: out / f"{name}{CODER_FILES[kind]}" for kind in coders}


def write_coder_files(paths: dict[str, Path], csv_path: Path, video, events: str = "") -> None:
    """Write each coder's file at ``paths`` from the finished CSV, linking ``video``."""
    from fervision.plugins import get_registry

    given = {"csv": str(csv_path), "from_csv": True, "media": str(video), "events": events or ""}
    for kind, path in paths.items():
        get_registry().build("sink", kind, path=str(path), **given).close()
