"""Command-line options shared by every command that builds a pipeline (``run``, ``batch``)."""

from __future__ import annotations

import click

from .registry import DEFAULT_STAGES


class Size(click.ParamType):
    """``WxH`` in pixels, both above zero, as ``(width, height)``."""

    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        width, _, height = str(value).lower().partition("x")
        if width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
            return int(width), int(height)
        self.fail(f"{value!r} is not WxH, e.g. 1280x720", param, ctx)


SIZE = Size()

STAGE_OPTIONS = [
    click.option(
        "--detector",
        default=DEFAULT_STAGES["detector"],
        show_default=True,
        help="mediapipe (range chosen per video), mediapipe:short|full, haar, haar-fast, "
        "or a plugin's.",
    ),
    click.option("--detector-model", type=click.Path(), help="Model file for the detector."),
    click.option("--classifier", default=DEFAULT_STAGES["classifier"], show_default=True),
    click.option(
        "--model", type=click.Path(), help="Emotion model file (default: the shipped one)."
    ),
    click.option(
        "--tracker",
        default=DEFAULT_STAGES["tracker"],
        show_default=True,
        help="bytetrack, iou, none, or a plugin's.",
    ),
    click.option(
        "--smoother",
        default=DEFAULT_STAGES["smoother"],
        show_default=True,
        help="ema, vote, none, or a plugin's.",
    ),
    click.option(
        "--detect-every",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Detect on every Nth frame; the tracker carries boxes in between.",
    ),
]


def with_options(options):
    """A decorator adding every click option in ``options`` to a command, in order."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


stage_options = with_options(STAGE_OPTIONS)
