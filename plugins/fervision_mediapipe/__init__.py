"""fervision mediapipe stages: the BlazeFace face detector (``--detector mediapipe``).

``mediapipe`` (``auto``: picks short range, full range or tiled full range per video),
``mediapipe:short`` and ``mediapipe:full``. Both models ship in the package, so it
works offline. They run through LiteRT (the ``mediapipe`` package is not used), loaded
when a detector is built.
"""

from fervision import hookimpl


@hookimpl
def register_stages(registry):
    registry.add(
        "detector",
        "mediapipe",
        f"{__name__}.detector:MediaPipeDetector",
        help="MediaPipe BlazeFace, range chosen per video (mediapipe, mediapipe:short, "
        "mediapipe:full)",
    )
