"""Command-line options shared by every command that builds a pipeline (``run``, ``batch``):
the stage names, ``-O KIND.NAME=VALUE`` and their shorthands, gathered into one spec; and the
files ``run`` and ``report`` both write from a run's CSV (tables, coders' files)."""

from __future__ import annotations

import functools
import inspect
import math
import os

import click

from .registry import DEFAULT_STAGES
from .spec import OPTION_KINDS, PipelineSpec


class FiniteRange(click.FloatRange):
    """A ``click.FloatRange`` that also refuses nan and inf (which pass its comparisons)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


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


class StageOption(click.ParamType):
    """``KIND.NAME=VALUE`` as ``(kind, name, value)``; the value stays text until the stage
    it is for converts it. A sink's, ``sink.SINK.NAME=VALUE``, is ``("sink", "SINK.NAME",
    value)``."""

    name = "KIND.NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, equals, text = str(value).partition("=")
        kind, dot, name = key.strip().partition(".")
        if kind == "sink" and equals:
            sink, dot, option = name.partition(".")
            if not (sink and dot and option.isidentifier()):
                example = "e.g. sink.video.fps=25"
                self.fail(f"{value!r} is not sink.SINK.NAME=VALUE, {example}", param, ctx)
            return kind, name, text
        if not (equals and dot and name.isidentifier()):
            self.fail(f"{value!r} is not KIND.NAME=VALUE, e.g. detector.min_size=60", param, ctx)
        if kind not in OPTION_KINDS:
            kinds = ", ".join(OPTION_KINDS)
            self.fail(f"{value!r}: options are for {kinds} (and sink.SINK)", param, ctx)
        return kind, name, text


SIZE = Size()


def suffixed(*suffixes: str, folder: bool = False):
    """A click callback refusing an output path whose suffix is none of ``suffixes`` (case
    aside; ``folder``: a path ending in / or an existing folder passes too)."""

    def check(ctx, param, value):
        if value is None:
            return value
        text = os.path.expanduser(str(value))
        if folder and (text.endswith(("/", os.sep)) or os.path.isdir(text)):
            return value
        if os.path.splitext(text)[1].lower() not in suffixes:
            shown = sorted(suffixes) if len(suffixes) > 2 else suffixes
            names = " or ".join(shown if len(shown) < 3 else [", ".join(shown[:-1]), shown[-1]])
            also = " (or a folder ending in /)" if folder else ""
            raise click.BadParameter(f"{value!r} does not end in {names}{also}")
        return value

    return check


def output_file(flag: str, suffix: str, help: str, *names: str):
    """An option naming a file to write: its suffix checked, an existing folder refused."""
    path = click.Path(dir_okay=False)
    return click.option(flag, *names, type=path, callback=suffixed(suffix), help=help)


#: The study's tables, from a run's CSV (``run`` and ``report``).
TABLE_FILES = [
    output_file(
        "--segments",
        ".csv",
        "Write the per-segment table here (.csv): a row per participant and segment "
        "(the whole video without --events).",
        "segments_path",
    ),
    output_file(
        "--per-second",
        ".csv",
        "Write the per-second table here (.csv): a row per second and participant (or face).",
    ),
]

#: The coders' files, from a run's CSV (``run`` and ``report``; the coders plugin writes them).
CODER_FILES = [
    output_file("--eaf", ".eaf", "Write an ELAN file here (.eaf): a tier per participant."),
    output_file("--boris", ".boris", "Write a BORIS project here (.boris), to check the codes."),
    output_file(
        "--states", ".csv", "Write a state log here (.csv): participant, label, onset, offset."
    ),
]


#: Flags that set one stage option: shorthands for ``-O KIND.NAME=VALUE``.
SHORTHANDS = {
    "detector_model": ("detector", "model"),
    "model": ("classifier", "model"),
    "start": ("source", "start"),
    "end": ("source", "end"),
}

STAGE_OPTIONS = [
    click.option(
        "--detector",
        default=DEFAULT_STAGES["detector"],
        show_default=True,
        help="mediapipe (range chosen per video), mediapipe:short|full, haar, haar-fast, "
        "or a plugin's.",
    ),
    click.option(
        "--detector-model", type=click.Path(), help="The detector's model file (-O detector.model)."
    ),
    click.option(
        "--classifier",
        default=DEFAULT_STAGES["classifier"],
        show_default=True,
        help="keras (the shipped emotion model), none (faces only), or a plugin's.",
    ),
    click.option(
        "--model",
        type=click.Path(),
        help="Emotion model file (default: the shipped one; -O classifier.model).",
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
    click.option(
        "--start",
        metavar="TIME",
        help="Process a video file from this time on (seconds, MM:SS(.s) or HH:MM:SS(.s)); "
        "sought to, not decoded up to. Timestamps stay the file's (-O source.start).",
    ),
    click.option(
        "--end",
        metavar="TIME",
        help="Stop before this time of a video file (the same forms; -O source.end).",
    ),
    click.option(
        "--option",
        "-O",
        "stage_options",
        type=StageOption(),
        multiple=True,
        help="A stage's option, e.g. -O detector.min_size=60 -O smoother.tau=0.5 "
        "(repeatable; `fervision plugins -v` lists every stage's options).",
    ),
]


def with_options(options):
    """A decorator adding every click option in ``options`` to a command, in order."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def pipeline_spec(command):
    """Add the stage options to ``command``, which receives them as one ``spec``
    (a :class:`~fervision.spec.PipelineSpec`, not yet checked)."""

    @functools.wraps(command)
    def with_spec(*args, detector, classifier, tracker, smoother, detect_every, **kwargs):
        given: dict[str, dict] = {}
        sink_options: dict[str, dict] = {}
        for kind, name, value in kwargs.pop("stage_options"):
            if kind == "sink":  # sink.SINK.NAME: for the command's sinks of that name
                sink, _, option = name.partition(".")
                sink_options.setdefault(sink, {})[option] = value
            else:
                given.setdefault(kind, {})[name] = value
        if "sink_options" in inspect.signature(command).parameters:
            kwargs["sink_options"] = sink_options
        elif sink_options:
            raise click.BadParameter("this command takes no sink options", param_hint="-O")
        shorthands: dict[str, dict] = {}
        for flag, (kind, name) in SHORTHANDS.items():
            value = kwargs.pop(flag)
            if value is not None:
                shorthands.setdefault(kind, {})[name] = value
        if classifier == "none":  # faces and ids only, as classifier=None in Python
            classifier = None
        spec = PipelineSpec(
            detector, tracker, classifier, smoother, options=given, detect_every=detect_every
        )
        return command(*args, spec=spec.with_options(**shorthands), **kwargs)  # -O wins

    return with_options(STAGE_OPTIONS)(with_spec)
