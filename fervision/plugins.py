"""Loading plugins from the ``fervision`` entry-point group, once and lazily."""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass, replace

import pluggy

from . import hookspecs
from .errors import PluginError, StageClash, one_line
from .registry import Registry

ENTRY_POINT_GROUP = "fervision"


@dataclass(frozen=True)
class PluginInfo:
    """A plugin: its name, where it came from, its version, and why it failed (if it did)."""

    name: str
    module: str
    version: str
    error: str = ""  # one line: the plugin failed to import or to register
    builtin: bool = False  # shipped with fervision: its stage names come first


_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
_infos: dict[str, PluginInfo] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, loading entry points on first use.

    ``FERVISION_LOAD_PLUGINS`` (comma-separated names) limits which entry points load.
    A plugin that fails to import is left out and remembered with its error.
    """
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager("fervision")
        pm.add_hookspecs(hookspecs)
        allow = os.environ.get("FERVISION_LOAD_PLUGINS")
        allowed = {n.strip() for n in allow.split(",")} if allow else None
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        installed = sorted({ep.name for ep in entry_points})
        unknown = sorted((allowed or set()) - set(installed) - {""})
        if unknown:
            logging.getLogger("fervision").warning(
                "warning: FERVISION_LOAD_PLUGINS names %s, not installed (installed: %s)",
                ", ".join(unknown),
                ", ".join(installed),
            )
        for ep in entry_points:
            if allowed is not None and ep.name not in allowed:
                continue
            if pm.has_plugin(ep.name):
                continue
            version = ep.dist.version if ep.dist is not None else "?"
            builtin = ep.dist is not None and ep.dist.name == "fervision"
            _infos[ep.name] = PluginInfo(ep.name, ep.value, version, builtin=builtin)
            try:  # a broken third-party plugin must not kill the CLI
                _register_checked(pm, ep.load(), ep.name)
            except Exception as exc:
                mark_failed(ep.name, exc)
        _pm = pm
    return _pm


def _register_checked(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin``, or leave it out with a one-line PluginError: a hook that
    fervision does not have (a misspelt name) or whose arguments differ from its spec."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        if pm.is_registered(plugin):  # registered up to the hook that failed
            pm.unregister(plugin)
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise PluginError(f"{lines[0]}: {lines[-1]}" if len(lines) > 1 else lines[0]) from None
    unknown = [
        caller.name
        for caller in pm.get_hookcallers(plugin) or []
        if not caller.has_spec()
        and any(i.plugin is plugin and not i.optionalhook for i in caller.get_hookimpls())
    ]
    if unknown:
        pm.unregister(plugin)
        hooks = sorted(n for n in dir(pm.hook) if not n.startswith("_"))
        known = ", ".join(n for n in hooks if getattr(pm.hook, n).has_spec())
        raise PluginError(
            f"unknown hook {', '.join(map(repr, unknown))}; fervision's hooks: {known}"
        )


def register_plugin(plugin: object, name: str, version: str = "local") -> None:
    """Register an in-process plugin: ``plugin`` a module or object with ``@hookimpl``
    functions, ``name`` how ``fervision plugins`` lists it, ``version`` beside it.
    Raises PluginError for a name already taken or a plugin with no hooks."""
    pm = get_plugin_manager()
    if pm.has_plugin(name) or pm.is_blocked(name):
        raise PluginError(
            f"a plugin named {name!r} is already registered: give another name, or "
            f"unregister_plugin({name!r}) first"
        )
    if pm.is_registered(plugin):
        raise PluginError(
            f"that plugin is already registered, as {pm.get_name(plugin)!r} (not again as {name!r})"
        )
    _register_checked(pm, plugin, name)
    _infos[name] = PluginInfo(name, getattr(plugin, "__name__", type(plugin).__name__), version)
    reset_registry()


def unregister_plugin(name: str) -> None:
    """Remove the plugin registered by :func:`register_plugin` as ``name``. Raises
    PluginError when no plugin has that name."""
    pm = get_plugin_manager()
    if not pm.has_plugin(name):
        raise PluginError(f"no plugin named {name!r} is registered")
    pm.unregister(name=name)
    _infos.pop(name, None)
    reset_registry()


def mark_failed(name: str, exc: BaseException) -> None:
    """Remember that plugin ``name`` failed (``fervision plugins`` shows why)."""
    info = _infos.get(name) or PluginInfo(name, "?", "?")
    _infos[name] = replace(info, error=one_line(exc))
    if _registry is not None:  # built already: its list of failed plugins too
        _registry.failed[name] = _infos[name].error


def reset_registry() -> None:
    """Forget the built registry so the next :func:`get_registry` asks plugins again."""
    global _registry
    _registry = None


def get_registry() -> Registry:
    """Every stage registered by the loaded plugins, each attributed to its plugin.

    A plugin whose ``register_stages`` raises, or claims a name another plugin has
    already registered, adds nothing and is remembered as failed (a clash is also
    warned about); the others are unaffected, so every command still works. Built-in
    plugins register first, then the others by name: a built-in stage name is never lost.
    """
    global _registry
    if _registry is None:
        pm = get_plugin_manager()
        registry = Registry()
        for impl in in_registration_order(pm.hook.register_stages.get_hookimpls()):
            try:
                call_hook(impl, registry=registry.bind(impl.plugin_name))
            except Exception as exc:
                registry.remove(impl.plugin_name)
                mark_failed(impl.plugin_name, exc)
                if isinstance(exc, StageClash):
                    logging.getLogger("fervision").warning(
                        "warning: plugin %r not loaded: %s", impl.plugin_name, exc
                    )
        registry.failed = {i.name: i.error for i in _infos.values() if i.error}
        _registry = registry
    return _registry


def call_hook(impl, **kwargs):
    """Call one plugin's hook with the arguments it declares: as pluggy allows, a hook may
    take fewer than its spec gives (``def pipeline_finished(summary)``)."""
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


def in_registration_order(impls) -> list:
    """Hook implementations, built-in plugins' first, then the others by name."""
    return sorted(impls, key=_registration_order)


def _registration_order(impl) -> tuple[bool, str]:
    info = _infos.get(impl.plugin_name)
    return (not (info is not None and info.builtin), impl.plugin_name)


def plugin_infos() -> list[PluginInfo]:
    """Every loaded plugin, sorted by name."""
    get_plugin_manager()
    return sorted(_infos.values(), key=lambda p: p.name)


def plugin_hooks(name: str) -> list[str]:
    """Names of the hooks a plugin implements."""
    pm = get_plugin_manager()
    plugin = pm.get_plugin(name)
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
