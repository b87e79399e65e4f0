"""Each video's coders' files in a batch (NAME.eaf, NAME.boris, NAME.states.csv beside NAME's
CSV), written from its finished CSV by the sinks registered under those names.

What fervision wrote of each is remembered by digest (``.NAME.coders.json``), so a video
processed again rewrites only the files no one changed since: a coder's corrections stay."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fervision.outputs import write_atomic

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


def written_record(out: Path, name: str) -> Path:
    """Where the digests of the coders' files fervision wrote for video ``name`` are kept."""
    return out / f".{name}.coders.json"


def write_coder_files(
    paths: dict[str, Path], csv_path: Path, video, events: str = "", record: Path | None = None
) -> list[Path]:
    """Write each coder's file at ``paths`` from the finished CSV, linking ``video``. With a
    ``record``, a file that exists and is not what fervision last wrote there (a coder's
    corrections, or a file of unknown origin) is kept as it is; the kept ones are returned."""
    from fervision.plugins import get_registry

    given = {"csv": str(csv_path), "from_csv": True, "media": str(video), "events": events or ""}
    written = _read_record(record) if record is not None else {}
    kept = []
    for kind, path in paths.items():
        if record is not None and path.exists() and _digest(path) != written.get(path.name):
            kept.append(path)
            continue
        get_registry().build("sink", kind, path=str(path), **given).close()
        written[path.name] = _digest(path)
    if record is not None and paths:
        write_atomic(record, json.dumps(written, indent=1, sort_keys=True).encode("utf-8"))
    return kept


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_record(record: Path) -> dict[str, str]:
    try:
        written = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return written if isinstance(written, dict) else {}
