"""The ``image`` sink: annotated frames as image files, a photo's result or one file a frame.

A path with an image suffix (``.jpg``, ``.png``, ``.webp``...) takes the one frame of a
photo. A folder (an existing one, or a path ending in ``/``) takes every frame: named
after its image file for a folder of photos, ``frame-000000.png`` and on for video (the
CSV's frame numbers). Each file is written under a hidden temporary name and renamed
into place, so an interrupted run leaves only whole images; the inputs themselves are
never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from fervision.errors import FervisionError
from fervision.options import OptionError
from fervision.outputs import check_not_input, check_writable, same_file
from fervision.types import Frame, SourceInfo, to_bgr


def is_folder_path(path) -> bool:
    """Whether ``path`` names a folder: an existing one, or one written with a trailing slash."""
    text = os.path.expanduser(str(path))
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


class ImageSink:
    """Write each frame's overlay (or the plain image) as an image file.

    Args:
        path: an image file (``.jpg``, ``.png``...) for a photo, or a folder for many frames.
        max_frames: frames the run stops after (for every output); 1 lets one image file
            take a video's first.
    """

    def __init__(self, path=None, max_frames: int | None = None) -> None:
        if path is None or str(path) == "":
            raise FervisionError("image path not given")
        if max_frames is not None and (type(max_frames) is not int or max_frames < 1):
            raise OptionError(f"invalid max_frames {max_frames!r} for image {path}: give 1 or more")
        self.folder = is_folder_path(path)
        if self.folder:
            self.path = Path(os.path.expanduser(str(path)))
            if not self.path.exists():
                check_writable(self.path, "images folder")
                self.path.mkdir()
            check_writable(self.path / "frame.png", "images")
        else:
            self.path = check_writable(path, "image")
            if not cv2.haveImageWriter(str(self.path)):
                raise FervisionError(
                    f"cannot write image {self.path}: OpenCV writes no {self.path.suffix!r} "
                    "files; use .jpg, .png or .webp, or a folder ending in /"
                )
        self.max_frames = max_frames
        self.written: set[Path] = set()  # files written this run
        self._root: Path | None = None  # the folder of photos read, when one is

    def open(self, info: SourceInfo, labels=()) -> None:
        if not self.folder and info.frame_count != 1 and self.max_frames != 1:
            unit = "photos" if info.stills else "frames"
            frames = f"{info.frame_count} {unit}" if info.frame_count else "a live source"
            raise FervisionError(
                f"cannot write image {self.path}: the source has {frames}; give a folder "
                f"({self.path.with_suffix('')}/), a video file ({self.path.stem}.mp4) or "
                "--max-frames 1"
            )
        source = Path(info.source_id) if info.source_id else None
        self._root = source if source is not None and source.is_dir() else None
        if not self.folder:
            check_not_input(self.path, info.source_id, "image")
        elif source is not None and source.exists():
            inputs = source if source.is_dir() else source.parent
            if same_file(self.path, inputs):
                raise FervisionError(
                    f"cannot write images into {self.path}: "
                    "it would overwrite the input; give another path"
                )
        self.written = set()

    def write(self, frame: Frame) -> None:
        target = self._target(frame)
        if frame.source_id and same_file(target, frame.source_id):
            raise FervisionError(f"cannot write image {target}: it is the input image")
        image = frame.annotated if frame.annotated is not None else frame.image
        ok, encoded = cv2.imencode(target.suffix, to_bgr(image))
        if not ok:
            raise FervisionError(f"cannot write image {target}: OpenCV could not encode it")
        partial = target.with_name(f".{target.name}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)  # a photo's subfolder
            partial.write_bytes(encoded.tobytes())
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise FervisionError(f"cannot write image {target}: {exc.strerror}") from None
        self.written.add(target)

    def _target(self, frame: Frame) -> Path:
        """This frame's file: the sink's path, or a name in its folder (a photo of a
        folder's subfolder in the same subfolder: ``a/x.jpg`` and ``b/x.jpg`` stay apart)."""
        if not self.folder:
            return self.path
        source = Path(frame.source_id) if frame.source_id else None
        if source is not None and cv2.haveImageWriter(str(source)):
            root = self._root
            inside = root is not None and source.is_relative_to(root)
            target = self.path / (source.relative_to(root) if inside else source.name)
            if target in self.written:  # photos from several places with one name
                target = target.with_name(f"{source.stem}-{frame.index:06d}{source.suffix}")
            return target
        return self.path / f"frame-{frame.index:06d}.png"

    def close(self) -> None:
        pass
