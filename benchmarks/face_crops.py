"""How the face crop fed to the emotion model changes its answers on the labelled real clips.

    python benchmarks/face_crops.py

Detects faces with the default detector in every frame inside a labelled segment of
``real_videos_labels.json`` and classifies the largest face (raw, unsmoothed, LiteRT
with the mirror averaged, as in the pipeline) cropped four ways: the box with the
model's margin; the same moved up by 0.1 box heights (the classifier's default
``lift``); and both of those rotated so the eyes are level, as FER2013's faces are;
then the default crop with flat faces not equalized (``equalize_below`` 0, see
``fervision_keras.lighting``) and with every face averaged with its equalized copy.
Prints the share of frames labelled right per clip and over all.
"""

from __future__ import annotations

import math
from collections import defaultdict

import cv2
import numpy as np
from real_videos import LABELS, SHARED

from fervision import Frame, get_registry
from fervision_keras.classifier import crop_faces
from fervision_keras.inference import Predictor
from fervision_keras.lighting import DEFAULT_EQUALIZE_BELOW


def labelled_faces():
    """(clip, accepted labels, frame image, largest face) for every labelled frame."""
    detector = get_registry().build("detector", "mediapipe")
    for name, truth in LABELS.items():
        if name.startswith("_") or not truth["segments"]:
            continue
        capture = cv2.VideoCapture(str(SHARED / "media" / name))
        fps = capture.get(cv2.CAP_PROP_FPS)
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            t = index / fps
            faces = detector.detect(Frame(image, index, t))
            index += 1
            wanted = [label for start, end, label in truth["segments"] if start <= t <= end]
            if wanted and faces:
                accepted = wanted[0] if isinstance(wanted[0], list) else [wanted[0]]
                yield name, accepted, image, max(faces, key=lambda f: f.box[2] * f.box[3])
        capture.release()
    detector.close()


def level_eyes(image: np.ndarray, face) -> np.ndarray:
    """``image`` rotated about the face's centre so that its eyes are level."""
    (lx, ly), (rx, ry) = face.eyes
    x, y, w, h = face.box
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    rotation = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), angle, 1.0)
    size = (image.shape[1], image.shape[0])
    return cv2.warpAffine(image, rotation, size, borderMode=cv2.BORDER_REPLICATE)


def main() -> None:
    predictor = Predictor.from_path()  # the pipeline's default: LiteRT, face + mirror
    meta = predictor.metadata
    samples = list(labelled_faces())
    default = DEFAULT_EQUALIZE_BELOW
    variants = {
        "box": (False, 0.0, default),
        "box, lifted 0.1 (default)": (False, 0.1, default),
        "eyes levelled": (True, 0.0, default),
        "eyes levelled, lifted 0.1": (True, 0.1, default),
        "default, flat not equalized": (False, 0.1, 0.0),
        "default, every face with its equalized copy": (False, 0.1, 256.0),
    }
    print(f"{len(samples)} labelled frames with a face")
    for title, (align, lift, equalize_below) in variants.items():
        predictor.equalize_below = equalize_below
        crops = [
            crop_faces(
                level_eyes(image, face) if align else image,
                [face.box],
                meta.input_size,
                meta.channels,
                meta.margin,
                lift,
            )[0]
            for _, _, image, face in samples
        ]
        probs = predictor(np.stack(crops))
        right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (name, accepted, _, _), p in zip(samples, probs):
            right[name][0] += predictor.labels[int(p.argmax())] in accepted
            right[name][1] += 1
        total = sum(r for r, _ in right.values()) / sum(n for _, n in right.values())
        clips = "  ".join(f"{name.split('.')[0]} {r / n:.2f}" for name, (r, n) in right.items())
        print(f"{title:28} all {total:.3f}  |  {clips}")


if __name__ == "__main__":
    main()
