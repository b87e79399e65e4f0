"""One colour per emotion, shared by every output (overlay, window, report, plots)."""

from __future__ import annotations

import zlib

#: RGB hex colours for the usual emotion classes: bright enough on video, dark enough on
#: a white page.
EMOTION_COLOURS = {
    "angry": "#e03131",
    "disgust": "#3a9a3a",
    "fear": "#9b4dca",
    "happy": "#f2b600",
    "neutral": "#9a9a9a",
    "sad": "#2a7bd4",
    "surprise": "#ff7f0e",
    "contempt": "#c2549a",
}
#: Colours of other labels, picked by a hash of the label so they are the same every run.
SPARE_COLOURS = ("#17becf", "#8c6d31", "#637939", "#e377c2", "#393b79", "#bcbd22")


def emotion_colour(label: str) -> str:
    """The RGB hex colour of ``label`` (any case), the same every run and in every output."""
    colour = EMOTION_COLOURS.get(label.lower())
    return colour or SPARE_COLOURS[zlib.crc32(label.encode()) % len(SPARE_COLOURS)]


def bgr(colour: str) -> tuple[int, int, int]:
    """An RGB hex colour as OpenCV's (blue, green, red)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return b, g, r
