"""The plugin system: entry points, registration, duplicates, listing, lazy imports."""

import os
import re
import subprocess
import sys
import types

import pytest

from fervision import hookimpl, register_plugin, unregister_plugin
from fervision.plugins import get_registry, plugin_infos


def make_plugin(**stages):
    module = types.ModuleType("inline_plugin")

    @hookimpl
    def register_stages(registry):
        for name, (kind, factory) in stages.items():
            registry.add(kind, name, factory)

    module.register_stages = register_stages
    return module


def test_builtin_stages_register_through_entry_points():
    registry = get_registry()
    owners = {(e.kind, e.name): e.plugin for e in registry.entries()}
    assert owners[("tracker", "iou")] == "basic"
    assert owners[("sink", "csv")] == "basic"
    assert owners[("classifier", "keras")] == "keras"
    assert {"basic", "keras", "opencv", "mediapipe"} <= {p.name for p in plugin_infos()}


def test_inline_plugin_adds_a_stage_and_can_be_removed():
    register_plugin(make_plugin(shout=("sink", dict)), name="inline")
    try:
        assert get_registry().get("sink", "shout").plugin == "inline"
    finally:
        unregister_plugin("inline")
    assert not get_registry().has("sink", "shout")


def test_a_plugin_claiming_a_taken_name_is_not_loaded_and_the_rest_works(caplog):
    """A clash fails the later plugin only (warned, named in ``plugins``), not every command."""
    register_plugin(make_plugin(csv=("sink", dict), shout=("sink", dict)), name="copycat")
    try:
        registry = get_registry()
        assert registry.get("sink", "csv").plugin == "basic"
        assert not registry.has("sink", "shout")  # nothing of the clashing plugin is kept
        clash = r"sink 'csv' is registered by two plugins: 'basic' and 'copycat'"
        assert re.search(clash, registry.failed["copycat"])
        assert re.search(f"plugin 'copycat' not loaded: {clash}", caplog.text)
    finally:
        unregister_plugin("copycat")
    assert get_registry().get("sink", "csv").plugin == "basic"


def test_a_plugin_adding_an_unknown_kind_is_not_loaded():
    register_plugin(make_plugin(thing=("teleporter", dict)), name="odd")
    try:
        assert "unknown stage kind 'teleporter'" in get_registry().failed["odd"]
    finally:
        unregister_plugin("odd")


def run_cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def test_plugins_command_lists_every_plugin_with_version_and_stages():
    out = run_cli("plugins").stdout
    assert "basic 0.1.0" in out and "keras 0.1.0" in out
    assert "commands: average, calibrate, ensemble, evaluate, train" in out
    assert "detectors: haar, haar-fast" in out and "detectors: mediapipe" in out


def test_third_party_example_plugin_is_listed():
    pytest.importorskip("fervision_jsonl", reason="pip install ./examples/fervision-jsonl")
    out = run_cli("plugins").stdout
    assert "jsonl 0.1.0" in out and "sinks: jsonl" in out


HEAVY = ("tensorflow", "mediapipe", "keras", "cv2")


