"""The ``overlay`` annotator: boxes, track ids, emotion labels, optional bars, and FPS."""

from __future__ import annotations

import time

import cv2
import numpy as np

from fervision.colours import bgr, emotion_colour
from fervision.imaging import box_intersection
from fervision.types import Face, Frame, SourceInfo

from .rate import RateMeter

#: A face's bars are left out where the best place for them still covers more than this share of
#: their panel with other faces, captions or panels (a crowd): unreadable, and hiding faces.
CROWDED = 0.0
NO_LABEL_COLOR = (255, 200, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_color(label: str | None) -> tuple[int, int, int]:
    """A BGR colour for ``label``: the one every output gives it (``fervision.colours``)."""
    return NO_LABEL_COLOR if label is None else bgr(emotion_colour(label))


def _ink(color) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``color``."""
    b, g, r = color
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


class OverlayAnnotator:
    """Draw what the pipeline found onto a copy of each frame.

    Per face: a box coloured by emotion, a caption like ``#3 happy 87%`` (track id,
    label, confidence: whichever the face has), and with ``bars`` one bar per class
    from ``face.smoothed`` (else ``face.probs``). Bars go beside the face where they cover
    no other face or caption (in a crowd, faces without such room get none); a caption
    goes above its face, or where it covers least of the other faces, bars and captions.
    The FPS readout is measured here: the
    :meth:`annotate` calls of about the last second over the time they took, i.e. the
    pipeline's processing rate (frames that reuse earlier classifications pass in well
    under a millisecond, so an average of per-frame rates would read several times high).

    The readout goes in the top corner that covers least of the faces and their captions.

    Args:
        bars: draw per-class probability bars beside each face.
        show_fps: draw the FPS readout; by default only for a camera or stream (a video
            file's annotated copy plays at the file's own rate, and photos have none).
    """

    def __init__(self, bars: bool = False, *, show_fps: bool | None = None) -> None:
        self.bars = bool(bars)
        self.show_fps = None if show_fps is None else bool(show_fps)
        self._meter = RateMeter()  # annotate calls of about the last second
        self._fps_shown = bool(show_fps)

    @property
    def fps(self) -> float | None:
        """The processing rate measured here (None before a second frame)."""
        return self._meter.rate

    def open(self, info: SourceInfo | None = None) -> None:
        """Whether this run shows the readout: never on photos, by default only when live."""
        stills = info is not None and info.stills
        live = info is not None and info.live
        wanted = live if self.show_fps is None else self.show_fps
        self._fps_shown = wanted and not stills

    def annotate(self, frame: Frame) -> np.ndarray:
        """A new BGR image: ``frame.image`` with the overlay (``frame.image`` is untouched)."""
        self._meter.tick(time.perf_counter())

        out = frame.image.copy()
        h, w = out.shape[:2]
        unit = float(np.clip(min(h, w) / 480, 0.5, 3.0))
        # where bars must not go: every face with its caption above it, then placed panels
        caption_h = _caption_height(unit)
        taken = [
            (x, y - caption_h, w, h + caption_h) for x, y, w, h in (f.box for f in frame.faces)
        ]
        for face in frame.faces:  # boxes and bars first, so no caption is drawn over
            self._draw_face(out, face, frame.labels, unit, taken)
        boxes, panels, captions = [f.box for f in frame.faces], taken[len(frame.faces) :], []
        for i, face in enumerate(frame.faces):
            others = boxes[:i] + boxes[i + 1 :] + panels
            self._draw_caption(out, face, unit, others, captions)
        if self._fps_shown and self.fps is not None:
            self._draw_fps(out, unit, taken)
        return out

    def _draw_fps(self, out: np.ndarray, unit: float, taken: list) -> None:
        """The readout in the top corner (left first) that covers least of ``taken``."""
        text = f"{self.fps:.1f} FPS"
        margin = int(6 * unit)
        box_w, box_h = _caption_size(text, unit)
        corners = [(margin, margin), (out.shape[1] - margin - box_w, margin)]
        size = (out.shape[1], out.shape[0])
        spot = _clearest(corners, (box_w, box_h), size, taken)
        self._caption(out, text, spot, (32, 32, 32), unit)

    def _draw_face(self, out: np.ndarray, face: Face, labels, unit: float, taken: list) -> None:
        """The box, and the bars when asked for (placed clear of ``taken``, then added to it)."""
        color = label_color(face.label)
        x0, y0, x1, y1 = face.xyxy
        thickness = max(1, round(2 * unit))
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), color, thickness)  # crisp, no AA
        probs = face.smoothed if face.smoothed is not None else face.probs
        if self.bars and probs is not None and len(probs):
            self._draw_bars(out, face, np.asarray(probs, dtype=float).ravel(), labels, unit, taken)

    def _draw_caption(self, out: np.ndarray, face: Face, unit: float, others, captions) -> None:
        """The face's caption above its box, or where it covers least of the ``others``
        (other faces, bar panels) and earlier ``captions``: above right-aligned, below, or
        inside the box's top; then added to ``captions``."""
        parts = []
        if face.track_id is not None:
            parts.append(f"#{face.track_id}")
        if face.label is not None:
            parts.append(face.label)
        if face.confidence is not None:
            parts.append(f"{face.confidence:.0%}")
        if not parts:
            return
        text = " ".join(parts)
        x0, y0, width, height = face.box
        # In a crowd of small faces, shrink the caption to about 1.5 face widths.
        text_w = cv2.getTextSize(text, FONT, 0.55 * unit, max(1, round(1.5 * unit)))[0][0]
        unit = min(unit, max(0.6, unit * 1.5 * width / max(text_w, 1)))
        box_w, box_h = _caption_size(text, unit)
        spots = [
            (x0, y0 - box_h),
            (x0 + width - box_w, y0 - box_h),
            (x0, y0 + height),
            (x0, y0),
        ]
        size = (out.shape[1], out.shape[0])
        spot = _clearest(spots, (box_w, box_h), size, others, captions)  # above, if clear
        captions.append((*spot, box_w, box_h))
        self._caption(out, text, spot, label_color(face.label), unit)

    def _caption(self, out, text, corner, color, unit) -> None:
        """Text on a filled box whose top-left is ``corner`` (kept inside the picture)."""
        scale, thick = 0.55 * unit, max(1, round(1.5 * unit))
        (tw, th), _ = cv2.getTextSize(text, FONT, scale, thick)
        pad = max(2, round(3 * unit))
        box_w, box_h = _caption_size(text, unit)
        x = int(min(max(corner[0], 0), max(0, out.shape[1] - box_w)))
        top = int(min(max(corner[1], 0), max(0, out.shape[0] - box_h)))
        cv2.rectangle(out, (x, top), (x + box_w, top + box_h), color, cv2.FILLED)
        cv2.putText(
            out, text, (x + pad, top + pad + th), FONT, scale, _ink(color), thick, cv2.LINE_AA
        )

    def _draw_bars(self, out, face: Face, probs: np.ndarray, labels, unit: float, taken) -> None:
        names = list(labels) if len(labels) == len(probs) else [str(i) for i in range(len(probs))]
        scale, thick = 0.42 * unit, 1
        row = max(10, round(16 * unit))
        name_w = max(cv2.getTextSize(n, FONT, scale, thick)[0][0] for n in names)
        bar_w = round(70 * unit)
        pct_w = cv2.getTextSize("100%", FONT, scale, thick)[0][0]
        pad = max(2, round(4 * unit))
        panel_w = name_w + bar_w + pct_w + 4 * pad
        # a tracked face's panel is headed by its id, as its caption is: in a crowd the
        # panel may sit beside another face
        title = f"#{face.track_id}" if face.track_id is not None else None
        head = row if title else 0
        panel_h = head + row * len(names) + 2 * pad
        h, w = out.shape[:2]
        px, py = _place(face.xyxy, panel_w, panel_h, pad, _caption_height(unit), (w, h), taken)
        covered = sum(box_intersection((px, py, panel_w, panel_h), t) for t in taken)
        if covered > CROWDED * panel_w * panel_h:  # no room beside this face in a crowd
            return
        taken.append((px, py, panel_w, panel_h))
        pw, ph = min(panel_w, w - px), min(panel_h, h - py)
        if pw <= 0 or ph <= 0:
            return
        region = out[py : py + ph, px : px + pw]
        region[:] = (region * 0.35).astype(np.uint8)  # darken behind the bars
        if title:
            title_y = py + pad + round(row * 0.75)
            color = label_color(face.label)
            cv2.putText(out, title, (px + pad, title_y), FONT, scale, color, thick, cv2.LINE_AA)
        top = int(np.argmax(probs))
        for i, (name, p) in enumerate(zip(names, probs, strict=True)):
            base_y = py + pad + head + row * i
            text_y = base_y + round(row * 0.75)
            ink = (255, 255, 255) if i == top else (200, 200, 200)
            cv2.putText(out, name, (px + pad, text_y), FONT, scale, ink, thick, cv2.LINE_AA)
            bx = px + 2 * pad + name_w
            fill = int(round(bar_w * float(np.clip(p, 0.0, 1.0))))
            by0, by1 = base_y + round(row * 0.2), base_y + round(row * 0.8)
            cv2.rectangle(out, (bx, by0), (bx + bar_w, by1), (90, 90, 90), 1)
            if fill > 0:
                cv2.rectangle(out, (bx, by0), (bx + fill, by1), label_color(name), cv2.FILLED)
            cv2.putText(
                out, f"{p:.0%}", (bx + bar_w + pad, text_y), FONT, scale, ink, thick, cv2.LINE_AA
            )


