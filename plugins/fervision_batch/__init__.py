"""fervision's batch commands: ``batch`` (many videos, local pool or Ray) and ``report``,
and the ``report`` sink (an HTML report of a run: ``fervision run --report out.html``).

``batch`` runs the usual pipeline on every video it finds and writes, per video, the
emotion CSV, a summary JSON and a timeline PNG, plus an index CSV of every input.
``report`` makes the same summary and timeline from any CSV that ``run`` wrote.
Nothing heavy (OpenCV, TensorFlow, Ray, matplotlib) is imported until a command runs.
"""

from fervision import hookimpl


@hookimpl
def register_stages(registry):
    registry.add(
        "sink",
        "report",
        f"{__name__}.report_sink:ReportSink",
        help="an HTML report (report:OUT.html): timelines, shares, thumbnails per face",
    )
    registry.add(
        "sink",
        "tables",
        f"{__name__}.tables_sink:TablesSink",
        help="per-second and per-segment tables from the run's CSV, when it ends",
    )


@hookimpl
def register_commands(cli):
    from .commands import batch, report

    cli.add_command(batch)
    cli.add_command(report)