@pytest.mark.parametrize(
    "code",
    [
        "import fervision",
        "from fervision.cli import cli, _add_plugin_commands; _add_plugin_commands()",
        "from fervision.plugins import get_registry; get_registry()",
    ],
)
def test_light_paths_import_no_heavy_library(code):
    check = f"{code}; import sys; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_help_and_plugins_import_no_heavy_library():
    code = (
        "import sys, runpy; sys.argv=['fervision', *{args!r}]\n"
        "try: runpy.run_module('fervision', run_name='__main__')\n"
        "except SystemExit: pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    for args in (["--help"], ["plugins"], ["plugins", "-v"], ["run", "-h"]):
        out = subprocess.run(
            [sys.executable, "-c", code.format(args=args)], capture_output=True, text=True
        )
        assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_plugins_verbose_lists_every_stage_with_its_options():
    out = run_cli("plugins", "-v").stdout
    assert "    detector haar: OpenCV Haar cascade" in out
    assert "        min_neighbors: int = 5  overlapping hits a face needs;" in out
    assert "        min_confidence: float = 0.4  drop detections scoring below this" in out
    assert "        min_size: int = 0  drop faces narrower or shorter" in out
    assert "        full_every: int = 6  scan the whole frame" in out  # haar-fast's preset
    assert "        window: int = 9  how many recent frames of a track vote." in out
    assert "    tracker none: no tracking" in out


def broken_plugins(root, **modules):
    """Installed-looking distributions under ``root``: one entry point per module source."""
    for name, source in modules.items():
        (root / f"{name}.py").write_text(source)
        info = root / f"{name}-0.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3\n")
        (info / "entry_points.txt").write_text(f"[fervision]\n{name} = {name}\n")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_a_plugin_that_fails_to_load_is_listed_with_its_error_and_breaks_nothing(tmp_path):
    env = broken_plugins(
        tmp_path,
        needs_lib="import libfoo_that_is_not_installed\n",
        bad_stages=(
            "from fervision import hookimpl\n"
            "@hookimpl\n"
            "def register_stages(registry):\n"
            "    registry.add('sink', 'bad', 'bad_stages:Bad')\n"
            "    raise RuntimeError('no licence key')\n"
        ),
        bad_commands=(
            "from fervision import hookimpl\n"
            "@hookimpl\n"
            "def register_commands(cli):\n"
            "    raise ValueError('click too old')\n"
        ),
    )
    assert run_cli("--help", env=env).returncode == 0
    listing = run_cli("plugins", env=env)
    assert listing.returncode == 0, listing.stderr
    assert (
        "needs_lib 0.3  (needs_lib)\n    failed to load: ModuleNotFoundError: "
        "No module named 'libfoo_that_is_not_installed'\n"
    ) in listing.stdout
    assert "bad_stages 0.3  (bad_stages)\n    failed to load: RuntimeError: no licence key\n" in (
        listing.stdout
    )
    assert "bad_commands 0.3  (bad_commands)\n    failed to load: ValueError: click too" in (
        listing.stdout
    )
    assert "detectors: haar, haar-fast" in listing.stdout and "sinks: csv" in listing.stdout
    assert "commands: batch, report" in listing.stdout
    unknown = run_cli("run", "sample", "--sink", "bad", env=env)
    assert unknown.returncode == 2  # an unknown stage is a usage error
    assert unknown.stderr.startswith("error: unknown sink 'bad'; known sinks: boris, csv, display")
    assert unknown.stderr.rstrip().endswith(
        "plugins that failed to load: bad_commands, bad_stages, needs_lib"
    )


def test_observer_hooks_see_every_run_and_frame():
    from fakes import BoxDetector, FixedClassifier, ListSource
    from fervision import Pipeline

    seen = []

    class Observer:
        @hookimpl
        def pipeline_started(self, pipeline, info):
            seen.append(("started", info.source_id))

        @hookimpl
        def frame_processed(self, frame):
            seen.append(("frame", frame.index))

        @hookimpl
        def pipeline_finished(self, summary):
            seen.append(("finished", summary.frames))

    register_plugin(Observer(), name="observer")
    try:
        Pipeline(ListSource(count=3), detector=BoxDetector(), classifier=FixedClassifier()).run()
    finally:
        unregister_plugin("observer")
    assert seen == [("started", "fake"), ("frame", 0), ("frame", 1), ("frame", 2), ("finished", 3)]


@pytest.mark.parametrize(
    "hook, message",
    [
        ("pipeline_started", "plugin 'watcher' pipeline_started failed: RuntimeError: boom"),
        ("frame_processed", "plugin 'watcher' frame_processed failed at frame 0: RuntimeError"),
        ("pipeline_finished", "plugin 'watcher' pipeline_finished failed: RuntimeError: boom"),
    ],
)
def test_an_observer_hook_that_raises_is_named_in_one_line(hook, message):
    from fakes import ListSource, RecordingSink
    from fervision import Pipeline
    from fervision.errors import StageFailed

    signature = {
        "pipeline_started": "pipeline, info",
        "frame_processed": "frame",
        "pipeline_finished": "summary",
    }[hook]
    namespace = {}
    exec(f"def {hook}(self, {signature}): raise RuntimeError('boom')", namespace)
    Watcher = type("Watcher", (), {hook: hookimpl(namespace[hook])})
    register_plugin(Watcher(), name="watcher")
    sink = RecordingSink()
    try:
        with pytest.raises(StageFailed) as caught:
            Pipeline(ListSource(count=3), detector=None, classifier=None, sinks=[sink]).run()
    finally:
        unregister_plugin("watcher")
    assert str(caught.value).startswith(message)
    assert sink.closed


