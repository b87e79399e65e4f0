"""The window's control bar: buttons (each showing its key) and a status line, drawn below
the picture so they never cover a face's label.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
BAR_BG = (38, 38, 38)
BUTTON_BG = (78, 78, 78)
BUTTON_OFF = (55, 55, 55)
TEXT = (240, 240, 240)
TEXT_OFF = (130, 130, 130)
STATE_COLOURS = {"running": (90, 200, 90), "paused": (40, 200, 240), "stopped": (80, 80, 235)}


@dataclass(frozen=True)
class Control:
    """One button: what it does, its two captions (off / on), and its keys."""

    action: str
    captions: tuple[str, str]
    key_hint: str
    keys: frozenset[int]


CONTROLS = (
    Control("run", ("Stop", "Start"), "s", frozenset(map(ord, "sS"))),
    Control("pause", ("Pause", "Resume"), "space", frozenset(map(ord, " pP"))),
    Control("snapshot", ("Snapshot", "Snapshot"), "c", frozenset(map(ord, "cC"))),
    Control("exit", ("Exit", "Exit"), "q", frozenset({ord("q"), ord("Q"), 27})),
)


def action_for_key(key: int) -> str | None:
    """The action of a ``waitKey`` code, or None."""
    if key == -1:
        return None
    key &= 0xFF
    return next((c.action for c in CONTROLS if key in c.keys), None)


@dataclass(frozen=True)
class Button:
    control: Control
    rect: tuple[int, int, int, int]  # x0, y0, x1, y1 in the bar

    def contains(self, x: int, y: int) -> bool:
        x0, y0, x1, y1 = self.rect
        return x0 <= x < x1 and y0 <= y < y1


class ControlBar:
    """Where the buttons are in a bar of at least ``width`` pixels, and how it looks.

    Args:
        width: the picture's width; the bar is as wide, or wider when the buttons need it.
    """

    def __init__(self, width: int) -> None:
        self.unit = max(1.0, width / 900)
        self.font_scale = 0.5 * self.unit
        self.thickness = max(1, round(self.unit))
        pad, gap = round(10 * self.unit), round(6 * self.unit)
        self.row = round(30 * self.unit)
        self.height = self.row + round(24 * self.unit)
        x = gap
        buttons = []
        for control in CONTROLS:
            text = max((self.caption(control, on) for on in (False, True)), key=self._text_width)
            w = self._text_width(text) + 2 * pad
            buttons.append(Button(control, (x, gap // 2 + 1, x + w, self.row - gap // 2)))
            x += w + gap
        self.buttons = tuple(buttons)
        self.width = max(int(width), x)

    def caption(self, control: Control, on: bool) -> str:
        return f"{control.captions[int(on)]} [{control.key_hint}]"

    def _text_width(self, text: str) -> int:
        return cv2.getTextSize(text, FONT, self.font_scale, self.thickness)[0][0]

    def hit(self, x: int, y: int) -> str | None:
        """The action of the button at (x, y) of the bar, or None."""
        return next((b.control.action for b in self.buttons if b.contains(x, y)), None)

    def draw(self, state: str, status: str) -> np.ndarray:
        """The bar as a BGR image: buttons for ``state``, then the status line."""
        bar = np.full((self.height, self.width, 3), BAR_BG, np.uint8)
        for button in self.buttons:
            action = button.control.action
            on = (action == "run" and state == "stopped") or (
                action == "pause" and state == "paused"
            )
            enabled = not (action == "pause" and state == "stopped")
            x0, y0, x1, y1 = button.rect
            cv2.rectangle(bar, (x0, y0), (x1, y1), BUTTON_BG if enabled else BUTTON_OFF, -1)
            text = self.caption(button.control, on)
            (tw, th), _ = cv2.getTextSize(text, FONT, self.font_scale, self.thickness)
            org = (x0 + (x1 - x0 - tw) // 2, y0 + (y1 - y0 + th) // 2)
            colour = TEXT if enabled else TEXT_OFF
            cv2.putText(bar, text, org, FONT, self.font_scale, colour, self.thickness, cv2.LINE_AA)
        baseline = self.height - round(8 * self.unit)
        x = round(8 * self.unit)
        dot = round(5 * self.unit)
        cv2.circle(bar, (x + dot, baseline - dot), dot, STATE_COLOURS.get(state, TEXT), -1)
        line = f"{state}  |  {status}"
        left = x + 3 * dot
        scale, line = self._fitted(line, self.width - left - round(4 * self.unit))
        cv2.putText(bar, line, (left, baseline), FONT, scale, TEXT, self.thickness, cv2.LINE_AA)
        return bar

    def _fitted(self, line: str, room: int) -> tuple[float, str]:
        """The status line's font scale and text within ``room`` pixels: smaller type first
        (down to two thirds), then the middle of the text left out."""
        scale = 0.45 * self.unit
        width = cv2.getTextSize(line, FONT, scale, self.thickness)[0][0]
        if width <= room:
            return scale, line
        scale = max(0.3 * self.unit, scale * room / width)
        width = cv2.getTextSize(line, FONT, scale, self.thickness)[0][0]
        keep = min(len(line), int(len(line) * room / max(width, 1)))
        while keep > 4:
            head = keep // 2
            short = line[:head] + ".." + line[len(line) - (keep - head) :]
            if cv2.getTextSize(short, FONT, scale, self.thickness)[0][0] <= room:
                return scale, short
            keep -= 2
        return scale, line[:4]
