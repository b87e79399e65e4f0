"""Errors that reach the user as one clear line."""


class FervisionError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""


class StageNotFound(FervisionError):
    """An unknown stage name; the message lists the known ones."""


class PluginError(FervisionError):
    """A plugin misbehaved: two plugins claiming one name, a stage missing a method."""


class StageClash(PluginError):
    """Two plugins registering one stage name: the later one is not loaded."""


class StageFailed(FervisionError):
    """A stage raised mid-run, or gave what its kind's contract does not allow."""


class SinkFailed(FervisionError):
    """A sink raised while writing; the run stopped with every other output closed."""


class SinkNotClosed(FervisionError):
    """A sink raised while closing: its output may be incomplete (the others are whole)."""

    def __init__(self, message: str, sink=None):
        super().__init__(message)
        self.sink = sink


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM after which the command already said what it kept."""


class StopPipeline(Exception):
    """Raised by a stage (a display window's exit key) to end the run cleanly."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: a FervisionError's message, else ``Type: first line``."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, FervisionError):
        return first or type(exc).__name__
    name = type(exc).__name__
    if name == "error":  # cv2.error, struct.error: "error: error: ..." says nothing
        name = f"{type(exc).__module__}.error"
    return f"{name}: {first}" if first else name
