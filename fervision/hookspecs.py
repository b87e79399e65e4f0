"""The hooks a fervision plugin may implement.

Registration hooks run once, when plugins load; after that the core calls the
registered objects directly. Observer hooks run as a pipeline starts, per frame,
and when it finishes.
"""

import pluggy

hookspec = pluggy.HookspecMarker("fervision")
hookimpl = pluggy.HookimplMarker("fervision")


@hookspec
def register_stages(registry):
    """Register named stage factories.

    :param registry: a :class:`fervision.registry.PluginRegistrar` bound to the calling
        plugin; call ``registry.add(kind, name, factory, help=...)`` with ``kind`` one of
        ``source``, ``detector``, ``tracker``, ``classifier``, ``smoother``,
        ``annotator``, ``sink``, and ``factory`` a callable or ``"package.module:Name"``.
        The factory's keyword parameters are the stage's options; what it builds must
        have its kind's methods (:mod:`fervision.stages`).
    """


@hookspec
def register_commands(cli):
    """Add click commands to the ``fervision`` command group.

    :param cli: the root :class:`click.Group`.
    """


@hookspec
def pipeline_started(pipeline, info):
    """A pipeline opened its source and stages.

    :param pipeline: the :class:`fervision.pipeline.Pipeline`.
    :param info: the source's :class:`fervision.types.SourceInfo`.
    """


@hookspec
def frame_processed(frame):
    """A frame went through every stage (called before the sinks see it).

    :param frame: the :class:`fervision.types.Frame`.
    """


@hookspec
def pipeline_finished(summary):
    """A pipeline ended (normally, by an error, or interrupted).

    :param summary: the :class:`fervision.pipeline.Summary`.
    """
