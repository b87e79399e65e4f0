"""Output paths: the checks made before any frame is processed, and writing a file whole."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

from .errors import FervisionError
from .imaging import IMAGE_SUFFIXES
from .options import OptionError


def check_writable(path, what: str = "output") -> Path:
    """Return ``path`` as a Path if a file can be written there, else raise a one-line error."""
    if path is None or str(path) == "":
        raise FervisionError(f"{what} path not given")
    if str(path).endswith(("/", os.sep)):
        raise FervisionError(f"cannot write {what} {path}: give a file name, not a folder")
    p = Path(os.path.expanduser(str(path)))
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise FervisionError(f"cannot write {what} {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise FervisionError(f"cannot write {what} {p}: {parent} is not a folder")
    if p.is_dir():
        raise FervisionError(f"cannot write {what} {p}: it is a folder")
    try:  # a real probe: permission bits say nothing for root or read-only mounts
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".fervision-probe-"):
            pass
    except OSError as exc:
        raise FervisionError(
            f"cannot write {what} {p}: folder {parent} is not writable ({exc.strerror})"
        ) from None
    if p.exists() and not os.access(p, os.W_OK):
        raise FervisionError(f"cannot write {what} {p}: the file is not writable")
    return p


def same_file(a, b) -> bool:
    """Whether two paths name one existing file (or folder)."""
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(path, source_id: str | None, what: str = "output") -> None:
    """Refuse to write ``path`` when it is the source file, or a photo in the source
    folder, with a one-line error; the input stays untouched."""
    if not source_id or not os.path.exists(source_id):
        return
    folder = os.path.dirname(os.path.abspath(path))
    photo = os.path.isfile(path) and Path(path).suffix.lower() in IMAGE_SUFFIXES
    if same_file(path, source_id) or (photo and same_file(folder, source_id)):
        raise FervisionError(
            f"cannot write {what} {path}: it would overwrite the input; give another path"
        )


def check_distinct(outputs: list[tuple[str, object]]) -> None:
    """Refuse two outputs on one path (``[("--csv", path), ...]``): one would overwrite the
    other."""
    seen: dict[str, str] = {}
    for option, path in outputs:
        if not path:
            continue
        key = os.path.normcase(os.path.realpath(os.path.expanduser(str(path))))
        if key in seen:  # a usage error (exit 2), found before any work
            raise OptionError(
                f"{seen[key]} and {option} name the same file {path}; give each its own path"
            )
        seen[key] = option


def make_folders(outputs: list[tuple[str, object]]) -> None:
    """Create the missing folder of each output file (``[("--csv", path), ...]``; a path
    ending in / is a folder itself), or raise a one-line error naming the option."""
    for option, path in outputs:
        if not path:
            continue
        text = os.path.expanduser(str(path))
        folder = text if text.endswith(("/", os.sep)) else os.path.dirname(text)
        if not folder or os.path.isdir(folder):
            continue
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise FervisionError(
                f"cannot create folder {folder} for {option}: {exc.strerror or exc}"
            ) from None


def prepare_folder(out_dir) -> Path:
    """Create the output folder if needed and check that it can be written."""
    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise FervisionError(f"output path is not a folder: {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FervisionError(f"cannot create output folder {out}: {exc.strerror}") from None
    probe = out / f".fervision-probe-{os.getpid()}.partial"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FervisionError(f"output folder is not writable: {out} ({exc.strerror})") from None
    return out


def write_atomic(path, data: bytes) -> None:
    """Write ``path`` so that it holds either its old content or all of ``data``: under
    ``.NAME.partial`` beside it (made as ``open`` makes files, readable as the umask
    allows), flushed to disk, then renamed into place; a failure is one line."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise FervisionError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
