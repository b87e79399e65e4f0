"""fervision opencv stages: sources (files, cameras, streams, the sample), Haar, overlay, sinks.

Nothing here imports OpenCV until a stage is built: each factory below imports its
module on first call, so ``import fervision`` and ``fervision plugins`` stay fast.
"""

from __future__ import annotations

import importlib

from fervision import hookimpl


def _lazy(module: str, name: str):
    """A factory that imports ``fervision_opencv.<module>`` only when called."""

    def factory(*args, **options):
        target = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return target(*args, **options)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Build :class:`{__name__}.{module}.{name}` (imported on first use)."
    return factory


@hookimpl
def register_stages(registry):
    add = registry.add
    add(
        "source",
        "auto",
        _lazy("sources", "open_auto"),
        help="pick by target: URL -> stream, folder, image file, digits -> webcam, else video",
    )
    add("source", "video", _lazy("capture", "VideoSource"), help="a video file (video:PATH)")
    add(
        "source",
        "webcam",
        _lazy("capture", "WebcamSource"),
        help="a camera (webcam, webcam:N, webcam:/dev/videoN); width=, height=, fps=",
    )
    add(
        "source",
        "stream",
        _lazy("capture", "StreamSource"),
        help="a network stream (stream:rtsp://...); open_timeout=, read_timeout= seconds",
    )
    add("source", "image", _lazy("images", "ImageSource"), help="one still image (image:PATH)")
    add(
        "source",
        "folder",
        _lazy("images", "FolderSource"),
        help="the images in a folder, natural order (folder:PATH); fps= (default 1)",
    )
    add(
        "source",
        "sample",
        _lazy("sample", "SampleSource"),
        help="offline demo: Grace Hopper panning and zooming (sample, sample:FRAMES)",
    )
    add(
        "detector",
        "haar",
        _lazy("haar", "HaarDetector"),
        help="OpenCV Haar cascade (haar, haar:CASCADE.xml); downscale= longest side",
    )
    add(
        "detector",
        "haar-fast",
        _lazy("haar", "fast_haar"),
        help="Haar in full every 6th frame, between near recent faces (and back, in video)",
    )
    add(
        "annotator",
        "overlay",
        _lazy("overlay", "OverlayAnnotator"),
        help="boxes, track ids, labels, FPS; bars=True adds per-class bars",
    )
    add(
        "sink",
        "video",
        _lazy("video_sink", "VideoSink"),
        help="annotated video (video:OUT.mp4|.avi): H.264 + the source's sound, MJPG for .avi",
    )
    add(
        "sink",
        "display",
        _lazy("display", "DisplaySink"),
        help="a window with Stop/Start (s), Pause (space), Snapshot (c), Exit (q) buttons",
    )
