"""Turning the command line's inputs (files, folders, glob patterns) into videos and names."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

from fervision.errors import FervisionError
from fervision.imaging import IMAGE_SUFFIXES

#: Suffixes taken as videos when a folder is searched (files named directly are always used).
VIDEO_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .avi .webm .mpg .mpeg .wmv .flv .ts .mts .m2ts .3gp .ogv .gif".split()
)
_GLOB_CHARS = re.compile(r"[*?\[]")


def _natural(text: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]


def _natural_key(path: Path):
    """Folder by folder, numbers by value: ``clip.mp4``, ``clip2.mp4``, ``clip10.mp4``."""
    path = Path(path)
    folders = [_natural(part) for part in path.parent.parts]
    return folders + [_natural(path.stem), _natural(path.suffix)]


def _videos_in(folder: Path) -> list[Path]:
    """Video files under ``folder``, recursively, hidden files and folders left out."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            Path(root, f)
            for f in files
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES
        ]
    return sorted(found, key=_natural_key)


def find_videos(inputs) -> list[Path]:
    """Every video named by ``inputs``, absolute, each once, in the order given.

    An input is a file (used whatever its suffix), a folder (searched recursively for
    video suffixes) or a glob pattern (``**`` included; for patterns the shell did not
    expand, such as quoted ones). A path that does not exist, or a pattern or folder
    that gives no video, is a one-line error.
    """
    videos: list[Path] = []
    seen: set[Path] = set()
    for raw in inputs:
        text = os.path.expanduser(str(raw))
        path = Path(text)
        if path.is_dir():
            found = _videos_in(path)
            if not found:
                raise FervisionError(f"no videos in folder {raw} (looked for {_suffix_list()})")
        elif path.exists():
            if path.suffix.lower() in IMAGE_SUFFIXES:
                raise FervisionError(
                    f"{raw} is a photo; batch takes videos (fervision run --source {raw} "
                    "labels a photo, or a folder of them)"
                )
            found = [path]
        elif _GLOB_CHARS.search(text):
            matches = sorted(glob.glob(text, recursive=True), key=lambda p: _natural_key(Path(p)))
            found = []
            for match in map(Path, matches):
                if match.is_dir():
                    found += _videos_in(match)
                elif match.suffix.lower() in VIDEO_SUFFIXES:
                    found.append(match)
            if not found:
                raise FervisionError(f"no videos match {raw}")
        else:
            raise FervisionError(f"no such file or folder: {raw}")
        for video in found:
            absolute = Path(os.path.normpath(video.absolute()))
            if absolute not in seen:  # by name: symlinks to one file stay separate videos
                seen.add(absolute)
                videos.append(absolute)
    if not videos:
        raise FervisionError("no videos given")
    return videos


def leave_out_annotated(videos, note) -> list[Path]:
    """``videos`` but those fervision annotated (marked when written), each ``note``d."""
    from fervision.marks import is_marked

    kept = []
    for video in videos:
        if is_marked(video):
            note(f"note: skipped {video}: an annotated video fervision wrote (--include-annotated)")
        else:
            kept.append(video)
    if videos and not kept:
        raise FervisionError(
            "every video given is an annotated one fervision wrote; --include-annotated takes them"
        )
    return kept


def output_names(videos) -> list[str]:
    """A file-name stem per video: its own stem, plus a short hash where stems repeat.

    The hash comes from the video's absolute path, so a video keeps its name on reruns.
    """
    stems = [Path(v).stem for v in videos]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    names = []
    for video, stem in zip(videos, stems):
        if counts[stem] > 1:
            digest = hashlib.sha1(str(Path(video).absolute()).encode()).hexdigest()[:8]
            stem = f"{stem}-{digest}"
        names.append(stem)
    return names


def _suffix_list() -> str:
    return " ".join(sorted(VIDEO_SUFFIXES))
