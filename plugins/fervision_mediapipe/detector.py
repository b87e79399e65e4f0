"""The MediaPipe BlazeFace face detector stage, choosing the model range for each video.

The models run through LiteRT (``ai-edge-litert``), loaded when a detector is built;
the ``mediapipe`` package itself is not needed (see ``blazeface.BlazeFace``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from fervision.imaging import box_iou, downscaled
from fervision.options import OptionError
from fervision.scene import SceneCutDetector, frame_key
from fervision.types import Face, Frame, SourceInfo, to_bgr

from .blazeface import BlazeFace, merge_faces, tile_grid
from .models import get_spec, resolve_model

VARIANTS = ("auto", "short", "full")
#: BlazeFace boxes run from the brows to the mouth; grown by this factor about their centre
#: they span forehead to chin like Haar's, so every detector gives the classifier the same
#: face box (on the labelled clips of benchmarks/real_videos.py this crop scored best).
FACE_BOX_SCALE = 1.17


@dataclass(frozen=True)
class Plan:
    """One way to look for faces: a model range on the whole frame, plus tiles or not."""

    name: str  # short, full, tiles or small tiles
    variant: str
    tiled: bool = False
    tile_scale: float = 1.0  # tiles of this share of the detector's ``tile`` size


PLANS = (Plan("short", "short"), Plan("full", "full"), Plan("tiles", "full", tiled=True))
#: Photos also try tiles of two thirds the size: faces of 30 pixels in a 1000-pixel photo.
STILL_PLANS = PLANS + (Plan("small tiles", "full", tiled=True, tile_scale=2 / 3),)
#: A probe counts the faces scoring at least this (enough for a tracker to start a track).
PROBE_SCORE = 0.6
#: A regular probe (every ``reprobe`` s) tries the tiles only every this many probes while
#: they found no more faces than a whole-frame plan: at 1920x1080 the six tiles cost 35 ms,
#: seven times the rest of a probe. A start, a scene cut or a face gone missing tries them.
TILES_EVERY = 4
#: In recorded video a frame between two detections is given their faces, interpolated,
#: when each face overlaps its earlier box by at least this much (it barely moved).
STEADY_IOU = 0.7
#: A frame after a detected one waits to be interpolated unless its ``frame_key`` is at
#: least this (then it is detected): a pattern the pictures decide, about 1 in 1.9 detected.
HOLD_BELOW = 0.9


class MediaPipeDetector:
    """Faces from MediaPipe's BlazeFace models, decoded as MediaPipe's ``FaceDetector`` does.

    Args:
        variant: ``"auto"`` (default), ``"short"`` (faces within about 2 m) or
            ``"full"`` (full range: small and distant faces too, about 2x slower).
            ``auto`` probes a frame with every plan (short range, full range, and full
            range on overlapping tiles of about ``tile`` pixels for large frames) at
            the start, at scene cuts, every ``reprobe`` seconds (the tiles every
            ``TILES_EVERY`` of these while they find no more faces) and when faces go
            missing, and runs the cheapest plan that found as many faces as any. Photos
            (one image, or a folder of them) are also probed with tiles of two thirds
            that size, which find small faces video frames are too costly to look for.
        model: an explicit ``.tflite`` path (one model, whole frames); otherwise the
            shipped model(s), or ``$FERVISION_MEDIAPIPE_MODEL``.
        min_confidence: drop detections scoring below this (0..1). The default keeps
            weak faces for a tracker's second association stage.
        min_size: drop faces narrower or shorter than this many pixels of the full frame.
        downscale: shrink frames so their longer side is at most this many pixels
            before detection (``None``: full size).
        tile: tile size in pixels for the tiled plan of ``auto``.
        reprobe: seconds between probes of ``auto``.

    Each face carries its two eye centres (``face.eyes``). Building one loads the
    models, so a missing or unusable file fails at once with one line naming it.

    Example:
        >>> with MediaPipeDetector() as detector:
        ...     faces = detector.detect(frame)
    """

    def __init__(
        self,
        variant: str | None = None,
        *,
        model: str | os.PathLike | None = None,
        min_confidence: float = 0.4,
        min_size: int = 0,
        downscale: int | str | None = None,
        tile: int = 720,
        reprobe: float = 2.0,
    ):
        self.variant = (variant or "auto").strip().lower()
        if self.variant not in VARIANTS:
            get_spec(self.variant)  # raises the one-line error listing the variants
        try:
            self.min_confidence = float(min_confidence)
        except (TypeError, ValueError):
            self.min_confidence = -1.0
        if not 0.0 <= self.min_confidence <= 1.0:
            raise OptionError(f"mediapipe min_confidence must be in 0..1, got {min_confidence!r}")
        self.min_size = _positive("min_size", min_size, 0)
        self.downscale = _parse_downscale(downscale)
        self.tile, self.reprobe = _positive("tile", tile, 128), _positive("reprobe", reprobe, 0.1)
        if self.variant == "auto" and not model:
            self.plans = PLANS
        else:  # one model on whole frames (an explicit file's range is unknown: "short")
            only = "short" if self.variant == "auto" else self.variant
            self.plans = (Plan(only, only),)
        self.model_paths = {
            v: resolve_model(v, model) for v in dict.fromkeys(p.variant for p in self.plans)
        }
        self.model_path = next(iter(self.model_paths.values()))
        self._engines: dict[str, BlazeFace] = {}
        self._auto = len(self.plans) > 1
        self.plan_counts = {p.name: 0 for p in STILL_PLANS}  # frames each plan ran on
        self.probes = 0
        self._stills = False
        self._reset_choice()
        self.open()  # fail now, with one line, if MediaPipe cannot use a model

    def __repr__(self) -> str:
        return (
            f"MediaPipeDetector(variant={self.variant!r}, model='{self.model_path}', "
            f"min_confidence={self.min_confidence}, downscale={self.downscale})"
        )

    def _reset_choice(self) -> None:
        self.plan = self.plans[0]
        self._probed_at: float | None = None
        self._probe_count = 0
        self._missing = False
        self._is_cut = SceneCutDetector()
        self._without_tiles = 0  # regular probes since the last that tried the tiles
        self._cut = False  # the last frame looked at began a new shot

    def open(self, info: SourceInfo | None = None) -> None:
        """Load the models unless they are loaded already; photos get the small tiles too,
        and each photo its own probe (no photo's choice depends on the one before)."""
        self._stills = info is not None and info.stills
        if self._auto:
            self.plans = STILL_PLANS if self._stills else PLANS
        if info is not None:  # a run: choose its plan afresh
            self._reset_choice()
        for variant, path in self.model_paths.items():
            if variant not in self._engines:
                self._engines[variant] = BlazeFace(path, self.min_confidence)

    def detect(self, frame: Frame) -> list[Face]:
        """The faces in ``frame``: integer boxes clipped to the frame, best score first."""
        return self._detect(frame)

    def _detect(self, frame: Frame, plain: bool = False) -> list[Face]:
        """``detect``; ``plain``: the chosen plan only, no probe and no look for a cut."""
        if not self._engines:
            self.open()
        image = frame.image
        if image.ndim != 3 or image.shape[2] != 3:
            image = to_bgr(image)
        height, width = image.shape[:2]
        small, scale = downscaled(image, self.downscale)
        due = not plain and len(self.plans) > 1 and self._due_for_probe(frame.timestamp, small)
        if due:
            faces = self._probe(small, frame.timestamp, tiles=due == "all")
        else:
            faces = self._run(self.plan, small)
            self.plan_counts[self.plan.name] += 1
            self._missing = sum(f.score >= PROBE_SCORE for f in faces) < self._probe_count
        faces = [f for f in (_to_frame(f, scale, width, height) for f in faces) if f is not None]
        faces = [f for f in faces if min(f.box[2], f.box[3]) >= self.min_size]
        return sorted(faces, key=lambda face: face.score, reverse=True)

    def detect_stream(self, frames):
        """Recorded video: a frame after a detected one is held (a frame late) unless its
        picture's ``frame_key`` is ``HOLD_BELOW`` or more, so about every other frame is
        detected, and the same footage in the same way wherever it lies in a file. A held
        frame between two detections that found the same faces, barely moved
        (``STEADY_IOU``), and no cut gets those faces, interpolated; any other is detected
        too. Photos: each one."""
        held = before = None
        for frame in frames:
            if before is not None and held is None and not self._stills:
                if frame_key(frame.image) < HOLD_BELOW:
                    held = frame
                    continue
            self._cut = False
            frame.faces = self.detect(frame)
            after = [(f.box, f.score, f.eyes) for f in frame.faces]  # as found, kept apart
            if held is not None:
                steady = not self._cut and _between(before, after)
                held.faces = steady if steady is not False else self._detect(held, plain=True)
                yield held
                held = None
            before = after
            yield frame
        if held is not None:
            held.faces = self._detect(held, plain=True)
            yield held

    def _due_for_probe(self, now: float, image: np.ndarray) -> str | bool:
        """``"all"`` (every plan) at the start, a scene cut, or 0.5 s after a face went
        missing (every photo is a start); ``"regular"`` every ``reprobe`` s; else False."""
        cut = self._is_cut(image)  # called on every frame: it compares with the previous one
        self._cut = cut
        if self._stills or cut or self._probed_at is None or now < self._probed_at:
            return "all"
        elapsed = now - self._probed_at
        if self._missing and elapsed >= 0.5:
            return "all"
        return "regular" if elapsed >= self.reprobe else False

    def _probe(self, bgr: np.ndarray, now: float, tiles: bool = True) -> list[Face]:
        """Run every plan (a regular probe: the tiles only when due); keep the cheapest that
        found as many faces as any; return all."""
        height, width = bgr.shape[:2]
        tiles = tiles or self.plan.tiled or self._without_tiles + 1 >= TILES_EVERY
        plans = [
            p
            for p in self.plans
            if not p.tiled or (tiles and len(self._tiles(p, width, height)) > 1)
        ]
        self._without_tiles = 0 if any(p.tiled for p in plans) else self._without_tiles + 1
        found = [self._run(plan, bgr) for plan in plans]
        counts = [sum(f.score >= PROBE_SCORE for f in faces) for faces in found]
        self.plan = plans[counts.index(max(counts))]
        self._probed_at, self._probe_count = now, max(counts)
        self.probes += 1
        return merge_faces([f for faces in found for f in faces])

    def _run(self, plan: Plan, bgr: np.ndarray) -> list[Face]:
        engine = self._engines[plan.variant]
        faces = engine.detect(bgr)
        height, width = bgr.shape[:2]
        tiles = self._tiles(plan, width, height) if plan.tiled else []
        if len(tiles) > 1:
            for x0, y0, x1, y1 in tiles:
                faces += engine.detect(bgr[y0:y1, x0:x1], origin=(x0, y0), drop_cut=True)
            faces = merge_faces(faces)
        return faces

    def _tiles(self, plan: Plan, width: int, height: int) -> list[tuple]:
        """The tiles of a tiled plan (one, the whole frame, when the frame is small)."""
        return tile_grid(width, height, round(self.tile * plan.tile_scale))

    def close(self) -> None:
        """Release the models; safe to call more than once (``detect`` reopens)."""
        engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.close()
        self._reset_choice()

    def __enter__(self) -> MediaPipeDetector:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _between(earlier: list, after: list) -> list[Face] | bool:
    """The faces of the frame between two detections (``(box, score, eyes)`` each), half
    way, when each face moved less than ``STEADY_IOU``; else False."""
    if len(earlier) != len(after):
        return False
    half = lambda a, b: a + (b - a) / 2  # noqa: E731 - not by timestamps: the same anywhere
    faces = []
    for box, score, eyes in after:
        overlap, (box0, score0, eyes0) = max(
            ((box_iou(e[0], box), e) for e in earlier), key=lambda scored: scored[0]
        )
        if overlap < STEADY_IOU:
            return False
        x, y, w, h = (round(half(a, b)) for a, b in zip(box0, box))
        if eyes and eyes0:
            eyes = tuple((half(a[0], b[0]), half(a[1], b[1])) for a, b in zip(eyes0, eyes))
        faces.append(Face((x, y, w, h), half(score0, score), eyes=eyes if eyes0 else None))
    return sorted(faces, key=lambda face: face.score, reverse=True)


def _to_frame(face: Face, scale: float, width: int, height: int) -> Face | None:
    """``face`` with its box (grown to the whole face) and eyes in frame pixels; None if empty."""
    x, y, w, h = (v / scale for v in face.box)
    grow = (FACE_BOX_SCALE - 1) / 2
    x, y, w, h = x - grow * w, y - grow * h, w * FACE_BOX_SCALE, h * FACE_BOX_SCALE
    x0, y0 = max(0, round(x)), max(0, round(y))
    x1, y1 = min(width, round(x + w)), min(height, round(y + h))
    if x1 <= x0 or y1 <= y0:
        return None
    eyes = tuple((ex / scale, ey / scale) for ex, ey in face.eyes) if face.eyes else None
    return Face((x0, y0, x1 - x0, y1 - y0), face.score, eyes=eyes)


def _positive(name: str, value, least: float) -> float:
    """``value`` as a number of at least ``least``; a one-line error naming the option."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < least:
        raise OptionError(f"mediapipe {name} must be a number of at least {least}, got {value!r}")
    return number


def _parse_downscale(value) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "0")):
        return None
    try:
        pixels = int(value)
    except (TypeError, ValueError):
        pixels = -1
    if pixels == 0:
        return None
    if pixels < 64:
        raise OptionError(
            f"mediapipe downscale must be a longer-side size of at least 64 pixels "
            f"or none, got {value!r}"
        )
    return pixels
