"""Named stage factories contributed by plugins, with their options, and building stages."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import FervisionError, PluginError, StageClash, StageNotFound, one_line
from .lazy import LazyFactory, describe
from .options import OptionError, OptionSet, option_set
from .stages import check_stage

KINDS = ("source", "detector", "tracker", "classifier", "smoother", "annotator", "sink")
#: The stages a pipeline uses when none is named (the built-in plugins register them).
DEFAULT_STAGES = {
    "detector": "mediapipe",
    "tracker": "bytetrack",
    "classifier": "keras",
    "smoother": "ema",
}


@dataclass(frozen=True)
class StageEntry:
    """One registered stage: its kind, name, factory and the plugin that gave it.

    Its options are the factory's keyword parameters; ``defaults`` replaces some of
    their defaults (a preset such as ``haar-fast``).
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    help: str = ""
    defaults: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        """How messages name it: ``plugin 'basic' sink 'csv'``."""
        return f"plugin {self.plugin!r} {self.kind} {self.name!r}"

    def options(self) -> OptionSet:
        """What the stage accepts, read from its factory (without importing a lazy one)."""
        try:
            signature, doc = describe(self.factory)
        except Exception as exc:  # a lazy factory whose module is missing or broken
            raise PluginError(f"{self.title} cannot be loaded: {one_line(exc)}") from exc
        return option_set(signature, doc, self.defaults)

    def _convert_arg(self, arg):
        """``arg`` as the first parameter's number or bool annotation; text otherwise."""
        first = self.options().options[:1]
        if not (arg and first and first[0].type):  # no annotation: as given (webcam:/dev/...)
            return arg
        if not set(first[0].types()) & {"bool", "int", "float"}:
            return arg
        try:
            return first[0].convert(arg)
        except ValueError as exc:
            raise OptionError(
                f"{self.kind} {self.name!r} takes {first[0].describe()} after the colon: {exc}"
            ) from None

    def convert(self, options: dict) -> dict:
        """``options`` checked and converted to their types; a one-line OptionError if not."""
        return self.options().convert(options, f"{self.kind} {self.name!r}")

    def build(self, arg: str = "", **options):
        """The stage, with ``arg`` (``name:arg``) as the factory's first argument (a number
        or a bool when that is what its annotation asks for)."""
        kwargs = {**self.defaults, **self.convert(options)}
        arg = self._convert_arg(arg)
        try:
            stage = self.factory(arg, **kwargs) if arg else self.factory(**kwargs)
        except (OptionError, StageNotFound) as exc:  # a value refused: say which stage's
            if str(exc).startswith(f"{self.kind} "):
                raise
            raise type(exc)(f"{self.kind} {self.name!r}: {exc}") from exc
        except FervisionError:
            raise
        except Exception as exc:  # a plugin's own error: say whose
            raise PluginError(f"{self.title} could not be built: {one_line(exc)}") from exc
        check_stage(self.kind, stage, self.title)
        _remember_title(stage, self.title)
        return stage


#: id of each stage the registry built: (a weak reference to it, its title)
_titles: dict[int, tuple[weakref.ref, str]] = {}


def _remember_title(stage, title: str) -> None:
    """Note ``stage``'s title for :func:`built_title` while it lives."""
    key = id(stage)
    try:
        ref = weakref.ref(stage, lambda _: _titles.pop(key, None))
    except TypeError:  # no weak references to it: messages name it by its class
        return
    _titles[key] = (ref, title)


def built_title(stage) -> str | None:
    """The title of a stage the registry built (``plugin 'jsonl' sink 'jsonl'``), else None."""
    held = _titles.get(id(stage))
    return held[1] if held is not None and held[0]() is stage else None


class Registry:
    """All registered stages, by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], StageEntry] = {}
        self.failed: dict[str, str] = {}  # plugin -> why it could not load

    def bind(self, plugin: str) -> PluginRegistrar:
        """A view of this registry that records ``plugin`` as the owner of what it adds."""
        return PluginRegistrar(self, plugin)

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        plugin: str,
        help: str = "",
        defaults: dict | None = None,
    ):
        if kind not in KINDS:
            raise PluginError(f"plugin {plugin!r} registered unknown stage kind {kind!r}")
        existing = self._entries.get((kind, name))
        if existing is not None:
            raise StageClash(
                f"{kind} {name!r} is registered by two plugins: {existing.plugin!r} and {plugin!r}"
            )
        if isinstance(factory, str):
            factory = LazyFactory(factory)
        self._entries[(kind, name)] = StageEntry(kind, name, factory, plugin, help, defaults or {})

    def remove(self, plugin: str) -> None:
        """Forget every stage ``plugin`` added (it failed part way through registering)."""
        self._entries = {k: e for k, e in self._entries.items() if e.plugin != plugin}

    def get(self, kind: str, name: str) -> StageEntry:
        try:
            return self._entries[(kind, name)]
        except KeyError:
            known = ", ".join(self.names(kind))
            message = f"unknown {kind} {name!r}; " + (
                f"known {kind}s: {known}" if known else f"no {kind} is registered"
            )
            if self.failed:
                message += f"; plugins that failed to load: {', '.join(sorted(self.failed))}"
            limit = os.environ.get("FERVISION_LOAD_PLUGINS")
            if limit:
                message += f"; FERVISION_LOAD_PLUGINS={limit} leaves the other plugins out"
            raise StageNotFound(message) from None

    def has(self, kind: str, name: str) -> bool:
        return (kind, name) in self._entries

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self._entries if k == kind)

    def entries(self, plugin: str | None = None) -> list[StageEntry]:
        return [e for e in self._entries.values() if plugin is None or e.plugin == plugin]

    def build(self, kind: str, spec: str, **options):
        """Build a stage from ``name`` or ``name:arg``; ``arg`` is the factory's first argument.

        ``options`` are checked against the factory's parameters and converted to their
        types; the stage is checked against its kind's protocol.
        """
        name, _, arg = spec.partition(":")
        return self.get(kind, name).build(arg, **options)


class PluginRegistrar:
    """What a plugin's ``register_stages`` hook receives."""

    def __init__(self, registry: Registry, plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        help: str = "",
        defaults: dict | None = None,
    ) -> None:
        """Register ``factory`` (a callable, or ``"package.module:Name"`` imported when first
        built) as the ``kind`` stage ``name``; ``defaults`` replace some of its defaults."""
        self._registry.add(kind, name, factory, self.plugin, help, defaults)
