"""Writing a coder's file whole, and how it names the video beside it."""

from __future__ import annotations

from pathlib import Path

MIME_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wav": "audio/x-wav",
}


def relative_to(target, beside) -> str | None:
    """``target`` relative to the folder of the file ``beside`` (``./clip.mp4``); None when it
    is not in that folder or below it."""
    folder = Path(beside).absolute().parent
    try:
        rel = Path(target).absolute().relative_to(folder)
    except ValueError:
        return None
    return "./" + rel.as_posix()


def mime_type(path) -> str:
    return MIME_TYPES.get(Path(path).suffix.lower(), "video/*")


def media_facts(path) -> dict:
    """The video's length (s), frame rate and whether it has audio; {} when it can't be read."""
    try:
        import av

        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            length = container.duration / 1_000_000 if container.duration else None
            fps = float(video.average_rate) if video is not None and video.average_rate else None
            return {"length": length, "fps": fps, "audio": bool(container.streams.audio)}
    except Exception:  # not a video av reads: the caller falls back to the run's numbers
        return {}
