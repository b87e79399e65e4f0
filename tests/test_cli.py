"""``fervision run`` end to end: real clip, real models, every bad input, interruptions."""

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from fervision_basic.csv_sink import csv_columns

LABELS = ["angry", "fear", "happy", "neutral", "sad", "surprise"]


def fervision(*args, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def one_line_error(result, *fragments, status=1):
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("detector", ["mediapipe", "haar"])
def test_clip_to_csv_covers_every_frame(clip, mediapipe_model, tmp_path, detector):
    out = tmp_path / "out.csv"
    args = ["run", "--source", str(clip), "--detector", detector, "--csv", str(out)]
    if detector == "mediapipe":
        args += ["--detector-model", str(mediapipe_model)]
    result = fervision(*args)
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    assert rows[0] == csv_columns(LABELS)  # the column order itself: test_basic_stages
    frames = sorted({int(r[0]) for r in rows[1:]})
    assert frames == list(range(275))
    with_face = {int(r[0]) for r in rows[1:] if r[2]}
    assert len(with_face) > 275 / 2
    tracks = {r[2] for r in rows[1:] if r[2]}
    assert 1 <= len(tracks) <= 40
    assert all(len(r) == len(rows[0]) for r in rows)
    assert "275 frames" in result.stdout and "emotions:" in result.stdout


def test_quick_start_command_on_the_sample(tmp_path):
    result = fervision(
        "run",
        "--source",
        "sample",
        "--csv",
        "emotions.csv",
        "--output",
        "annotated.mp4",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 150
    assert len(read_rows(tmp_path / "emotions.csv")) > 150


def test_third_party_sink_from_the_example_plugin(tmp_path):
    pytest.importorskip("fervision_jsonl", reason="pip install ./examples/fervision-jsonl")
    out = tmp_path / "faces.jsonl"
    result = fervision("run", "--source", "sample", "--max-frames", "10", "--sink", f"jsonl:{out}")
    assert result.returncode == 0, result.stderr
    import json

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(10))
    assert any(r["faces"] and r["faces"][0]["label"] in LABELS for r in records)


def test_a_plugin_sink_s_error_names_its_plugin_and_name_not_its_class():
    pytest.importorskip("fervision_jsonl", reason="pip install ./examples/fervision-jsonl")
    full = ("--sink", "jsonl:/dev/full")
    result = fervision("run", "--source", "sample", "--max-frames", "3", *full)
    failed = "plugin 'jsonl' sink 'jsonl' /dev/full failed at frame 0: OSError: [Errno 28]"
    one_line_error(result, failed)
    import re

    from fervision import FervisionError, Pipeline

    with pytest.raises(FervisionError, match=f"^{re.escape(failed)}"):
        Pipeline("sample", sinks=["jsonl:/dev/full"]).run(max_frames=3)


def test_missing_file(tmp_path):
    one_line_error(fervision("run", "--source", str(tmp_path / "nope.mp4")), "not found")


def test_random_bytes_named_mp4(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(np.random.default_rng(0).bytes(50_000))
    one_line_error(
        fervision("run", "--source", str(fake), "--csv", str(tmp_path / "o.csv")), "cannot decode"
    )


def test_camera_that_cannot_be_opened():
    one_line_error(fervision("run", "--source", "webcam:97", "--no-display"), "camera")


def test_unknown_stage_lists_the_known_ones():
    nope = fervision("run", "sample", "--detector", "nope")
    one_line_error(nope, "unknown detector 'nope'", "haar", "mediapipe", status=2)
    wobbly = fervision("run", "sample", "--smoother", "wobbly")
    one_line_error(wobbly, "known smoothers: ema, none, vote", status=2)


@pytest.mark.parametrize("detector", ["mediapipe", "haar"])
def test_a_stage_option_on_the_command_line_reaches_the_stage(photo, detector):
    plain = fervision("run", "--source", str(photo), "--detector", detector)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("1 photo, 2 faces (1 photo with a face)")
    large = fervision(
        "run", "--source", str(photo), "--detector", detector, "-O", "detector.min_size=900"
    )
    assert large.returncode == 0, large.stderr
    assert large.stdout.startswith("1 photo, 0 faces")


@pytest.mark.parametrize(
    "detector, option, fragments",
    [
        ("haar", "detector.nosuch=1", ["detector 'haar' has no option 'nosuch'; it accepts: "]),
        ("haar", "detector.min_neighbors=many", ["option min_neighbors: 'many' is not int; it"]),
        ("mediapipe", "detector.nosuch=1", ["'mediapipe' has no option 'nosuch'; it accepts: "]),
        ("mediapipe", "detector.min_neighbors=many", ["has no option 'min_neighbors'; it acc"]),
        ("haar", "detector.min_size", ["'detector.min_size' is not KIND.NAME=VALUE"]),
        ("haar", "sink.path=x", ["'sink.path=x' is not sink.SINK.NAME=VALUE"]),
        ("haar", "sinks.path=x", ["options are for source, detector, tracker, classifier"]),
        ("haar", "annotator.bars=1", ["annotator options (bars) given, but there is no annot"]),
    ],
)
def test_a_bad_stage_option_is_a_usage_error_in_one_line(detector, option, fragments):
    result = fervision("run", "sample", "--detector", detector, "-O", option)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    if "accepts" in lines[0]:  # every option the stage takes, with its type and default
        listed = "min_neighbors: int = 5" if detector == "haar" else "min_confidence: float = 0.4"
        assert listed in lines[0]


@pytest.mark.parametrize(
    "option, fragment",
    [
        ("source.nosuch=1", "source 'image' has no option 'nosuch'; it accepts: "),
        ("source.fps=fast", "source 'image' option fps: 'fast' is not float; it accepts: "),
    ],
)
def test_a_bad_source_option_on_a_path_is_a_usage_error_in_one_line(photo, option, fragment):
    result = fervision("run", "--source", str(photo), "-O", option)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_corrupt_and_wrong_models(tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"\0" * 1000)
    one_line_error(fervision("run", "sample", "--model", str(junk)), "not a fervision model")
    one_line_error(
        fervision("run", "sample", "--model", str(tmp_path / "missing.keras")), "not found"
    )


@pytest.mark.parametrize("option", ["--csv", "--output", "--report"])
def test_an_output_s_missing_folder_is_created_as_batch_and_report_do(tmp_path, option):
    name = {"--csv": "x.csv", "--output": "x.mp4", "--report": "x.html"}[option]
    result = fervision("run", "sample:3", option, str(tmp_path / "missing" / "deeper" / name))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "missing" / "deeper" / name).is_file()
    helped = fervision("batch", "--help")  # the same words for the same thing
    assert "--out, --output" in helped.stdout


def test_no_source_is_a_usage_error_and_the_summary_names_the_source(tmp_path):
    """Issue 42: `run --csv out.csv` analysed the built-in sample, silently."""
    one_line_error(fervision("run", "--csv", tmp_path / "out.csv"), "no source", status=2)
    assert not (tmp_path / "out.csv").exists()
    given = fervision("run", "sample:3", "--csv", tmp_path / "out.csv")  # SOURCE, as batch
    assert given.returncode == 0, given.stderr
    assert "source: sample:3\n" in given.stdout
    again = fervision("run", "--input", "sample:3", "--csv", tmp_path / "out.csv")
    assert again.returncode == 0 and "source: sample:3\n" in again.stdout
    two = fervision("run", "sample:3", "--source", "sample:4")
    one_line_error(two, "two sources", status=2)


@pytest.mark.parametrize(
    "option, path",
    [("--report", "myreport"), ("--csv", "out.xlsx"), ("--output", "o.txt"),
     ("--states", "s.tsv"), ("--eaf", "e.xml"), ("--per-second", "p.json")],
)  # fmt: skip
def test_every_output_s_suffix_is_checked_before_any_work(tmp_path, option, path):
    result = fervision("run", "sample:3", "--csv", tmp_path / "a.csv", option, tmp_path / path)
    if option == "--csv":
        result = fervision("run", "sample:3", option, tmp_path / path)
    one_line_error(result, option, "does not end in", status=2)
    assert not list(tmp_path.iterdir())


def test_output_in_a_read_only_directory(read_only_dir):
    one_line_error(
        fervision("run", "sample", "--csv", str(read_only_dir / "x.csv")), "not writable"
    )


def test_no_display_gives_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    one_line_error(fervision("run", "sample", "--display", env=env), "display")


def test_folder_of_gray_and_bgra_images(photo, tmp_path):
    image = cv2.imread(str(photo))
    cv2.imwrite(str(tmp_path / "a_gray.png"), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(tmp_path / "b_bgra.png"), cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    out = tmp_path / "photos.csv"
    result = fervision("run", "--source", str(tmp_path), "--csv", str(out))
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)[1:]
    assert {r[0] for r in rows} == {"0", "1"} and all(r[8] in LABELS for r in rows)


def test_ctrl_c_while_a_stream_is_still_opening_ends_the_run_at_once(tmp_path):
    """A server that accepts and never answers: FFmpeg waits its whole open timeout in C."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/camera.mjpg"
        csv_path = tmp_path / "out.csv"
        command = [sys.executable, "-m", "fervision", "run", "--source", url, "--csv", csv_path]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        connected = server.accept()[0]  # FFmpeg is inside its open now
        time.sleep(0.3)
        start = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        waited = time.monotonic() - start
        connected.close()
    assert process.returncode == 130, stderr
    assert waited < 2.0, f"exited {waited:.1f} s after Ctrl-C (the open timeout is 10 s)"
    assert stderr.decode().strip().splitlines()[-1] == (
        "interrupted before the first frame: nothing written"
    )
    assert b"Traceback" not in stderr and not csv_path.exists()


@pytest.mark.parametrize(
    "sig, again", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)]
)
def test_interrupt_leaves_complete_csv_and_playable_video(clip, tmp_path, sig, again):
    """Ctrl-C or SIGTERM, once or (``again``) pressed on while the outputs are finished."""
    out_csv, out_video = tmp_path / "out.csv", tmp_path / "out.mp4"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fervision",
            "run",
            "--source",
            str(clip),
            "--detector",
            "haar",
            "--csv",
            str(out_csv),
            "--output",
            str(out_video),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if out_csv.exists() and len(out_csv.read_text().splitlines()) > 20:
            break
        time.sleep(0.2)
    proc.send_signal(sig)
    while again and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
        proc.send_signal(sig)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # a hang: fail with every thread's stack
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
        proc.kill()
        pytest.fail(f"no exit 60 s after {sig.name}; stacks:\n{proc.communicate()[1][-6000:]}")
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    assert f"CSV: {out_csv}" in stdout and f"video: {out_video}" in stdout  # where they are
    rows = read_rows(out_csv)
    assert all(len(r) == len(rows[0]) for r in rows)
    frames = sorted({int(r[0]) for r in rows[1:]})
    assert frames == list(range(len(frames))) and 0 < len(frames) < 275
    capture = cv2.VideoCapture(str(out_video))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    assert decoded >= len(frames) - 1


def test_a_live_source_writing_outputs_runs_without_a_window_where_none_can_open(
    tmp_path, monkeypatch
):
    """A camera or stream shows a window by default; on a machine without a display it
    still writes the outputs asked for (with a note), and fails in one line only when the
    window was asked for or is the only output."""
    from click.testing import CliRunner

    from fakes import ListSource
    from fervision import hookimpl, register_plugin, unregister_plugin
    from fervision.cli import cli

    class LiveSource:
        @hookimpl
        def register_stages(self, registry):
            registry.add("source", "fakelive", lambda: ListSource(count=5, live=True))

    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    register_plugin(LiveSource(), name="livesource")
    try:
        runner = CliRunner()
        run = ["run", "--source", "fakelive", "--detector", "haar"]
        result = runner.invoke(cli, [*run, "--csv", str(tmp_path / "out.csv")])
        assert result.exit_code == 0, result.output
        assert "running without a window: no display available" in result.stderr
        assert "run without a window" not in result.stderr  # the advice is already taken
        assert (tmp_path / "out.csv").read_text().startswith("frame,")
        for extra in ([], ["--display", "--csv", str(tmp_path / "again.csv")]):
            result = runner.invoke(cli, [*run, *extra])
            # (in-process the error reaches the caller; `fervision` prints it as one line)
            assert "no display available" in str(result.exception), result.output
            assert not (tmp_path / "again.csv").exists()
    finally:
        unregister_plugin("livesource")


def test_no_output_overwrites_the_input_or_another_output(clip, photo, tmp_path):
    """An output on the input video, on a photo of the input folder, or two outputs on one
    path: one line, exit 1, and every input byte for byte as it was."""
    video = tmp_path / "in.mp4"
    shutil.copy(clip, video)
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "a.jpg")
    before = {p: p.read_bytes() for p in (video, photos / "a.jpg")}
    one_frame = ["--max-frames", "2", "--detector", "haar"]
    one_line_error(
        fervision("run", "--source", video, "--output", video, *one_frame),
        "would overwrite the input",
    )
    for args in (  # a suffix of another kind: refused before that (issue 42)
        ["--source", video, "--csv", video],
        ["--source", video, "--report", video],
        ["--source", photos, "--csv", photos / "a.jpg"],
    ):
        one_line_error(fervision("run", *args, *one_frame), "does not end in", status=2)
    for a, b in (("--csv", "--states"), ("--csv", "--per-second")):
        same = tmp_path / "same.csv"
        result = fervision("run", "--source", video, a, same, b, same, *one_frame)
        one_line_error(result, f"{a} and {b} name the same file", status=2)
        assert not same.exists()
    twice = f"jsonl:{tmp_path / 'faces.jsonl'}"
    result = fervision("run", "--source", video, "--sink", twice, "--sink", twice, *one_frame)
    one_line_error(result, f"--sink {twice} and --sink {twice} name the same file", status=2)
    assert {p: p.read_bytes() for p in before} == before
    for _ in range(2):  # a log beside the photos is not one of them: reruns overwrite it
        result = fervision("run", "--source", photos, "--csv", photos / "log.csv", *one_frame)
        assert result.returncode == 0, result.stderr


def test_a_file_sink_named_without_its_path_is_one_line(photo):
    for sink, what in (("csv", "CSV"), ("video", "video")):
        result = fervision("run", "--source", photo, "--sink", sink, "--detector", "haar")
        one_line_error(result, f"{what} path not given")


def test_a_stage_option_out_of_range_is_a_usage_error(photo):
    for option in ("detector.min_confidence=2", "smoother.tau=-1"):
        result = fervision("run", "--source", photo, "-O", option)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_the_annotator_is_chosen_by_name_and_an_unknown_one_is_a_usage_error(tmp_path):
    bogus = fervision("run", "--source", "sample", "--max-frames", "2", "--annotator", "bogus")
    assert bogus.returncode == 2
    assert bogus.stderr == "error: unknown annotator 'bogus'; known annotators: overlay\n"
    # annotator options need an annotator: --annotator gives one where no output asks for it
    shown = ["--source", "sample", "--max-frames", "2", "-O", "annotator.bars=yes"]
    assert fervision("run", *shown).returncode == 2
    result = fervision("run", *shown, "--annotator", "overlay", "--csv", tmp_path / "a.csv")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize("after", [0.2, 0.5, 1.0])
def test_ctrl_c_while_starting_up_is_one_line(clip, tmp_path, command, after):
    """However early Ctrl-C comes (imports, a batch's workers starting), one line, exit 130."""
    if command == "run":
        args = ["run", "--source", str(clip), "--csv", str(tmp_path / "out.csv")]
    else:
        videos = tmp_path / "videos"
        videos.mkdir()
        for name in ("a.mp4", "b.mp4"):
            shutil.copy(clip, videos / name)
        args = ["batch", str(videos), "--out", str(tmp_path / "results"), "--workers", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "fervision", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as a terminal does: Ctrl-C reaches the whole group
        # and with Ctrl-C heeded, as a terminal's shell starts it (a test run in the
        # background, `pytest &`, ignores it, and so would every process it starts)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(after)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    # 130, or ended by the signal itself (CPython does that when an extension ran the code
    # the interrupt came in): a shell shows 130 for both
    assert process.returncode in (130, -signal.SIGINT), stderr
    assert "Traceback" not in stderr and "\n\n" not in stderr, stderr
    assert "interrupted" in stdout + stderr


DROPPED_CTRL_C = """
import signal, sys, time, weakref
from fervision.entry import main

main(["--version"])  # the command line's process, as it starts


class Box:
    pass


def callback(_):  # a weakref callback, as every import runs one: what it raises is dropped
    signal.raise_signal(signal.SIGINT)
    sum(range(100_000))  # the Ctrl-C's handler runs here


box = Box()
ref = weakref.ref(box, callback)
try:
    del box
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sum(range(1000))
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_a_ctrl_c_that_python_drops_is_delivered_again():
    """A Ctrl-C whose handler runs where Python drops exceptions (a weakref callback, a
    __del__) still stops the command, without a word of the dropped one."""
    result = subprocess.run(
        [sys.executable, "-c", DROPPED_CTRL_C], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 130, result.stderr
    assert "KeyboardInterrupt" not in result.stderr and "ignored" not in result.stderr


CONVERTED_CTRL_C = """
import signal, sys
from fervision import FervisionError, hookimpl, register_plugin
from fervision.entry import main


class Sink:  # loads a native module the way the MediaPipe detector loads LiteRT
    def __init__(self, path=None):
        try:
            try:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C while the module imports
                sum(range(100_000))
            except KeyboardInterrupt as exc:  # pybind11 turns it into this
                raise ImportError("initialization failed") from exc
        except Exception as exc:
            raise FervisionError(f"could not load the model: {exc}") from None

    def write(self, frame):
        pass


class Plugin:
    @hookimpl
    def register_stages(self, registry):
        registry.add("sink", "native", Sink)


register_plugin(Plugin(), "native")
main(["run", "--source", "sample:3", "--sink", "native:x"])
"""


def test_a_ctrl_c_that_native_code_turns_into_an_error_is_the_interrupt():
    result = subprocess.run(
        [sys.executable, "-c", CONVERTED_CTRL_C], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (130, "interrupted\n"), result.stderr


def test_window_options_without_a_window_are_noted_and_plugin_sinks_named(tmp_path):
    out = tmp_path / "t.csv"
    result = fervision(
        "run",
        "--source",
        "sample",
        "--max-frames",
        "3",
        "--timeline",
        "--no-pace",
        "--csv",
        out,
        "--sink",
        f"jsonl:{tmp_path / 't.jsonl'}",
    )
    assert result.returncode == 0, result.stderr
    assert "note: --timeline applies to the window (--display); ignored" in result.stderr
    assert "note: --no-pace applies to the window" in result.stderr
    assert f"jsonl: {tmp_path / 't.jsonl'}" in result.stdout


def test_sink_options_from_the_command_line_reach_the_sinks_of_that_name(tmp_path):
    video = tmp_path / "slow.mp4"
    result = fervision("run", "--source", "sample:30", "--output", video, "-O", "sink.video.fps=10")
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(video))
    assert capture.get(cv2.CAP_PROP_FPS) == 10 and capture.get(cv2.CAP_PROP_FRAME_COUNT) == 30
    capture.release()
    unused = fervision("run", "--source", "sample:3", "--csv", tmp_path / "a.csv",
                       "-O", "sink.jsonl.indent=2")  # fmt: skip
    assert unused.returncode == 2
    assert "no jsonl sink in this run for sink.jsonl options (its sinks: csv)" in unused.stderr
    unknown = fervision("run", "--source", "sample:3", "--csv", tmp_path / "a.csv",
                        "-O", "sink.csv.nope=1")  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: sink 'csv' has no option 'nope'")
    other = tmp_path / "other.csv"  # an -O value wins over the flag's
    moved = fervision("run", "--source", "sample:3", "--csv", tmp_path / "a.csv",
                      "-O", f"sink.csv.path={other}")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert len(other.read_text().splitlines()) == 4
    folder = tmp_path / "frames"  # a folder output's sink is the image sink
    frames = fervision("run", "--source", "sample:5", "--output", f"{folder}/",
                       "-O", "sink.image.max_frames=5")  # fmt: skip
    assert frames.returncode == 0, frames.stderr
    assert len(list(folder.glob("frame-*.png"))) == 5


def test_an_interrupt_of_an_earlier_command_in_the_process_is_not_the_next_ones(capsys):
    """The command line called twice in one process (from Python, or tests): a Ctrl-C the
    first call saw does not make the second exit 130 ("interrupted") as CI once saw."""
    from fervision import interrupts
    from fervision.cli import main

    with pytest.raises(KeyboardInterrupt):
        interrupts.raise_interrupt(signal.SIGINT, None)
    assert interrupts.interrupt_seen()
    main(["plugins"])  # no SystemExit(130)
    assert "interrupted" not in capsys.readouterr().err


def test_output_read_by_a_reader_that_stops_early_ends_quietly():
    """`fervision plugins -v | head -3`: no error line once the reader has gone (141 as
    Unix tools exit on SIGPIPE)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already left: the first write fails
    try:
        result = subprocess.run(
            [sys.executable, "-m", "fervision", "plugins", "-v"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")
