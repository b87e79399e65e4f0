"""fervision mediapipe stages: the BlazeFace face detector (``--detector mediapipe``).

``mediapipe`` (short range, the default), ``mediapipe:short`` and ``mediapipe:full``;
options ``model=PATH``, ``min_confidence=0.5``, ``downscale=None``. The model file is
found or downloaded as :mod:`fervision_mediapipe.models` describes. Nothing here
imports mediapipe or OpenCV until a detector opens.
"""

from fervision import hookimpl


@hookimpl
def register_stages(registry):
    from .detector import MediaPipeDetector

    registry.add(
        "detector",
        "mediapipe",
        MediaPipeDetector,
        help="MediaPipe BlazeFace (mediapipe, mediapipe:short, mediapipe:full); "
        "model=PATH, min_confidence=0.5, downscale=PIXELS",
    )
