"""Named stage factories contributed by plugins, and building stages from specs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import PluginError, StageNotFound

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
    """One registered stage: its kind, name, factory and the plugin that gave it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    help: str = ""


class Registry:
    """All registered stages, by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], StageEntry] = {}

    def bind(self, plugin: str) -> PluginRegistrar:
        """A view of this registry that records ``plugin`` as the owner of what it adds."""
        return PluginRegistrar(self, plugin)

    def add(self, kind: str, name: str, factory: Callable[..., Any], plugin: str, help: str = ""):
        if kind not in KINDS:
            raise PluginError(f"plugin {plugin!r} registered unknown stage kind {kind!r}")
        existing = self._entries.get((kind, name))
        if existing is not None:
            raise PluginError(
                f"{kind} {name!r} is registered by two plugins: {existing.plugin!r} and {plugin!r}"
            )
        self._entries[(kind, name)] = StageEntry(kind, name, factory, plugin, help)

    def get(self, kind: str, name: str) -> StageEntry:
        try:
            return self._entries[(kind, name)]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise StageNotFound(f"unknown {kind} {name!r}; known {kind}s: {known}") from None

    def has(self, kind: str, name: str) -> bool:
        return (kind, name) in self._entries

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self._entries if k == kind)

    def entries(self, plugin: str | None = None) -> list[StageEntry]:
        return [e for e in self._entries.values() if plugin is None or e.plugin == plugin]

    def build(self, kind: str, spec: str, **options):
        """Build a stage from ``name`` or ``name:arg``; ``arg`` is the factory's first argument."""
        name, _, arg = spec.partition(":")
        entry = self.get(kind, name)
        return entry.factory(arg, **options) if arg else entry.factory(**options)


class PluginRegistrar:
    """What a plugin's ``register_stages`` hook receives."""

    def __init__(self, registry: Registry, plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    def add(self, kind: str, name: str, factory: Callable[..., Any], help: str = "") -> None:
        self._registry.add(kind, name, factory, self.plugin, help)
