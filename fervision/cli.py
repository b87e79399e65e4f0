"""The ``fervision`` command line: ``run``, ``plugins``, and commands that plugins add."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
from contextlib import closing, suppress
from dataclasses import replace

import click

from .cli_options import (
    CODER_FILES,
    SIZE,
    TABLE_FILES,
    FiniteRange,
    pipeline_spec,
    suffixed,
    with_options,
)
from .errors import (
    FervisionError,
    PluginError,
    SinkFailed,
    SinkNotClosed,
    StageNotFound,
    one_line,
)
from .interrupts import forget_interrupts, interrupt_seen, raise_interrupt
from .options import OptionError
from .outputs import check_distinct, make_folders
from .plugins import (
    call_hook,
    get_plugin_manager,
    get_registry,
    in_registration_order,
    mark_failed,
    plugin_hooks,
    plugin_infos,
)
from .registry import KINDS, StageEntry

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a Unix tool killed by it
#: ``--output`` suffixes written as images (by the ``image`` sink); others are videos.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
#: ``--output`` suffixes the ``video`` sink writes.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi"})

log = logging.getLogger("fervision")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fervision")
def cli():
    """Facial expression recognition on live and recorded video."""


@cli.command()
@click.option(
    "--verbose", "-v", is_flag=True, help="List each stage with its options: type, default, help."
)
def plugins(verbose):
    """List every plugin with its version and what it registers (or why it failed to load)."""
    registry = get_registry()
    for info in plugin_infos():
        click.echo(f"{info.name} {info.version}  ({info.module})")
        if info.error:
            click.echo(f"    failed to load: {info.error}")
            continue
        entries = registry.entries(info.name)
        if verbose:
            entries.sort(key=lambda e: (KINDS.index(e.kind), e.name))
            for entry in entries:
                click.echo("\n".join(_stage_lines(entry)))
        for kind in [] if verbose else sorted({e.kind for e in entries}):
            names = ", ".join(sorted(e.name for e in entries if e.kind == kind))
            click.echo(f"    {kind}s: {names}")
        commands = [c for c in _plugin_commands().get(info.name, [])]
        if commands:
            click.echo(f"    commands: {', '.join(commands)}")
        hooks = plugin_hooks(info.name)
        click.echo(
            f"    hooks: {', '.join(hooks)}" if hooks else "    hooks: none (mark them @hookimpl)"
        )


def _stage_lines(entry: StageEntry) -> list[str]:
    """A stage and its help, then one line per option: ``name: type = default  help``."""
    lines = [f"    {entry.kind} {entry.name}" + (f": {entry.help}" if entry.help else "")]
    try:
        accepted = entry.options()
    except PluginError as exc:  # its module is missing: list the rest all the same
        return lines + [f"        ({str(exc).removeprefix(entry.title + ' ')})"]
    for option in accepted.options:
        lines.append(f"        {option.describe()}" + (f"  {option.help}" if option.help else ""))
        if problem := option.text_problem() or option.default_problem():
            lines.append(f"          (a mistake in the stage: {problem})")
    if accepted.takes_any:
        lines.append("        (other options are passed on)")
    return lines


def _plugin_commands() -> dict[str, list[str]]:
    """Which commands each plugin added (recorded while the CLI was built)."""
    return getattr(cli, "plugin_commands", {})


def _output_kind(path: str) -> str:
    """``images`` for a folder (existing or ending in /), ``image`` for an image, else ``video``."""
    expanded = os.path.expanduser(path)
    if expanded.endswith(("/", os.sep)) or os.path.isdir(expanded):
        return "images"
    return "image" if os.path.splitext(expanded)[1].lower() in IMAGE_SUFFIXES else "video"


def _sink(spec: str, given: dict | None = None, **options):
    """Build a sink, passing only the options that were given (``given``: its ``-O
    sink.NAME.OPTION`` values, which win)."""
    options = {k: v for k, v in options.items() if v is not None}
    return get_registry().build("sink", spec, **{**options, **(given or {})})


def _say_window_only(options: list[str]) -> None:
    """A note for each window option given on the command line to a run without one."""
    ctx = click.get_current_context()
    for name in options:
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            flag = f"--{name}" if ctx.params[name] else f"--no-{name}"
            click.echo(f"note: {flag} applies to the window (--display); ignored", err=True)


def _window(
    asked: bool | None, pace: bool, timeline: bool, files: list, sinks, given: dict
) -> object:
    """The display sink (snapshots beside the first output file); a live source's default
    window, where none can open, is left out with a note when other outputs are written
    (``--display`` asked for it: an error)."""
    files = [p for p in files if p]
    snapshots = os.path.dirname(os.path.abspath(files[0])) if files else None
    try:
        return _sink("display", given, pace=pace, snapshots=snapshots, timeline=timeline or None)
    except FervisionError as exc:
        if asked or not (files or sinks):
            raise
        reason = str(exc).partition("; run without a window")[0]  # its advice is taken
        click.echo(f"running without a window: {reason}", err=True)
        return None


@cli.command()
@click.argument("source_arg", metavar="[SOURCE]", required=False)
@click.option(
    "--source",
    "--input",
    "-s",
    help="The same as SOURCE: a video file, an image, a folder of images, webcam, webcam:N, "
    "an rtsp:// / http:// stream, or sample (the built-in demo face).",
)
@pipeline_spec
@click.option(
    "--csv", "csv_path", type=click.Path(), callback=suffixed(".csv"),
    help="Write an emotion CSV log here (.csv).",
)  # fmt: skip
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    callback=suffixed(*VIDEO_SUFFIXES, *IMAGE_SUFFIXES, folder=True),
    help="Write the annotated video (.mp4, .avi...), image (.jpg, .png: a photo) or "
    "images (a folder, FOLDER/: one a frame) here.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(),
    callback=suffixed(".html", ".htm"),
    help="Write an HTML report here (.html): per face a timeline, emotion shares and thumbnails.",
)
@with_options(CODER_FILES)
@click.option(
    "--display/--no-display",
    default=None,
    help="Show a window (default: on for webcams and streams, off for files).",
)
@click.option(
    "--pace/--no-pace",
    default=True,
    help="In the window, play a video file at its own frame rate (default) or as fast as "
    "it is processed.",
)
@click.option(
    "--timeline", is_flag=True, help="In the window, each face's emotion over the last 10 s."
)
@click.option("--bars/--no-bars", default=False, help="Per-class probability bars in the overlay.")
@click.option(
    "--annotator",
    metavar="NAME",
    help="What draws the annotated frames (default: overlay, when a video, image, report "
    "or window is asked for).",
)
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after N frames.")
@click.option(
    "--fps",
    type=FiniteRange(min=0, min_open=True, max=1000),
    help="Frame rate: of image folders (timestamps), asked of a webcam; for a video file, "
    "replaces the one it declares (timestamps, output video).",
)
@click.option(
    "--camera-size", type=SIZE, metavar="WxH", help="Resolution to ask of a webcam, e.g. 1280x720."
)
@click.option(
    "--reconnect",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="A stream or camera that drops: try up to N times to reopen it (backoff 0.5 s "
    "doubling) and go on once it is back, frames missed counted; after N failed tries the "
    "run ends with an error. Default: end the run at the first drop.",
)
@click.option(
    "--sink",
    "sinks",
    multiple=True,
    metavar="NAME[:ARG]",
    help="Extra sink, e.g. jsonl:out.jsonl (repeatable).",
)
@click.option(
    "--participants",
    callback=lambda ctx, param, value: _participants(value),
    metavar="SPEC",
    help="Who is who, in the CSV's participant column: by place \"interviewer=left,"
    'guest=right" (left, right, top, bottom, top-left..., or x0:y0:x1:y1 fractions), by '
    'face id "alice=1+4,bob=2", or "auto:N" (N people, grouped when the run ends).',
)
@click.option(
    "--events",
    type=click.Path(dir_okay=False),
    help="Segments to tabulate: a CSV of onset, offset (s or HH:MM:SS), label[, participant]; "
    "the per-segment table is printed.",
)
@with_options(TABLE_FILES)
@click.option(
    "--keep-going",
    is_flag=True,
    help="When one output fails (a full disk, a plugin's error), let the others go on "
    "(default: stop the run, every other output closed and valid).",
)
def run(
    source_arg,
    source,
    spec,
    csv_path,
    output,
    report_path,
    eaf,
    boris,
    states,
    display,
    pace,
    timeline,
    bars,
    annotator,
    max_frames,
    fps,
    camera_size,
    reconnect,
    sinks,
    participants,
    events,
    segments_path,
    per_second,
    keep_going,
    sink_options,
):
    """Run the pipeline on SOURCE (a video, image, folder, stream, webcam or sample); write
    CSV, video, report, or show a window. A missing output folder is created."""
    source = _the_source(source_arg, source)
    coder_files = {"eaf": eaf, "boris": boris, "states": states}  # the coders' tools' files
    tables = {"per_second": per_second, "segments": segments_path, "events": events}
    for flag, value in [("--participants", participants), *tables.items()]:
        if value and not csv_path:
            name = flag if flag.startswith("--") else f"--{flag.replace('_', '-')}"
            raise click.BadParameter("needs --csv (made from the CSV)", param_hint=name)
    from tqdm import tqdm

    from .pipeline import Pipeline, open_source, sink_path

    source_options = {"fps": fps} if fps else {}
    if camera_size:
        if not source.startswith("webcam"):
            raise click.BadParameter("applies to webcam sources", param_hint="--camera-size")
        source_options.update(width=camera_size[0], height=camera_size[1])
    spec = spec.with_options(source=source_options)
    src = open_source(source, **spec.options.get("source", {}))
    if reconnect:
        if not (getattr(src, "live", False) and hasattr(src, "reconnect")):
            raise click.BadParameter("applies to streams and cameras", param_hint="--reconnect")
        src.reconnect = reconnect
    window = None
    if display or (display is None and getattr(src, "live", False)):
        files = [output, csv_path, report_path]
        window = _window(display, pace, timeline, files, sinks, sink_options.get("display", {}))
    display = window is not None
    if not display:
        _say_window_only(["timeline", "pace"])
    output_kind = _output_kind(output) if output else None
    output_sink = "video" if output_kind == "video" else "image"  # a folder too
    if output or display or report_path:
        annotator = annotator or "overlay"
    if annotator == "overlay":
        overlay = {"bars": True} if bars else {}
        overlay.update({"show_fps": False} if display else {})  # the window's status shows it
        spec = spec.with_options(annotator=overlay)
    if annotator:
        spec = replace(spec, annotator=annotator)
    spec = spec.checked()  # every -O known and converted before an output or model is made
    named = {n.partition(":")[0] for n in sinks}
    uses = [("display", display), ("csv", csv_path), ("report", report_path)]
    uses += list(coder_files.items())
    for name, used in uses + [("tables", any(tables.values()))]:
        if used:
            named.add(name)
    if output:
        named.add(output_sink)
    unused = sorted(set(sink_options) - named)
    if unused:
        listed = ", ".join(sorted(named)) or "none"
        raise click.BadParameter(
            f"no {unused[0]} sink in this run for sink.{unused[0]} options (its sinks: {listed})",
            param_hint="-O",
        )
    extra_sinks = [_sink(name, sink_options.get(name.partition(":")[0])) for name in sinks]
    paths = [("--csv", csv_path), ("--output", output), ("--report", report_path)]
    paths += [("--per-second", per_second), ("--segments", segments_path)]
    paths += [(f"--{name}", path) for name, path in coder_files.items()]
    check_distinct(paths + [(f"--sink {n}", sink_path(s)) for n, s in zip(sinks, extra_sinks)])
    make_folders(paths)  # as batch and report do
    built_sinks = []
    if csv_path:
        who = {"participants": participants} if participants else {}
        built_sinks.append(_sink("csv", sink_options.get("csv"), path=csv_path, **who))
    if any(tables.values()):  # after the CSV sink: made from its file once it is closed
        given = {k: v for k, v in tables.items() if v}
        built_sinks.append(
            _sink("tables", sink_options.get("tables"), csv=csv_path, **who, **given)
        )
    for name, path in coder_files.items():  # after the CSV sink: they read its file
        if path:
            given = sink_options.get(name)
            built_sinks.append(_sink(name, given, path=path, csv=csv_path, events=events))
    if output:
        given = sink_options.get(output_sink)
        if output_kind == "video":
            built_sinks.append(_sink("video", given, path=output))
        else:
            built_sinks.append(_sink("image", given, path=output, max_frames=max_frames))
    if report_path:
        settings = {"source": source, **spec.settings()}
        study = {"csv": csv_path, **who, "events": events or ""} if csv_path else {}
        built_sinks.append(
            _sink(
                "report", sink_options.get("report"), path=report_path, settings=settings, **study
            )
        )
    built_sinks += extra_sinks
    if window is not None:
        built_sinks.append(window)
    pipeline = Pipeline.from_spec(spec, src, sinks=built_sinks, keep_going=keep_going)

    def say_outputs(failed=None) -> None:
        """Where the outputs are (but the ``failed`` sink's); none were written (or replaced)
        before the first frame."""
        named = [
            (k, p)
            for k, p in (("CSV", csv_path), (output_kind, output), ("report", report_path))
            if p
        ]
        named += [(k, p) for k, p in (("per second", per_second), ("segments", segments_path)) if p]
        named += [(k, p) for k, p in coder_files.items() if p]
        named += [
            (n.partition(":")[0], sink_path(s)) for n, s in zip(sinks, extra_sinks) if sink_path(s)
        ]
        gone = sink_path(failed) if failed is not None else None
        named = [(k, p) for k, p in named if gone is None or os.fspath(p) != os.fspath(gone)]
        if named and not pipeline.summary.frames:
            click.echo("nothing written: the run stopped before its first frame")
            return
        for label, path in named:
            click.echo(f"{label}: {path}")

    def describe() -> str:
        """The summary, naming the source."""
        return f"{pipeline.summary.describe()}\nsource: {source}"

    bar = None
    try:
        with closing(pipeline.frames(max_frames)) as frames:
            for _ in frames:
                if bar is None and not pipeline.info.live:
                    total = pipeline.info.frame_count
                    if max_frames and total:
                        total = min(total, max_frames)
                    bar = tqdm(total=total, unit="frame", disable=None, file=sys.stderr)
                if bar is not None:
                    bar.update()
    except KeyboardInterrupt:
        _ignore_further_interrupts()
        if bar is not None:
            bar.close()
        pipeline.summary.interrupted = True
        if pipeline.summary.frames:
            click.echo(describe())
            say_outputs()
        else:
            click.echo("interrupted before the first frame: nothing written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except FervisionError as exc:  # mid-run (a stream dropped, an output failed)
        if bar is not None:
            bar.close()
        if pipeline.summary.frames:
            click.echo(describe())
            if isinstance(exc, SinkNotClosed):  # the others are whole
                say_outputs(failed=exc.sink)
            elif not isinstance(exc, SinkFailed):  # the outputs hold every frame up to here
                say_outputs()
        if isinstance(exc, SinkFailed):
            raise SinkFailed(f"{exc} (--keep-going lets them go on)") from None
        raise
    if bar is not None:
        bar.close()
    click.echo(describe())
    say_outputs()
    for sink in built_sinks:  # a sink's text for the terminal (the per-segment table)
        for line in getattr(sink, "lines", ()):
            click.echo(line)
    if not (csv_path or output or report_path or sinks or display or any(coder_files.values())):
        annotated = "photo" if pipeline.summary.stills else "video"
        click.echo(
            f"nothing saved (--csv PATH: each face's emotions; --output PATH: the annotated "
            f"{annotated})"
        )
    if pipeline.summary.failed_sinks:
        sys.exit(EXIT_ERROR)


def _add_plugin_commands() -> None:
    """Let every plugin add its commands, remembering which plugin added which.

    Built-in plugins go first, then the others by name. A name already taken (fervision's
    own command or an earlier plugin's) keeps its first owner, with a warning; a plugin
    that fails here, or was left out for a stage name clash, adds no command.
    """
    pm = get_plugin_manager()
    failed = get_registry().failed
    owners = {name: "fervision" for name in cli.commands}
    added: dict[str, list[str]] = {}
    for impl in in_registration_order(pm.hook.register_commands.get_hookimpls()):
        plugin = impl.plugin_name
        if plugin in failed:
            continue
        before = dict(cli.commands)
        try:
            call_hook(impl, cli=cli)
        except Exception as exc:  # a broken plugin must not take the others down
            mark_failed(plugin, exc)
            cli.commands.clear()
            cli.commands.update(before)
            continue
        mine = []
        for name, command in list(cli.commands.items()):
            if before.get(name) is command:
                continue
            if name in before:
                cli.commands[name] = before[name]
                log.warning(
                    "warning: plugin %r's command %r not added: %s has that name",
                    plugin,
                    name,
                    owners[name],
                )
            else:
                mine.append(name)
                owners[name] = f"plugin {plugin!r}"
        added[plugin] = sorted(mine)
    cli.plugin_commands = added


def _the_source(argument: str | None, option: str | None) -> str:
    """The source, given as SOURCE or ``--source`` (once); none is a usage error."""
    if argument and option and argument != option:
        raise click.UsageError(f"two sources, {argument} and --source {option}; give one")
    if not (argument or option):
        raise click.UsageError(
            "no source: give a video, image, folder, stream or webcam (fervision run VIDEO), "
            "or --source sample for the built-in demo"
        )
    return argument or option


def _participants(value: str | None) -> str | None:
    """``--participants`` checked before any work (a name twice, a place off the picture)."""
    from .participants import parse_participants

    if value:
        try:
            parse_participants(value)
        except OptionError as exc:
            raise click.BadParameter(str(exc).removeprefix("participants: ")) from None
    return value


def _ignore_further_interrupts() -> None:
    """The run is over (its outputs closed): Ctrl-C pressed on must not cut the exit short."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def _exit_if_interrupted() -> None:
    """An error after Ctrl-C (native code may turn the interrupt into one) is the interrupt."""
    if interrupt_seen():
        _ignore_further_interrupts()
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def main(argv=None) -> None:
    """Entry point: one-line errors, exit 130 when interrupted (Ctrl-C or SIGTERM)."""
    forget_interrupts()  # the entry point has checked for one while this module loaded
    signal.signal(signal.SIGTERM, raise_interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where ignored
        signal.signal(signal.SIGINT, raise_interrupt)
    # `kill -USR1 PID` prints every thread's stack (to find a hang); not where stderr is no file
    with suppress(AttributeError, ValueError, OSError):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    debug = bool(os.environ.get("FERVISION_DEBUG"))
    try:
        _add_plugin_commands()
        # click's own main would print a blank line on Ctrl-C before ours
        args = list(sys.argv[1:] if argv is None else argv)
        with cli.make_context("fervision", args) as ctx:
            cli.invoke(ctx)
        if interrupt_seen():  # its KeyboardInterrupt was dropped on the way
            raise KeyboardInterrupt
    except click.exceptions.Exit as exc:  # --help, --version, a command's ctx.exit(status)
        if exc.exit_code:
            sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:  # `fervision` alone: its help
        click.echo(exc.format_message())
    except click.UsageError as exc:  # one line that names the option
        hint = f" (see {exc.ctx.command_path} -h)" if exc.ctx is not None else ""
        limit = os.environ.get("FERVISION_LOAD_PLUGINS")
        if limit and exc.format_message().startswith("No such command"):
            hint = f" (FERVISION_LOAD_PLUGINS={limit} leaves the other plugins' commands out)"
        click.echo(f"error: {exc.format_message().rstrip('.')}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        _ignore_further_interrupts()
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (OptionError, StageNotFound) as exc:  # a stage or its option given wrong: usage
        _exit_if_interrupted()
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except FervisionError as exc:
        _exit_if_interrupted()
        if debug and exc.__cause__ is not None:  # a stage's own error: show where it was
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except BrokenPipeError as exc:
        if not _stdout_gone():  # another pipe (a stream, a helper process): an error
            click.echo(f"error: {one_line(exc)}", err=True)
            sys.exit(EXIT_ERROR)
        # the reader of our output left (`fervision plugins -v | head -3`): quiet, as Unix
        # tools are, and nothing more written at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except Exception as exc:
        _exit_if_interrupted()
        if debug:
            raise
        click.echo(f"error: {one_line(exc)} (FERVISION_DEBUG=1 shows details)", err=True)
        sys.exit(EXIT_ERROR)


def _stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it."""
    import select

    try:
        poller = select.poll()  # not on Windows: there, the error is reported
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False
