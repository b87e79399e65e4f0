"""fervision opencv stages: sources (files, cameras, streams, the sample), Haar, overlay, sinks.

Nothing here imports OpenCV until a stage is built: each stage is registered by the name
of its module and class, so ``import fervision`` and ``fervision plugins`` stay fast.
"""

from __future__ import annotations

from fervision import hookimpl


@hookimpl
def register_stages(registry):
    def add(kind, name, target, help, **defaults):
        registry.add(kind, name, f"{__name__}.{target}", help=help, defaults=defaults)

    add(
        "source",
        "auto",
        "sources:open_auto",
        "pick by target: URL -> stream, folder, image file, digits -> webcam, else video",
    )
    add("source", "video", "capture:VideoSource", "a video file (video:PATH)")
    add("source", "webcam", "capture:WebcamSource", "a camera (webcam:N, webcam:/dev/videoN)")
    add("source", "stream", "capture:StreamSource", "a network stream (stream:rtsp://...)")
    add("source", "image", "images:ImageSource", "one still image (image:PATH)")
    add("source", "folder", "images:FolderSource", "a folder's images in order (folder:PATH)")
    add(
        "source",
        "sample",
        "sample:SampleSource",
        "offline demo: Grace Hopper panning and zooming (sample, sample:FRAMES)",
    )
    add("detector", "haar", "haar:HaarDetector", "OpenCV Haar cascade (haar, haar:CASCADE.xml)")
    add(
        "detector",
        "haar-fast",
        "haar:HaarDetector",
        "Haar in full every 6th frame, between near recent faces (and back, in video)",
        full_every=6,
        near_min_neighbors=2,
    )
    add("annotator", "overlay", "overlay:OverlayAnnotator", "boxes, track ids, labels, FPS")
    add(
        "sink",
        "video",
        "video_sink:VideoSink",
        "annotated video (video:OUT.mp4|.avi): H.264 + the source's sound, MJPG for .avi",
    )
    add(
        "sink",
        "image",
        "image_sink:ImageSink",
        "annotated images (image:OUT.jpg for a photo, image:FOLDER/ for every frame)",
    )
    add(
        "sink",
        "display",
        "display:DisplaySink",
        "a window with Stop/Start (s), Pause (space), Snapshot (c), Exit (q) buttons",
    )
