"""Make a two-person test clip: two shared talking heads side by side, with a cut.

    python scripts/two_person_clip.py OUT.mp4 [SHARED_MEDIA_FOLDER]

The suit man is on the left, the woman with glasses on the right, both 320x320 at 25 fps.
At 2.4 s the shot cuts to a closer, darker view of both (another camera), 3.0 to 4.8 s
into their recordings, so the tracker starts new faces: 4.2 s in all (105 frames,
640x320, no sound).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FPS = 25.0
SIDE = 320
#: (start s, end s, zoom) of each shot, in the source recordings' time.
SHOTS = ((0.0, 2.4, 1.0), (3.0, 4.8, 0.6))


def _frames(path: Path) -> tuple[list, float]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or FPS
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA))
    cap.release()
    return frames, fps


def _shot(frames: list, fps: float, t: float, zoom: float):
    import cv2

    image = frames[min(len(frames) - 1, round(t * fps))]
    if zoom == 1.0:
        return image
    side = round(SIDE * zoom)
    x0, y0 = (SIDE - side) // 2, (SIDE - side) // 4  # faces sit in the upper half
    closer = cv2.resize(image[y0 : y0 + side, x0 : x0 + side], (SIDE, SIDE))
    return cv2.convertScaleAbs(closer, alpha=0.6, beta=10)  # another camera: darker


def make_two_person_clip(out: Path, media: Path) -> Path:
    """Write the clip to ``out`` from the ``talking_head_*`` recordings in ``media``."""
    import cv2
    import numpy as np

    left = _frames(media / "talking_head_suit.mp4")
    right = _frames(media / "talking_head_glasses.mp4")
    for name, (frames, _) in (("talking_head_suit", left), ("talking_head_glasses", right)):
        if not frames:  # before the output is made: nothing half-written
            raise SystemExit(
                f"error: {media / (name + '.mp4')} is missing or unreadable; give the folder "
                "of the shared media as the second argument (or set FERVISION_SHARED)"
            )
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (2 * SIDE, SIDE))
    for start, end, zoom in SHOTS:
        for i in range(round((end - start) * FPS)):
            t = start + i / FPS
            writer.write(np.hstack([_shot(*left, t, zoom), _shot(*right, t, zoom)]))
    writer.release()
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    shared = Path(os.environ.get("FERVISION_SHARED", Path(__file__).parents[2] / "shared"))
    media = Path(sys.argv[2]) if len(sys.argv) > 2 else shared / "media"
    print(make_two_person_clip(Path(sys.argv[1]), media))