def test_register_commands_adds_a_cli_command():
    import click
    from click.testing import CliRunner

    from fervision.cli import _add_plugin_commands, cli

    class Commands:
        @hookimpl
        def register_commands(self, cli):
            @cli.command(name="hello")
            def hello():
                click.echo("hello from a plugin")

    register_plugin(Commands(), name="greeter")
    try:
        _add_plugin_commands()
        assert cli.plugin_commands["greeter"] == ["hello"]
        assert CliRunner().invoke(cli, ["hello"]).output == "hello from a plugin\n"
    finally:
        unregister_plugin("greeter")
        cli.commands.pop("hello", None)


def test_an_observer_hook_may_take_fewer_arguments_than_its_spec_gives():
    """pluggy allows it; called directly with every argument, it broke every run."""
    from fakes import ListSource
    from fervision import Pipeline

    seen = []

    class Counter:
        @hookimpl
        def pipeline_started(self):
            seen.append("started")

        @hookimpl
        def pipeline_finished(self, summary):
            seen.append(summary.frames)

    register_plugin(Counter(), name="counter")
    try:
        Pipeline(ListSource(count=3), detector=None, classifier=None).run()
    finally:
        unregister_plugin("counter")
    assert seen == ["started", 3]


def test_a_plugin_command_never_replaces_a_taken_name_and_a_failing_one_adds_none(caplog):
    import click
    from click.testing import CliRunner

    from fervision.cli import _add_plugin_commands, cli
    from fervision.plugins import plugin_infos

    def command(name, says):
        return click.command(name=name)(lambda: click.echo(says))

    class Hijacker:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(command("run", "hijacked"))
            cli.add_command(command("hello", "hello from zzz"))

    class Late:  # registers after 'hijacker' by name: 'hello' is taken by then
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(command("hello", "hello from late"))

    class HalfWay:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(command("half", "half"))
            raise RuntimeError("commands boom")

    original = cli.commands["run"]
    for plugin, name in ((Hijacker(), "hijacker"), (Late(), "late"), (HalfWay(), "halfway")):
        register_plugin(plugin, name=name)
    try:
        _add_plugin_commands()
        assert cli.commands["run"] is original and "half" not in cli.commands
        assert CliRunner().invoke(cli, ["hello"]).output == "hello from zzz\n"
        assert cli.plugin_commands["hijacker"] == ["hello"] and cli.plugin_commands["late"] == []
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert "warning: plugin 'hijacker''s command 'run' not added: fervision has that name" in (
            warnings
        )
        assert (
            "warning: plugin 'late''s command 'hello' not added: plugin 'hijacker' has that name"
            in warnings
        )
        halfway = next(p for p in plugin_infos() if p.name == "halfway")
        assert halfway.error == "RuntimeError: commands boom"
    finally:
        for name in ("hijacker", "late", "halfway"):
            unregister_plugin(name)
        cli.commands.pop("hello", None)
        cli.commands["run"] = original


def test_a_plugin_limit_naming_no_installed_plugin_says_so():
    env = {**os.environ, "FERVISION_LOAD_PLUGINS": "opencv,nosuch"}
    result = run_cli("plugins", env=env)
    assert result.returncode == 0, result.stderr
    assert "opencv" in result.stdout and "basic" not in result.stdout
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith(
        "warning: FERVISION_LOAD_PLUGINS names nosuch, not installed (installed: basic,"
    )


