"""The batch output folder: each video's files, written atomically, and the index CSV.

Every file is first written under a temporary name (``.NAME.partial``, hidden) and
renamed into place; a video's files are renamed only once all of them are written,
the summary JSON last, so a video counts as complete when its summary is there, reads
back, and matches the input's size and modification time.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from fervision import csvsafe
from fervision.errors import FervisionError
from fervision.outputs import write_atomic

CSV, TIMELINE, SUMMARY = ".emotions.csv", ".timeline.png", ".summary.json"
REPORT = ".report.html"
PHOTOS_CHART = ".photos.png"  # `report` on a photo run's CSV, in place of the timeline
#: Rename order: the summary last, it marks the video complete.
KINDS = (CSV, TIMELINE, REPORT, SUMMARY)
PARTIAL = ".partial"
INDEX_NAME = "index.csv"
INDEX_COLUMNS = [
    "input",
    "status",
    "frames",
    "faces",
    "seconds",
    "fps",
    "csv",
    "summary",
    "timeline",
    "report",
    "reason",
]


def output_paths(out_dir: Path, name: str) -> dict[str, Path]:
    return {kind: out_dir / f"{name}{kind}" for kind in KINDS}


def partial_path(path: Path) -> Path:
    """The temporary name ``path`` is written under before it is renamed into place."""
    return path.with_name(f".{path.name}{PARTIAL}")


def _write_partial(path: Path, data: bytes) -> Path:
    """Write ``data`` under ``path``'s temporary name; a failure (a full disk) is one line."""
    tmp = partial_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        _discard(tmp)
        raise FervisionError(f"cannot write {path}: {exc.strerror or exc}") from None
    return tmp


def _discard(tmp: Path) -> None:
    """Remove a temporary file if it is there (a read-only folder holds none)."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def write_video_outputs(paths: dict[str, Path], files: dict[str, bytes]) -> None:
    """Write one video's files under temporary names, then rename them all into place.

    Interrupted anywhere (Ctrl-C included), it removes its temporary files and any file
    of this video it had already renamed, so no final name holds a partial set.
    """
    written: list[Path] = []
    renamed: list[Path] = []
    try:
        for kind in KINDS:
            written.append(_write_partial(paths[kind], files[kind]))
        for kind in KINDS:
            os.replace(partial_path(paths[kind]), paths[kind])
            renamed.append(paths[kind])
    except BaseException:
        if len(renamed) < len(KINDS):
            for path in renamed:
                path.unlink(missing_ok=True)
        raise
    finally:
        for tmp in written:
            tmp.unlink(missing_ok=True)


def remove_partials(paths: dict[str, Path]) -> None:
    """Remove temporary files a killed earlier run may have left for one video."""
    for path in paths.values():
        partial_path(path).unlink(missing_ok=True)


def completed_summary(
    paths: dict[str, Path], size: int, mtime_ns: int, stages: dict[str, str]
) -> dict | None:
    """The summary of a video whose outputs are complete, up to date and made with
    ``stages`` (a rerun with other stages or options processes it again), else None."""
    if not all(p.is_file() for p in paths.values()):
        return None
    try:
        summary = json.loads(paths[SUMMARY].read_text(encoding="utf-8"))
        source = summary["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if source.get("size") != size or source.get("mtime_ns") != mtime_ns:
        return None
    if summary.get("processing", {}).get("stages") != stages:
        return None
    return summary


def failure_path(out_dir: Path, name: str) -> Path:
    """Where the reason a video failed is kept, so a rerun need not try it again."""
    return out_dir / f".{name}.failed.json"


def record_failure(path: Path, size: int, mtime_ns: int, reason: str) -> None:
    write_atomic(
        path, json.dumps({"size": size, "mtime_ns": mtime_ns, "reason": reason}).encode("utf-8")
    )


def recorded_failure(path: Path, size: int, mtime_ns: int) -> str | None:
    """The reason an unchanged input failed in an earlier run, else None."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("size") != size or record.get("mtime_ns") != mtime_ns:
        return None
    return str(record.get("reason", ""))


def write_index(path: Path, rows: list[dict]) -> None:
    """Rewrite the index CSV atomically: one row per input, in input order."""
    buffer = io.StringIO(newline="")
    writer = csvsafe.DictWriter(buffer, INDEX_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue().encode("utf-8"))
