"""fervision: facial expression recognition on live and recorded video.

Heavy libraries (OpenCV, LiteRT) load only when a stage that needs
them is built, and this package's names only when first used, so importing fervision
(and starting the command line, which handles Ctrl-C from its first instant) stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Each public name and the module it comes from, imported on first use.
_NAMES = {
    "Analyzer": "analyzer",
    "Face": "types",
    "FervisionError": "errors",
    "Frame": "types",
    "Pipeline": "pipeline",
    "PipelineSpec": "spec",
    "PluginError": "errors",
    "SinkFailed": "errors",
    "SinkNotClosed": "errors",
    "SourceInfo": "types",
    "StageFailed": "errors",
    "StageNotFound": "errors",
    "StopPipeline": "errors",
    "Summary": "pipeline",
    "get_registry": "plugins",
    "hookimpl": "hookspecs",
    "register_plugin": "plugins",
    "unregister_plugin": "plugins",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'fervision' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])