def test_a_plugin_with_wrong_hooks_or_a_taken_builtin_name_breaks_nothing(tmp_path):
    env = broken_plugins(
        tmp_path,
        bad_signature=(
            "from fervision import hookimpl\n@hookimpl\ndef register_stages(reg):\n    pass\n"
        ),
        misspelt=(
            "from fervision import hookimpl\n@hookimpl\ndef register_stage(registry):\n    pass\n"
        ),
        aaa_clash=(  # sorts before 'basic', whose csv sink and trackers it must not displace
            "from fervision import hookimpl\n"
            "@hookimpl\n"
            "def register_stages(registry):\n"
            "    registry.add('sink', 'csv', dict)\n"
            "    registry.add('sink', 'missing', 'module_that_is_not_there:Sink')\n"
        ),
        lazy_missing=(
            "from fervision import hookimpl\n"
            "@hookimpl\n"
            "def register_stages(registry):\n"
            "    registry.add('sink', 'gone', 'module_that_is_not_there:Sink')\n"
        ),
    )
    assert run_cli("--help", env=env).returncode == 0
    listing = run_cli("plugins", "-v", env=env)
    assert listing.returncode == 0, listing.stderr
    out = listing.stdout
    assert (
        "bad_signature 0.3  (bad_signature)\n    failed to load: Plugin 'bad_signature' for "
        "hook 'register_stages': Argument(s) {'reg'} are declared in the hookimpl" in out
    )
    assert (
        "misspelt 0.3  (misspelt)\n    failed to load: unknown hook 'register_stage'; "
        "fervision's hooks: " in out
    )
    assert (
        "aaa_clash 0.3  (aaa_clash)\n    failed to load: sink 'csv' is registered by two "
        "plugins: 'basic' and 'aaa_clash'" in out
    )
    assert (
        "    sink gone\n        (cannot be loaded: ModuleNotFoundError: No module named "
        "'module_that_is_not_there')\n" in out
    )
    assert "    tracker bytetrack" in out and "    sink jsonl" in out  # listed after it
    gone = run_cli("run", "--source", "sample", "--sink", "gone", env=env)
    assert gone.returncode == 1
    assert gone.stderr.splitlines()[-1].startswith(
        "error: plugin 'lazy_missing' sink 'gone' cannot be loaded: ModuleNotFoundError"
    )
    csv = tmp_path / "out.csv"
    default = run_cli("run", "--source", "sample", "--max-frames", "3", "--csv", str(csv), env=env)
    assert default.returncode == 0, default.stderr  # the default tracker and csv sink are there
    assert len(csv.read_text().splitlines()) == 4


def test_a_plugin_name_taken_twice_or_unregistered_twice_is_one_line():
    from fervision.errors import PluginError

    class Mine:
        pass

    register_plugin(Mine(), name="mine-twice")
    try:
        with pytest.raises(PluginError, match="a plugin named 'mine-twice' is already registered"):
            register_plugin(Mine(), name="mine-twice")
    finally:
        unregister_plugin("mine-twice")
    with pytest.raises(PluginError, match="no plugin named 'mine-twice' is registered"):
        unregister_plugin("mine-twice")


def test_a_plugin_registered_again_under_another_name_is_one_line():
    import fervision_basic
    from fervision.errors import PluginError

    with pytest.raises(PluginError, match="that plugin is already registered, as 'basic'"):
        register_plugin(fervision_basic, name="basic-again")


def test_a_plugin_sink_that_fails_to_close_is_not_listed_as_written(tmp_path):
    env = broken_plugins(
        tmp_path,
        leaky=(
            "from fervision import hookimpl\n"
            "class LeakySink:\n"
            "    def __init__(self, path=None):\n"
            "        self.path = path\n"
            "    def write(self, frame):\n"
            "        pass\n"
            "    def close(self):\n"
            "        raise OSError(28, 'No space left on device')\n"
            "@hookimpl\n"
            "def register_stages(registry):\n"
            "    registry.add('sink', 'leaky', LeakySink)\n"
        ),
    )
    csv, leaky = tmp_path / "out.csv", tmp_path / "leaky.json"
    result = run_cli(
        "run", "--source", "sample:5", "--csv", csv, "--sink", f"leaky:{leaky}", env=env
    )
    assert result.returncode == 1
    assert f"CSV: {csv}" in result.stdout and str(leaky) not in result.stdout
    assert result.stderr.splitlines()[-1] == (
        f"error: cannot close plugin 'leaky' sink 'leaky' {leaky}: OSError: [Errno 28] No space "
        "left on device"
    )
    assert len(csv.read_text().splitlines()) == 6


