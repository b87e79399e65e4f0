"""fervision: facial expression recognition on live and recorded video.

Heavy libraries (OpenCV, LiteRT) load only when a stage that needs
them is built, so importing fervision stays fast.
"""

from .errors import FervisionError, StageNotFound, StopPipeline
from .hookspecs import hookimpl
from .pipeline import Pipeline, Summary
from .plugins import get_registry, register_plugin, unregister_plugin
from .spec import PipelineSpec
from .types import Face, Frame, SourceInfo

__version__ = "0.1.0"
__all__ = [
    "Face",
    "FervisionError",
    "Frame",
    "Pipeline",
    "PipelineSpec",
    "SourceInfo",
    "StageNotFound",
    "StopPipeline",
    "Summary",
    "get_registry",
    "hookimpl",
    "register_plugin",
    "unregister_plugin",
]