def _caption_size(text: str, unit: float) -> tuple[int, int]:
    """Width and height of ``text``'s caption box at ``unit``."""
    scale, thick = 0.55 * unit, max(1, round(1.5 * unit))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    pad = max(2, round(3 * unit))
    return tw + 2 * pad, th + base + 2 * pad


def _caption_height(unit: float) -> int:
    """About the height of a face's caption box, drawn above the face."""
    return round(24 * unit)


def _place(box, panel_w: int, panel_h: int, pad: int, caption_h: int, size, taken) -> tuple:
    """Where a face's bars go: right of it, left, below or above (inside the frame),
    whichever covers least of ``taken`` (faces with their captions, other panels)."""
    x0, y0, x1, y1 = box
    spots = [
        (x1 + pad, y0),
        (x0 - pad - panel_w, y0),
        (x0, y1 + pad),
        (x0, y0 - caption_h - pad - panel_h),
    ]
    return _clearest(spots, (panel_w, panel_h), size, taken)


def _clearest(spots, box_size, frame_size, obstacles, weighted=()) -> tuple[int, int]:
    """Of ``spots`` (top-left corners, moved inside the frame) for a box of ``box_size``,
    the first that covers least of ``obstacles`` (and of ``weighted``, counted twice)."""
    (bw, bh), (w, h) = box_size, frame_size
    inside = [(min(max(x, 0), max(0, w - bw)), min(max(y, 0), max(0, h - bh))) for x, y in spots]

    def covered(spot) -> int:
        rect = (*spot, bw, bh)
        area = sum(box_intersection(rect, o) for o in obstacles)
        return area + 2 * sum(box_intersection(rect, o) for o in weighted)

    return min(inside, key=covered)