def test_plugins_verbose_points_out_defaults_that_do_not_fit_their_annotation(tmp_path):
    env = broken_plugins(
        tmp_path,
        sloppy=(
            "from fervision import hookimpl\n"
            "class Sloppy:\n"
            "    def __init__(self, size: float = 'big', flag: bool = 'no', count: int = None,\n"
            "                 fine: int | None = None):\n"
            "        pass\n"
            "    def update(self, frame):\n"
            "        pass\n"
            "@hookimpl\n"
            "def register_stages(registry):\n"
            "    registry.add('smoother', 'sloppy', Sloppy)\n"
        ),
    )
    out = run_cli("plugins", "-v", env=env).stdout
    listing = out[out.index("    smoother sloppy") :].splitlines()[1:8]
    assert listing == [
        "        size: float = 'big'",
        "          (a mistake in the stage: its default 'big' is not float)",
        "        flag: bool = 'no'",
        "          (a mistake in the stage: its default 'no' is not bool)",
        "        count: int = None",
        "          (a mistake in the stage: its default None is not int)",
        "        fine: int | None = None",
    ]


def test_list_options_convert_from_text_and_those_text_cannot_give_are_pointed_out(tmp_path):
    env = broken_plugins(
        tmp_path,
        listy=(
            "from fervision import hookimpl\n"
            "class Listy:\n"
            "    def __init__(self, names: list[str] = (), rows: list[dict] | None = None):\n"
            "        assert names == ['happy', 'sad'], names\n"
            "    def update(self, frame):\n"
            "        pass\n"
            "@hookimpl\n"
            "def register_stages(registry):\n"
            "    registry.add('smoother', 'listy', Listy)\n"
        ),
    )
    out = run_cli("plugins", "-v", env=env).stdout
    listing = out[out.index("    smoother listy") :].splitlines()[1:4]
    assert listing == [
        "        names: list[str] = ()",
        "        rows: list[dict] | None = None",
        "          (a mistake in the stage: list[dict] cannot be given as text (-O))",
    ]
    run = ("run", "--source", "sample:2", "--smoother", "listy", "-O", "smoother.names=happy,sad")
    assert run_cli(*run, env=env).returncode == 0
    refused = run_cli(*run, "-O", "smoother.rows=a", env=env)
    assert refused.returncode == 2 and refused.stderr == (
        "error: smoother 'listy' option rows: list[dict] | None cannot be given as text; it "
        "accepts: names: list[str] = (), rows: list[dict] | None = None\n"
    )


def test_a_plugin_whose_hooks_are_not_marked_says_so_in_the_listing(tmp_path):
    env = broken_plugins(
        tmp_path,
        unmarked="def register_stages(registry):\n    registry.add('sink', 'x', dict)\n",
    )
    out = run_cli("plugins", env=env).stdout
    assert "unmarked 0.3  (unmarked)\n    hooks: none (mark them @hookimpl)\n" in out


def test_a_stage_of_a_plugin_left_out_by_the_limit_says_why():
    env = {**os.environ, "FERVISION_LOAD_PLUGINS": "basic,opencv"}
    result = run_cli("run", "--source", "sample:3", "--detector", "haar", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: unknown classifier 'keras'; no classifier is registered; "
        "FERVISION_LOAD_PLUGINS=basic,opencv leaves the other plugins out"
    )


def test_a_command_of_a_plugin_left_out_by_the_limit_says_why():
    env = {**os.environ, "FERVISION_LOAD_PLUGINS": "basic,opencv"}
    result = run_cli("batch", "x.mp4", "--out", "y", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: No such command 'batch' (FERVISION_LOAD_PLUGINS=basic,opencv leaves the other "
        "plugins' commands out)"
    )
