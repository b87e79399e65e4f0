"""The ``batch`` and ``report`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fervision.cli_options import (
    CODER_FILES,
    SIZE,
    TABLE_FILES,
    pipeline_spec,
    suffixed,
    with_options,
)
from fervision.errors import FervisionError


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "--out",
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for every video's CSV, summary JSON, timeline PNG and HTML report, and index.csv.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help='local: a process pool on this machine; ray: Ray actors (pip install "fervision[ray]").',
)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    help="Videos processed at once (default: the CPU count, or the Ray cluster's).",
)
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="An existing Ray cluster (auto, HOST:PORT or ray://HOST:10001); default: "
    "start a local Ray instance.",
)
@pipeline_spec
@click.option(
    "--overwrite",
    is_flag=True,
    help="Process every video again, even those whose outputs are complete.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Try again the videos that failed in an earlier run (skipped by default).",
)
@click.option(
    "--participants",
    metavar="SPEC",
    help='Who is who in every video, by place ("a=left,b=right") or auto:N: each CSV\'s '
    "participant column, summary.csv and the per-second tables.",
)
@click.option(
    "--events",
    type=click.Path(dir_okay=False),
    help="Segments of every video (onset, offset, label[, participant]), rows of summary.csv "
    "(and in --eaf, --boris, --states).",
)
@click.option("--per-second", is_flag=True, help="Also NAME.per_second.csv for each video.")
@click.option("--eaf", is_flag=True, help="Also NAME.eaf for each video: an ELAN file.")
@click.option("--boris", is_flag=True, help="Also NAME.boris for each video: a BORIS project.")
@click.option("--states", is_flag=True, help="Also NAME.states.csv for each video: a state log.")
@click.option(
    "--include-annotated",
    is_flag=True,
    help="Also process the annotated videos fervision wrote (skipped by default, with a note).",
)
def batch(
    inputs,
    out_dir,
    engine,
    workers,
    ray_address,
    spec,
    overwrite,
    retry_failed,
    participants,
    events,
    per_second,
    include_annotated,
    **coder_files,
):
    """Process many videos: an emotion CSV, summary JSON, timeline PNG and HTML report for each.

    INPUT is a video file, a folder (searched recursively for videos) or a glob pattern
    such as 'clips/**/*.mp4'. Finished videos are skipped when the command runs again
    with the same stages and options, so an interrupted batch resumes where it stopped
    (other stages or options process them again); OUT/index.csv lists every input
    as done, skipped, failed (with the reason) or interrupted. Exits 1 if any video
    failed, 130 when interrupted. Local workers' own output (native libraries' logs) goes to
    OUT/workers.log.
    """
    from .runner import BatchInterrupted, run_batch
    from .study import study_options

    who, marked = study_options(participants, events, many=True)  # exit 2 before any work
    try:
        report = run_batch(
            inputs,
            out_dir,
            spec,
            engine=engine,
            workers=workers,
            ray_address=ray_address,
            overwrite=overwrite,
            retry_failed=retry_failed,
            participants=who.text if who else "",
            coders=[name for name, asked in coder_files.items() if asked],
            events=events,
            include_annotated=include_annotated,
        )
    except BatchInterrupted as stopped:  # what was kept is said; its tables, then exit 130
        _study_tables(stopped.report, who, marked, per_second)
        raise click.exceptions.Exit(130) from None
    counts = report.counts
    line = (
        f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed "
        f"in {report.seconds:.1f} s"
    )
    if counts["done"]:
        line += (
            f" ({report.workers} {engine} worker{'s' if report.workers != 1 else ''}: "
            f"{counts['done'] / report.seconds:.2f} videos/s, "
            f"{report.frames / report.seconds:.1f} frames/s)"
        )
    click.echo(line)
    click.echo(f"index: {report.index}")
    _study_tables(report, who, marked, per_second)
    failures = report.failures()
    if failures:
        for row in failures:
            click.echo(f"failed: {row['input']}: {row['reason']}", err=True)
        raise FervisionError(
            f"{len(failures)} of {len(report.rows)} videos failed; see {report.index}"
        )


def _study_tables(report, who, events, per_second: bool) -> None:
    """summary.csv over every finished video (and each one's per-second table), from their CSVs
    (whose participant column the workers filled)."""
    from .study import PER_SECOND, SUMMARY_NAME, write_per_second, write_study
    from .tables import Run

    runs = []
    for row in report.rows:
        if row["status"] in ("done", "skipped") and row["csv"]:
            name = Path(row["csv"]).name.removesuffix(".emotions.csv")
            run = Run(row["csv"], listed=who.names if who else ())
            runs.append((name, run))
            if per_second:
                write_per_second(report.index.parent / f"{name}{PER_SECOND}", run)
    if runs:
        write_study(report.index.parent / SUMMARY_NAME, runs, events)
        click.echo(f"summary table: {report.index.parent / SUMMARY_NAME}")


@click.command()
@click.argument(
    "csv_paths", nargs=-1, required=True, metavar="CSV...", type=click.Path(dir_okay=False)
)
@click.option(
    "--out",
    "--output",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for the summary JSON and timeline PNG (default: the CSV's).",
)
@click.option(
    "--html",
    is_flag=True,
    help="Also an HTML report (CLIP.report.html): every track's timeline and emotion shares.",
)
@click.option(
    "--participants",
    metavar="SPEC",
    help='Re-summarise per participant: "a=left,b=right" (needs --size), "alice=1+4,bob=2" '
    "or auto:N (by place only: the CSV keeps no pictures). Default: the CSV's column.",
)
@click.option("--size", type=SIZE, metavar="WxH", help="The video's picture size, for places.")
@click.option(
    "--events",
    type=click.Path(dir_okay=False),
    help="Segments: a CSV of onset, offset, label[, participant]; their table is printed.",
)
@with_options(TABLE_FILES)
@click.option(
    "--summary",
    "study_path",
    type=click.Path(),
    callback=suffixed(".csv"),
    help="Write the study table over every CSV given: a row per video, participant, segment.",
)
@with_options(CODER_FILES)
@click.option(
    "--media",
    type=click.Path(exists=True, dir_okay=False),
    help="The video the CSV is of, linked in --eaf and --boris (BORIS needs it).",
)
def report(csv_paths, out_dir, html, participants, size, events, segments_path, per_second,
           study_path, **coder_files):  # fmt: skip
    """Summary JSON and emotion timeline PNG from each emotion CSV written by ``run``
    (or ``batch``), and, on request, the tables per participant and segment.

    For CLIP.csv (or CLIP.emotions.csv) it writes CLIP.summary.json and
    CLIP.timeline.png: per face track and for the whole video, the first and last time
    seen, seconds visible, share of time in each emotion, the dominant emotion and the
    number of label changes; the plot shows each emotion's smoothed probability over
    time for the faces seen longest. A CSV of a run over photos gets CLIP.photos.png
    instead: each photo's faces by emotion (the summary lists every photo's labels).
    """
    from fervision.outputs import check_distinct, check_writable, make_folders

    from .study import open_run, study_options, write_per_second, write_study
    from .tables import format_segments, segment_columns, segments, write_table

    who, marked = study_options(participants, events, many=len(csv_paths) > 1)
    if (per_second or segments_path) and len(csv_paths) > 1:
        raise click.BadParameter("takes one CSV", param_hint="--per-second/--segments")
    outputs = [
        ("--per-second", per_second),
        ("--segments", segments_path),
        ("--summary", study_path),
    ]
    check_distinct(outputs + [("CSV", p) for p in csv_paths])
    make_folders(outputs + [(f"--{n}", p) for n, p in coder_files.items() if n != "media"])
    for flag, path in outputs:
        if path:
            check_writable(path, flag.removeprefix("--"))
    runs = [(Path(p).name.removesuffix(".csv").removesuffix(".emotions"), open_run(p, who, size))
            for p in csv_paths]  # fmt: skip
    coders = _coder_sinks(csv_paths, events, **coder_files)
    for csv_path, (_, run) in zip(csv_paths, runs):
        _report_one(csv_path, out_dir, html, run, marked)
    for name, run in runs if (who or marked or segments_path) else []:
        rows = segments(run, marked)
        if len(runs) > 1:
            click.echo(f"{name}:")
        for line in format_segments(rows, run.labels):
            click.echo(line)
        if segments_path:
            write_table(segments_path, rows, segment_columns(run.labels))
            click.echo(f"segments: {segments_path}")
    if per_second:
        write_per_second(Path(per_second), runs[0][1])
        click.echo(f"per second: {per_second}")
    if study_path:
        write_study(Path(study_path), runs, marked)
        click.echo(f"summary table: {study_path}")
    for name, sink in coders:
        sink.close()
        click.echo(f"{name}: {sink.path}")


def _coder_sinks(csv_paths, events, media=None, **paths) -> list:
    """The sinks (by name: the coders plugin's) that write --eaf, --boris and --states from
    the finished CSV."""
    from fervision import get_registry
    from fervision.outputs import check_distinct

    asked = {name: path for name, path in paths.items() if path}
    if asked and len(csv_paths) > 1:
        raise click.BadParameter("takes one CSV", param_hint="--eaf/--boris/--states")
    check_distinct([(f"--{n}", p) for n, p in asked.items()] + [("CSV", csv_paths[0])])
    given = {"csv": csv_paths[0], "from_csv": True, "media": media or "", "events": events or ""}
    return [(n, get_registry().build("sink", n, path=p, **given)) for n, p in asked.items()]


def _report_one(csv_path, out_dir, html, run=None, events=()):
    """The summary JSON, timeline PNG (and HTML report: ``run``'s participants, ``events``'
    segments) of one CSV."""
    from fervision.outputs import prepare_folder
    from fervision.pipeline import counted

    from .outputs import PHOTOS_CHART, REPORT, SUMMARY, TIMELINE, write_atomic
    from .report import UNCLASSIFIED, read_emotion_csv, report_of, summary_json

    source = Path(csv_path)
    out = prepare_folder(out_dir) if out_dir else source.absolute().parent
    stem = source.name.removesuffix(".csv").removesuffix(".emotions")
    table = read_emotion_csv(source)
    photos = table.frame_file is not None
    json_path = out / f"{stem}{SUMMARY}"
    png_path = out / f"{stem}{PHOTOS_CHART if photos else TIMELINE}"
    html_path = out / f"{stem}{REPORT}"
    _keep_others_outputs([json_path, png_path] + ([html_path] if html else []), json_path)
    summary, png = report_of(table, source, title=stem)
    summary = {"source": {"csv": str(source.absolute())}, **summary}
    write_atomic(png_path, png)
    write_atomic(json_path, summary_json(summary))
    if html:
        page = _csv_page(table, summary, stem, source, run, events)
        write_atomic(html_path, page.encode("utf-8"))
    if photos:
        click.echo(
            f"{counted(summary['photos'], 'photo')}, {counted(summary['faces'], 'face')}, "
            f"mostly {summary['dominant_emotion'] or 'nothing'}"
        )
    else:
        video = summary["video"]
        click.echo(
            f"{counted(summary['frames'], 'frame')}, {counted(video['tracks'], 'face track')}, "
            f"{video['seconds_visible']:.1f} of {summary['duration_s']:.1f} s with a face, "
            + (f"mostly {video['dominant_emotion'] or 'nothing'}" if table.labels else UNCLASSIFIED)
        )
    click.echo(f"summary: {json_path}")
    click.echo(f"{'chart' if photos else 'timeline'}: {png_path}")
    if html:
        click.echo(f"report: {html_path}")


def _csv_page(table, summary: dict, title: str, source: Path, run=None, events=()) -> str:
    """The HTML report of an emotion CSV (no pictures: the CSV has none)."""
    from .html_report import Photo, render_html, render_photos_html
    from .report_study import study_view

    settings = {"csv": str(source)}
    if table.frame_file is None:
        study = study_view(table, run, events) if run is not None else None
        return render_html(table, title=title, settings=settings, study=study)
    photos = [Photo(p["file"], None, p["labels"]) for p in summary["per_photo"]]
    return render_photos_html(photos, table.labels, title=title, settings=settings)


def _keep_others_outputs(targets: list[Path], summary_path: Path) -> None:
    """Refuse to replace files ``batch`` or ``run --report`` wrote (a batch's summary holds
    how the video was processed, which its reruns rely on); ``report``'s own it may."""
    existing = [path for path in targets if path.exists()]
    if not existing:
        return
    try:
        ours = "processing" not in json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise FervisionError(
            f"{existing[0]} is already there (written by fervision batch or run); "
            "give --out FOLDER to write this report elsewhere"
        )
