"""The mark fervision leaves in the videos it writes, so that ``batch`` can tell them apart."""

from __future__ import annotations

#: The container metadata key and the text it starts with in an annotated video.
MARK_KEY = "comment"
MARK = "annotated by fervision"


def mark_text() -> str:
    """The mark with fervision's version: ``annotated by fervision 0.1.0``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MARK} {version('fervision')}"
    except PackageNotFoundError:
        return MARK


def is_marked(path) -> bool:
    """Whether the video at ``path`` carries the mark (False when it cannot be read)."""
    import av

    try:
        with av.open(str(path)) as container:
            tags = {str(k).lower(): str(v) for k, v in container.metadata.items()}  # MKV: COMMENT
    except (av.FFmpegError, OSError, UnicodeError, ValueError):
        return False
    return tags.get(MARK_KEY, "").startswith(MARK)
