"""Errors that reach the user as one clear line."""


class FervisionError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""


class StageNotFound(FervisionError):
    """An unknown stage name; the message lists the known ones."""


class PluginError(FervisionError):
    """A plugin misbehaved while registering (for example two plugins claiming one name)."""


class StopPipeline(Exception):
    """Raised by a stage (a display window's exit key) to end the run cleanly."""
