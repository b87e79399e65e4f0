"""A pipeline described by its stages' names and options: picklable, checked and built in one
place. ``fervision run``, every ``fervision batch`` worker (local or Ray) and the Python API
build their stages from such a description through :func:`build_stage`."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import FervisionError
from .options import OptionError
from .plugins import get_registry
from .registry import DEFAULT_STAGES
from .stages import check_stage

#: The stages between a source and its sinks, in the order frames meet them.
STAGES = ("detector", "tracker", "classifier", "smoother", "annotator")
#: The kinds a spec holds options for: its stages, and the source each run names.
OPTION_KINDS = ("source", *STAGES)


def build_stage(kind: str, stage, options: dict | None = None):
    """``stage`` built from its name (``"haar"``, ``"csv:out.csv"``) with ``options``; an
    object is checked against its kind's protocol and returned as it is; None stays None."""
    if isinstance(stage, str):
        return get_registry().build(kind, stage, **(options or {}))
    if options:
        given = ", ".join(options)
        if stage is None:
            raise OptionError(f"{kind} options ({given}) given, but there is no {kind}")
        raise OptionError(f"{kind} options ({given}) need a {kind} given by name, not an object")
    if isinstance(stage, type):
        name = stage.__name__
        raise FervisionError(f"{kind} {name} is a class: give an object of it, {name}()")
    if stage is not None:
        check_stage(kind, stage, f"{kind} {type(stage).__name__}")
    return stage


def check_option_kinds(options: dict) -> None:
    """A one-line OptionError if ``options`` (by kind) names a kind that takes none here."""
    unknown = ", ".join(repr(kind) for kind in options if kind not in OPTION_KINDS)
    if unknown:
        raise OptionError(f"no options for {unknown}; options are for {', '.join(OPTION_KINDS)}")
    for kind, values in options.items():
        if not isinstance(values, dict):
            raise OptionError(f"options for {kind} must be a dict of name: value, not {values!r}")


def source_name(target: str) -> str:
    """The source that opens ``target``: a registered name (``sample``, ``webcam:1``), else
    ``auto``, which picks one for a path or URL."""
    name = target.partition(":")[0]
    named = get_registry().has("source", name) and "/" not in name and "\\" not in name
    return target if named else "auto"


def is_images(target) -> bool:
    """Whether ``target`` is numpy images in memory (one, or an iterable of them)."""
    if isinstance(target, (str, bytes, os.PathLike)) or hasattr(target, "open"):
        return False
    return isinstance(target, Iterable)  # an ndarray is one too


def open_source(target, **options):
    """Build a source from a registered name (``sample``, ``webcam:1``), a camera index
    (``0``), a path (``str`` or ``pathlib.Path``), a URL, numpy images, or a source object."""
    if target is None:
        raise FervisionError("no source given: a path, URL, camera index, name or images")
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    elif isinstance(target, int) and not isinstance(target, bool):
        target = f"webcam:{target}"
    if is_images(target):
        from .memory import ArraySource
        from .options import option_set

        signature = inspect.signature(ArraySource)  # its options: all but the images
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        accepted = option_set(signature, ArraySource.__doc__, {})
        return ArraySource(target, **accepted.convert(options, "images source"))
    if not isinstance(target, str):
        if not (hasattr(target, "open") or hasattr(target, "frames")):
            from .memory import not_a_source

            raise FervisionError(not_a_source(target))
        return build_stage("source", target, options)
    name = source_name(target)
    if name == "auto":
        return get_registry().build("source", "auto", target=target, **options)
    return get_registry().build("source", name, **options)


@dataclass(frozen=True)
class PipelineSpec:
    """Which stage of each kind a pipeline runs (a name, ``name:arg``, or None for none) and
    their options, e.g. ``{"detector": {"min_size": 60}}``, plus how often to detect.

    Example:
        >>> spec = PipelineSpec(detector="haar", options={"detector": {"min_size": 60}})
        >>> summary = Pipeline.from_spec(spec.checked(), "clip.mp4").run()
    """

    detector: str | None = DEFAULT_STAGES["detector"]
    tracker: str | None = DEFAULT_STAGES["tracker"]
    classifier: str | None = DEFAULT_STAGES["classifier"]
    smoother: str | None = DEFAULT_STAGES["smoother"]
    annotator: str | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    detect_every: int = 1

    def stage(self, kind: str):
        """The stage of ``kind`` built from its name and options (None when there is none)."""
        return build_stage(kind, getattr(self, kind), self.options.get(kind))

    def with_options(self, **given: dict) -> PipelineSpec:
        """This spec with ``given`` options (``detector={...}``) added; its own ones win."""
        kinds = dict.fromkeys([*given, *self.options])
        merged = {kind: {**given.get(kind, {}), **self.options.get(kind, {})} for kind in kinds}
        return replace(self, options={kind: values for kind, values in merged.items() if values})

    def checked(self, source: str | None = None) -> PipelineSpec:
        """This spec with every stage known and every option accepted and converted to its
        type (paths made absolute), building nothing; one-line errors otherwise. Source
        options are checked against a named ``source`` (``sample``, ``webcam:1``) when
        given; a path's source checks them when it opens."""
        registry = get_registry()
        names = {kind: getattr(self, kind) for kind in STAGES}
        for kind, name in names.items():
            if name is not None and not isinstance(name, str):
                raise FervisionError(
                    f"a PipelineSpec names its stages: {kind} is a name or None, not "
                    f"{type(name).__name__} (give stage objects to Pipeline.from_spec)"
                )
        if source is not None:
            names["source"] = source_name(source)
        entries = {k: registry.get(k, n.partition(":")[0]) for k, n in names.items() if n}
        given = self.options if self.options is not None else {}
        if not isinstance(given, dict):
            raise OptionError(f"options must be a dict by kind, not {given!r}")
        check_option_kinds(given)
        options = {}
        for kind, values in given.items():
            if kind in entries:
                options[kind] = entries[kind].convert(values)
            elif kind == "source":
                options[kind] = dict(values)  # checked when the source is opened
            else:
                given = ", ".join(values)
                raise OptionError(f"{kind} options ({given}) given, but there is no {kind}")
        every = self.detect_every
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise FervisionError(f"detect_every must be 1 or more, not {self.detect_every!r}")
        return replace(self, options=options)

    def settings(self) -> dict[str, str]:
        """Each stage with its options, as reports list them: ``haar (min_size=60)``."""
        shown = {}
        for kind in OPTION_KINDS:
            name = getattr(self, kind, None)
            values = self.options.get(kind)
            if name is None and not values:
                continue
            given = ", ".join(f"{key}={value}" for key, value in (values or {}).items())
            if name is None:  # the source, named by each run
                shown[f"{kind} options"] = given
            else:
                shown[kind] = f"{name} ({given})" if given else name
        shown["detect every"] = f"{self.detect_every} frame(s)"
        return shown
