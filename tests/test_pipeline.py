"""The pipeline's logic with small stand-in stages and the real basic plugin."""

import dataclasses
import signal
import time
import types
from contextlib import closing

import numpy as np
import pytest

from fakes import BoxDetector, FixedClassifier, ListSource, RecordingSink
from fervision import (
    Face,
    FervisionError,
    Pipeline,
    StopPipeline,
    hookimpl,
    register_plugin,
    unregister_plugin,
)
from fervision.errors import SinkFailed, StageFailed
from fervision.threads import ReadAhead
from fervision.types import Frame
from fervision_basic.smoothers import EmaSmoother


def make(source=None, **kw):
    kw.setdefault("detector", BoxDetector())
    kw.setdefault("classifier", FixedClassifier())
    kw.setdefault("smoother", EmaSmoother(settle=0))  # a label on every frame
    return Pipeline(source or ListSource(), **kw)


def test_every_frame_reaches_sinks_in_order_and_everything_closes():
    sink, source = RecordingSink(), ListSource(count=12)
    summary = make(source, sinks=[sink]).run()
    assert sink.frames == list(range(12))
    assert sink.closed and source.closed
    assert sink.opened[1] == ("angry", "happy", "sad")
    assert summary.frames == 12 and summary.faces == 12
    assert sum(summary.label_counts.values()) == 12


def test_the_summary_counts_tracked_faces_not_detections_summed_over_frames():
    tracked = make(ListSource(count=12)).run()
    assert tracked.describe().startswith("12 frames, 1 tracked face (12 frames with a face)")
    untracked = make(ListSource(count=12), tracker=None).run()
    assert untracked.describe().startswith("12 frames, 12 face detections (12 frames with")


def test_frames_taken_back_from_the_summary_take_their_track_ids_with_them():
    pipeline = make(ListSource(count=4))
    for index, ids in enumerate([[1], [1, 2], [3], [3]]):
        faces = [Face((0, 0, 9, 9), 0.9, track_id=i, label="sad") for i in ids]
        pipeline.counted(Frame(np.zeros((9, 9, 3), np.uint8), index, index / 10, faces=faces))
    pipeline._uncount_after(1)  # a sink stopped the run at frame 1: frames 2 and 3 go
    assert dict(pipeline.summary.track_frames) == {1: 2, 2: 1}
    assert pipeline.summary.faces == 3 and pipeline.summary.label_counts == {"sad": 3}


def test_iterating_yields_labelled_frames_with_track_ids():
    frames = list(make(ListSource(count=6)))
    assert [f.index for f in frames] == list(range(6))
    assert {f.faces[0].track_id for f in frames} == {1}
    assert all(f.faces[0].label in ("angry", "happy", "sad") for f in frames)


def test_max_frames_stops_early():
    sink = RecordingSink()
    summary = make(ListSource(count=50), sinks=[sink]).run(max_frames=7)
    assert summary.frames == 7 and sink.frames == list(range(7)) and sink.closed


def test_labels_come_from_the_classifier():
    seven = FixedClassifier(labels=tuple("abcdefg"))
    frame = next(iter(make(classifier=seven)))
    assert frame.labels == tuple("abcdefg") and len(frame.faces[0].smoothed) == 7


def test_source_failure_mid_run_is_raised_after_sinks_close():
    sink = RecordingSink()
    with pytest.raises(FervisionError, match="stopped delivering"):
        make(ListSource(count=20, fail_after=5), sinks=[sink]).run()
    assert sink.frames == [0, 1, 2, 3, 4] and sink.closed


def test_stop_pipeline_from_a_sink_ends_cleanly():
    class StopAt3(RecordingSink):
        main_thread = True

        def write(self, frame):
            super().write(frame)
            if frame.index == 3:
                raise StopPipeline

    sink, behind = StopAt3(), RecordingSink()
    summary = make(sinks=[sink, behind]).run()
    # the frame a window's Exit ends at was shown and written: it counts
    assert summary.frames == 4 and sink.closed
    assert sink.frames == behind.frames == [0, 1, 2, 3]


def test_a_background_sink_stopping_the_run_is_what_the_summary_counts():
    class StopAt3(RecordingSink):
        def write(self, frame):
            super().write(frame)
            if frame.index == 3:
                time.sleep(0.2)  # the main thread runs ahead meanwhile
                raise StopPipeline

    sink, behind = StopAt3(), RecordingSink()
    summary = make(ListSource(30), sinks=[behind, sink]).run()
    assert behind.frames == sink.frames == [0, 1, 2, 3]
    assert summary.frames == 4 and summary.frames_with_faces == 4
    assert sum(summary.label_counts.values()) == summary.faces


class Broken(RecordingSink):
    """Raises like a full disk from frame ``at`` on."""

    def __init__(self, at=4, main_thread=False):
        super().__init__()
        self.at, self.main_thread = at, main_thread

    def write(self, frame):
        if frame.index >= self.at:
            raise OSError(28, "No space left on device")
        super().write(frame)


@pytest.mark.parametrize("main_thread", [False, True])
def test_a_failing_sink_stops_the_run_with_its_name_and_the_others_valid(main_thread):
    broken, other, source = Broken(at=4, main_thread=main_thread), RecordingSink(), ListSource(30)
    with pytest.raises(SinkFailed) as err:
        make(source, sinks=[broken, other]).run()
    message = str(err.value)
    assert message.startswith("broken sink failed at frame 4: OSError: [Errno 28] No space left")
    assert "\n" not in message
    assert other.frames == [0, 1, 2, 3, 4]  # the frame the failure happened on, then stop
    assert broken.frames == [0, 1, 2, 3]
    assert broken.closed and other.closed and source.closed


def test_keep_going_lets_the_other_sinks_finish_and_reports_once(caplog):
    broken, other = Broken(at=4), RecordingSink()
    summary = make(ListSource(30), sinks=[broken, other], keep_going=True).run()
    assert other.frames == list(range(30)) and broken.frames == [0, 1, 2, 3]
    assert summary.failed_sinks == [
        "broken sink failed at frame 4: OSError: [Errno 28] No space left on device"
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "broken sink failed at frame 4" in warnings[0]
    assert "stopped early: broken sink" in summary.describe()


def test_a_sink_that_fails_to_close_does_not_keep_the_others_open():
    class BadClose(RecordingSink):
        def close(self):
            raise OSError("flush failed")

    first, last = BadClose(), RecordingSink()
    with pytest.raises(FervisionError, match="cannot close badclose sink: OSError: flush failed"):
        make(ListSource(5), sinks=[first, last]).run()
    assert last.closed and last.frames == list(range(5))


def test_detect_every_n_carries_boxes_between_detections():
    calls = []

    class Counting(BoxDetector):
        def detect(self, frame):
            calls.append(frame.index)
            return super().detect(frame)

    frames = list(make(ListSource(count=9), detector=Counting(), detect_every=3))
    assert calls == [0, 3, 6]
    assert all(len(f.faces) == 1 for f in frames)
    assert frames[1].faces[0].box == frames[0].faces[0].box


def test_recorded_sources_detect_through_detect_stream_and_live_ones_frame_by_frame():
    class Streaming(BoxDetector):
        streamed = 0

        def detect_stream(self, frames):
            for frame in frames:
                Streaming.streamed += 1
                frame.faces = self.detect(frame)
                yield frame

    frames = list(make(ListSource(count=6), detector=Streaming()))
    assert Streaming.streamed == 6 and all(len(f.faces) == 1 for f in frames)
    list(make(ListSource(count=6, live=True), detector=Streaming()))
    list(make(ListSource(count=6), detector=Streaming(), detect_every=2))
    assert Streaming.streamed == 6  # live sources and detect_every use detect()


def test_keyboard_interrupt_marks_summary_and_closes_sinks():
    sink = RecordingSink()
    pipeline = make(ListSource(count=100), sinks=[sink])
    with pytest.raises(KeyboardInterrupt), closing(pipeline.frames()) as frames:
        for frame in frames:
            if frame.index == 10:
                raise KeyboardInterrupt
    assert sink.closed and sink.frames == list(range(11))


def test_keyboard_interrupt_inside_a_stage_marks_summary():
    class Interrupting(BoxDetector):
        def detect(self, frame):
            if frame.index == 4:
                raise KeyboardInterrupt
            return super().detect(frame)

    sink = RecordingSink()
    pipeline = make(ListSource(count=100), detector=Interrupting(), sinks=[sink])
    with pytest.raises(KeyboardInterrupt):
        pipeline.run()
    assert pipeline.summary.interrupted and sink.closed and sink.frames == [0, 1, 2, 3]


def test_ctrl_c_just_after_a_frame_went_to_the_sinks_still_counts_it(monkeypatch):
    """The summary (and the report's "frames processed") counts every frame the file sinks
    got, wherever the signal lands (CI saw 396 counted for 397 written once)."""
    from fervision import threads
    from fervision.interrupts import raise_interrupt

    put = threads.WriteBehind.put

    def put_then_signal(self, frame):
        put(self, frame)
        if frame.index == 10:
            signal.raise_signal(signal.SIGTERM)  # lands before the frame is counted

    monkeypatch.setattr(threads.WriteBehind, "put", put_then_signal)
    sink = RecordingSink()
    pipeline = make(ListSource(count=100), sinks=[sink])
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            pipeline.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert pipeline.summary.interrupted and sink.closed
    assert pipeline.summary.frames == len(sink.frames) == 11


def test_live_source_drops_stale_frames_and_keeps_latency_bounded():
    class Slow(BoxDetector):
        def detect(self, frame):
            time.sleep(0.02)
            return super().detect(frame)

    class FastCamera(ListSource):
        def frames(self):
            for frame in super().frames():
                time.sleep(0.002)
                frame.captured_at = time.perf_counter()
                yield frame

    pipeline = make(FastCamera(count=200, live=True), detector=Slow())
    summary = pipeline.run()
    assert summary.dropped > 50
    assert summary.frames + summary.dropped == 200
    # Bounded: about one processing interval (20 ms) plus a little, never the backlog.
    assert summary.latency_ms < 100


def test_read_ahead_close_stops_a_blocked_producer():
    reader = ReadAhead(lambda: iter(range(10**9)), maxsize=2)
    next(iter(reader))
    reader.close()
    assert not reader._thread.is_alive()


@pytest.mark.parametrize("max_frames", [0, -3, 2.5, True, "7"])
def test_max_frames_that_is_not_a_count_is_one_clear_error(max_frames):
    source = ListSource(count=5)
    with pytest.raises(FervisionError, match="max_frames must be a whole number, 1 or more"):
        make(source).run(max_frames=max_frames)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"detect_every": 0}, "detect_every must be a whole number"),
        ({"detect_every": "2"}, "detect_every must be a whole number"),
        ({"options": {"smoother": 0.5}}, "options for smoother must be a dict"),
    ],
)
def test_arguments_of_the_wrong_kind_are_one_clear_error(given, message):
    with pytest.raises(FervisionError, match=message):
        make(**given)


def test_a_pathlib_path_opens_as_its_string_does(tmp_path):
    import cv2
    import numpy as np

    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), np.full((40, 60, 3), 90, np.uint8))
    for source in (photo, str(photo)):
        frames = list(make(source))
        assert len(frames) == 1 and frames[0].image.shape == (40, 60, 3)


def test_unknown_stage_name_lists_known_ones():
    with pytest.raises(FervisionError, match=r"unknown smoother 'wobble'; known smoothers: .*ema"):
        make(smoother="wobble")


def test_sigterm_handler_turns_into_keyboard_interrupt():
    from fervision.interrupts import raise_interrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
            time.sleep(1)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_plugin_sink_given_the_input_as_its_path_is_refused_before_it_opens(clip, tmp_path):
    """Any sink with a ``path`` naming the input is refused; the video stays intact."""
    import shutil
    from pathlib import Path

    video = shutil.copy(clip, tmp_path / "clip.mp4")
    before = Path(video).read_bytes()

    class TruncatingSink:
        def __init__(self, path):
            self.path = path

        def open(self, info, labels):
            open(self.path, "w").close()

        def write(self, frame):
            pass

    sink = TruncatingSink(str(video))
    pipeline = Pipeline(str(video), detector=None, tracker=None, classifier=None, sinks=[sink])
    with pytest.raises(FervisionError, match="would overwrite the input"):
        pipeline.run()
    assert Path(video).read_bytes() == before


def test_one_pipeline_iterated_twice_at_once_is_refused_then_runs_again():
    pipeline = Pipeline(
        ListSource(count=5), detector=BoxDetector(), tracker=None, classifier=FixedClassifier()
    )
    first = pipeline.frames()
    next(first)
    with pytest.raises(FervisionError, match="already running"):
        next(iter(pipeline))
    assert len(list(first)) == 4  # the first run is untouched
    assert pipeline.run().frames == 5  # and once it ended, the pipeline runs again


def test_numpy_images_in_memory_are_a_source(photo):
    """One array is a photo; a list or a generator of arrays is video with stable ids."""
    import cv2

    image = cv2.imread(str(photo))
    summary = Pipeline(image, classifier=None).run()
    assert summary.stills and summary.frames == 1 and summary.faces == 2
    frames = list(Pipeline([image] * 5, classifier=None))
    assert [f.timestamp for f in frames] == [i / 30 for i in range(5)]
    assert {face.track_id for face in frames[-1].faces} == {1, 2}
    gray = (cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) for _ in range(3))
    summary = Pipeline(gray, classifier=None, options={"source": {"fps": 10}}).run()
    assert summary.frames == 3 and summary.faces == 6 and not summary.stills
    for scaled in (image / 255.0, image.astype(np.float32), image.astype(np.uint16) * 257):
        assert Pipeline(scaled, classifier=None).run().faces == 2  # floats 0..1, 0..255, 16 bit


@pytest.mark.parametrize(
    "images, message",
    [
        ([np.zeros(3, np.uint8)], r"image 0 of the source is not an image .*: \(3,\)"),
        ([], "the source has no images"),
    ],
)
def test_numpy_images_that_are_not_images_are_one_line(images, message):
    with pytest.raises(FervisionError, match=message):
        Pipeline(images, detector=None, tracker=None, classifier=None).run()


def test_a_sink_that_fails_to_open_is_named_in_the_error(tmp_path):
    class LockedSink:
        path = str(tmp_path / "out.jsonl")

        def open(self, info, labels):
            raise PermissionError(13, "Permission denied")

        def write(self, frame):
            pass

    pipeline = Pipeline(ListSource(count=3), detector=None, tracker=None, classifier=None)
    pipeline.sinks = [LockedSink()]
    with pytest.raises(FervisionError, match=r"cannot open locked sink .*out.jsonl: Permission"):
        pipeline.run()


def test_leaving_a_with_block_ends_the_run_even_while_a_traceback_holds_the_loop():
    sink, source = RecordingSink(), ListSource(30)
    with pytest.raises(RuntimeError) as caught:  # keeps the loop's frame, as a notebook does
        with make(source, sinks=[sink]) as pipeline:
            for frame in pipeline:
                if frame.index == 5:
                    raise RuntimeError("user code failed")
    assert caught.value is not None
    assert sink.closed and source.closed and sink.frames == list(range(6))
    assert pipeline.run().frames == 30  # the pipeline can run again


def test_close_without_a_run_does_nothing():
    pipeline = make()
    pipeline.close()
    assert pipeline.run().frames == 10


class OddDetector(BoxDetector):
    """From frame 3 on, gives what ``result(frame)`` returns instead of a list of Faces."""

    def __init__(self, result):
        super().__init__()
        self.result = result

    def detect(self, frame):
        return self.result(frame) if frame.index >= 3 else super().detect(frame)


def _raise(exc):
    raise exc


@pytest.mark.parametrize(
    "result, message",
    [
        (lambda f: _raise(RuntimeError("boom")), "detector OddDetector failed at frame 3: Runtime"),
        (lambda f: None, "detector OddDetector gave NoneType at frame 3, not a list"),
        (lambda f: {"box": (1, 2, 3, 4)}, "detector OddDetector gave dict at frame 3, not a list"),
        (lambda f: [(1, 2, 3, 4)], "detector OddDetector gave a tuple at frame 3, not a fervision"),
        (lambda f: [Face((1, 2, 3), 0.9)], "detector OddDetector gave box (1, 2, 3) at frame 3"),
        (lambda f: [Face((1, 2, 3, 4), None)], "detector OddDetector gave score None at frame 3"),
        (lambda f: [Face((1, float("nan"), 3, 4))], "detector OddDetector gave box (1, nan, 3"),
    ],
)
def test_a_detector_that_raises_or_breaks_its_contract_is_named_in_one_line(result, message):
    sink, source = RecordingSink(), ListSource(10)
    with pytest.raises(StageFailed) as caught:
        make(source, detector=OddDetector(result), sinks=[sink]).run()
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert sink.frames == [0, 1, 2] and sink.closed and source.closed


def test_a_detector_giving_float_boxes_or_a_generator_gets_whole_pixel_boxes():
    detector = OddDetector(lambda f: (Face((10.6, np.float32(5.2), 20.4, 19.5), 0.9) for _ in "x"))
    frames = list(make(ListSource(5), detector=detector))
    assert [f.faces[0].box for f in frames[3:]] == [(11, 5, 20, 20)] * 2
    assert all(type(v) is int for f in frames for v in f.faces[0].box)


def test_boxes_are_clipped_to_the_frame_and_faces_outside_it_left_out():
    """ListSource frames are 64 x 48."""
    boxes = [(-10, -5, 30, 20), (50, 40, 30, 30), (70, 10, 5, 5), (10, -30, 10, 10)]
    detector = OddDetector(lambda f: [Face(b, 0.9) for b in boxes])
    frames = list(make(ListSource(5), detector=detector, tracker=None))
    assert [f.box for f in frames[3].faces] == [(0, 0, 20, 15), (50, 40, 14, 8)]


class BrokenSource(ListSource):
    def __init__(self, fail_at, **kw):
        super().__init__(**kw)
        self.fail_at = fail_at

    def open(self):
        if self.fail_at == "open":
            raise OSError(5, "Input/output error")
        return super().open()

    def frames(self):
        for frame in super().frames():
            if frame.index == self.fail_at:
                raise ValueError("bad packet")
            yield frame


@pytest.mark.parametrize(
    "fail_at, message",
    [
        ("open", "source BrokenSource could not be opened: OSError: [Errno 5] Input/output error"),
        (4, "source 'fake' failed after 4 frames: ValueError: bad packet"),
    ],
)
def test_a_source_that_raises_is_named_in_one_line(fail_at, message):
    sink = RecordingSink()
    with pytest.raises(StageFailed) as caught:
        make(BrokenSource(fail_at), sinks=[sink]).run()
    assert str(caught.value) == message
    assert sink.closed or fail_at == "open"


def test_a_detect_stream_that_raises_is_named_with_its_frame():
    class StreamDetector(BoxDetector):
        def detect_stream(self, frames):
            for frame in frames:
                if frame.index == 6:
                    raise KeyError("held")
                frame.faces = self.detect(frame)
                yield frame

    sink = RecordingSink()
    with pytest.raises(StageFailed) as caught:
        make(ListSource(10), detector=StreamDetector(), sinks=[sink]).run()
    assert str(caught.value) == "detector StreamDetector failed at frame 6: KeyError: 'held'"
    assert sink.frames == list(range(6)) and sink.closed


def test_a_failing_tracker_or_a_classifier_with_too_many_probabilities_is_named():
    class Lost:
        def update(self, frame):
            if frame.index == 4:
                raise KeyError("track-key")

    class Extra(FixedClassifier):
        def classify(self, frame):
            for face in frame.faces:
                face.probs = np.full(4, 0.25, np.float32)  # four for three labels

    with pytest.raises(
        StageFailed, match="^tracker Lost failed at frame 4: KeyError: 'track-key'$"
    ):
        make(tracker=Lost()).run()
    with pytest.raises(
        StageFailed, match="^classifier Extra gave 4 probabilities for its 3 labels"
    ):
        make(classifier=Extra()).run()


@pytest.mark.parametrize("probs, shown", [([0.5, np.nan, 0.5], "0.5, nan, 0.5"), ([3, -2, 0], "3")])
def test_a_classifier_giving_what_are_not_probabilities_is_named(probs, shown):
    class Scores(FixedClassifier):
        def classify(self, frame):
            for face in frame.faces:
                face.probs = np.array(probs, np.float32)

    with pytest.raises(StageFailed, match=rf"^classifier Scores gave probabilities \[{shown}"):
        make(classifier=Scores()).run()


def test_a_classifier_whose_labels_are_one_string_is_named():
    class Letters(FixedClassifier):
        pass

    with pytest.raises(StageFailed, match="^classifier Letters has labels 'abc', not a list"):
        make(classifier=Letters("abc")).run()


def test_a_classifier_giving_a_table_of_probabilities_a_face_is_named():
    class Table(FixedClassifier):
        def classify(self, frame):
            for face in frame.faces:
                face.probs = np.full((3, 3), 1 / 3)

    expected = "^classifier Table gave probabilities as shape \\(3, 3\\) at frame 0, not one"
    with pytest.raises(StageFailed, match=expected):
        make(classifier=Table()).run()


@pytest.mark.parametrize(
    "smoothed, message",
    [
        (np.ones(2), "gave 2 smoothed probabilities for its 3 labels"),
        ("x", "gave smoothed probabilities as a str"),
    ],
)
def test_a_smoother_whose_probabilities_do_not_fit_the_labels_is_named(smoothed, message):
    """Caught here, not as a short CSV row whose raw columns slide into the smoothed ones."""

    class Short(EmaSmoother):
        def update(self, frame):
            super().update(frame)
            for face in frame.faces:
                face.smoothed = smoothed

    sink = RecordingSink()
    with pytest.raises(StageFailed, match=f"^smoother Short {message} at frame 0"):
        make(smoother=Short(), sinks=[sink]).run()
    assert sink.frames == [] and sink.closed


@pytest.mark.parametrize(
    "drawn, message",
    [
        (None, "gave NoneType at frame 0"),
        (np.zeros((10, 10, 3), np.uint8), "gave a 10x10x3 uint8 image at frame 0"),
        (np.zeros((48, 64), np.uint8), "gave a 48x64 uint8 image"),
        (np.zeros((48, 64, 3), np.float32), "gave a 48x64x3 float32 image"),
    ],
)
def test_an_annotator_that_draws_no_frame_sized_bgr_image_is_named(drawn, message):
    class Painter:
        def annotate(self, frame):
            return drawn

    with pytest.raises(StageFailed, match=f"^annotator Painter {message}.*not a 48x64x3 uint8"):
        make(annotator=Painter()).run()


def test_a_registered_stage_that_fails_is_named_with_its_plugin():
    class Failing(FixedClassifier):
        def classify(self, frame):
            raise ValueError("no licence")

    def register_stages(registry):
        registry.add("classifier", "licensed", Failing)

    plugin = types.SimpleNamespace(register_stages=hookimpl(register_stages))
    register_plugin(plugin, name="vendor")
    try:
        with pytest.raises(StageFailed) as caught:
            make(classifier="licensed").run()
    finally:
        unregister_plugin("vendor")
    expected = "plugin 'vendor' classifier 'licensed' failed at frame 0: ValueError: no licence"
    assert str(caught.value) == expected


class SlowSource(ListSource):
    """A long source delivering about 100 frames a second."""

    def frames(self):
        for frame in super().frames():
            time.sleep(0.01)
            yield frame


@pytest.mark.parametrize("live", [False, True])
def test_close_from_another_thread_ends_the_run_with_every_output_closed(live):
    """A GUI's Stop button: the run is in a worker thread, close() comes from the UI thread
    (was: "generator already executing")."""
    import threading

    sink, source = RecordingSink(), SlowSource(count=100_000, live=live)
    pipeline = make(source, sinks=[sink])
    results = []
    worker = threading.Thread(target=lambda: results.append(pipeline.run()))
    worker.start()
    deadline = time.monotonic() + 10
    while len(sink.frames) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    pipeline.close()
    assert sink.closed and source.closed  # closed when close() returns
    worker.join(5)
    assert not worker.is_alive() and results
    assert 5 <= results[0].frames == len(sink.frames) < 1000


def test_stop_ends_a_loop_in_another_thread_at_its_next_frame():
    import threading

    pipeline = make(SlowSource(count=100_000))
    seen = []

    def loop():
        for frame in pipeline:
            seen.append(frame.index)

    worker = threading.Thread(target=loop)
    worker.start()
    while len(seen) < 3:
        time.sleep(0.01)
    pipeline.stop()
    worker.join(5)
    assert not worker.is_alive() and seen == list(range(len(seen)))
    assert pipeline.run(max_frames=4).frames == 4  # a stop does not carry over to a new run


def test_one_sink_may_be_given_alone_not_in_a_list(tmp_path):
    out = tmp_path / "one.csv"
    make(ListSource(3), sinks=f"csv:{out}").run()
    assert len(out.read_text().splitlines()) == 4


def test_from_spec_names_a_misspelt_stage_and_gives_images_their_source_options():
    from fervision import PipelineSpec

    spec = PipelineSpec(detector=None, tracker=None, classifier=None, smoother=None)
    with pytest.raises(FervisionError, match="from_spec got 'detecter', not a stage kind"):
        Pipeline.from_spec(spec, "sample", detecter=BoxDetector())
    images = [np.zeros((48, 64, 3), np.uint8)] * 4
    timed = dataclasses.replace(spec, options={"source": {"fps": 4}})
    frames = list(Pipeline.from_spec(timed, images))
    assert [f.timestamp for f in frames] == [0.0, 0.25, 0.5, 0.75]


@pytest.mark.parametrize("main_thread", [False, True])
def test_close_from_a_sink_of_the_run_ends_it_after_that_frame(main_thread):
    """A sink steering the run (README: bind) may close it; it must not deadlock (was: a
    hang for good) nor fail with "generator already executing"."""

    class Closer(RecordingSink):
        def bind(self, pipeline):
            self.pipeline = pipeline

        def write(self, frame):
            super().write(frame)
            if frame.index == 5:
                self.pipeline.close()

    Closer.main_thread = main_thread
    sink, source = Closer(), SlowSource(count=1000)
    summary = make(source, sinks=[sink]).run()
    assert 6 <= summary.frames < 20 and sink.closed and source.closed


def test_stop_is_quick_when_the_source_waits_for_frames():
    """A generator from the user's own camera loop, blocked waiting for the next image."""
    import queue
    import threading

    images: queue.Queue = queue.Queue()

    def camera():
        while True:
            yield images.get()

    pipeline = Pipeline(camera(), detector=None, tracker=None, classifier=None)
    worker = threading.Thread(target=pipeline.run)
    worker.start()
    for _ in range(3):
        images.put(np.zeros((48, 64, 3), np.uint8))
    time.sleep(0.3)
    started = time.perf_counter()
    pipeline.stop()
    worker.join(5)
    assert not worker.is_alive() and time.perf_counter() - started < 1.5
    assert pipeline.summary.frames == 3


@pytest.mark.parametrize("method, done", [("open", "opened"), ("close", "closed")])
def test_a_stage_whose_open_or_close_raises_is_named(method, done):
    class Licensed(BoxDetector):
        pass

    def fail(*args):
        raise RuntimeError("no licence key")

    setattr(Licensed, method, fail)
    sink, source = RecordingSink(), ListSource(5)
    with pytest.raises(StageFailed) as caught:
        make(source, detector=Licensed(), sinks=[sink]).run()
    assert (
        str(caught.value) == f"detector Licensed could not be {done}: RuntimeError: no licence key"
    )
    assert source.closed


class OddSource(ListSource):
    def __init__(self, gives):
        super().__init__()
        self.gives = gives

    def open(self):
        return None if self.gives == "no info" else super().open()

    def frames(self):
        for frame in super().frames():
            yield frame.image if self.gives == "images" else frame


@pytest.mark.parametrize(
    "gives, message",
    [
        ("no info", "source OddSource open() gave NoneType, not a fervision SourceInfo"),
        ("images", "source 'fake' gave a ndarray at frame 0, not a fervision Frame"),
    ],
)
def test_a_source_breaking_its_contract_is_named(gives, message):
    with pytest.raises(StageFailed) as caught:
        make(OddSource(gives)).run()
    assert str(caught.value) == message


class Odd:
    """A tracker or smoother that sets ``attribute`` to ``value`` on every face."""

    def __init__(self, attribute, value):
        self.attribute, self.value = attribute, value

    def update(self, frame):
        for face in frame.faces:
            setattr(face, self.attribute, self.value)


@pytest.mark.parametrize(
    "stage, attribute, value, message",
    [
        ("detector", None, None, "detector OddDetector gave box None at frame 3"),
        ("detector", "score", 5.0, "detector OddDetector gave score 5.0 at frame 3, not a number"),
        ("tracker", "track_id", "A", "tracker Odd gave track_id 'A' at frame 0, not a whole"),
        ("smoother", "confidence", "high", "smoother Odd gave confidence 'high' at frame 0"),
        ("smoother", "label", 3, "smoother Odd gave label 3 at frame 0, not text"),
    ],
)
def test_a_stage_giving_bad_values_is_named_not_the_sink_that_trips_on_them(
    stage, attribute, value, message, tmp_path
):
    if stage == "detector":
        score = 0.9 if attribute is None else value
        stages = {
            "detector": OddDetector(
                lambda f: [Face(None if attribute is None else (1, 2, 3, 4), score)]
            )
        }
    else:
        stages = {stage: Odd(attribute, value)}
    with pytest.raises(StageFailed) as caught:
        make(sinks=[f"csv:{tmp_path / 'out.csv'}"], **stages).run()
    assert str(caught.value).startswith(message)


def test_numpy_track_ids_are_whole_numbers():
    frames = list(make(ListSource(3), tracker=Odd("track_id", np.int64(7))))
    assert all(type(f.faces[0].track_id) is int for f in frames)


def test_source_options_for_numpy_images_are_checked_like_any_stages():
    from fervision.options import OptionError

    image = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(
        OptionError, match="images source option fps: 'abc' is not float; it accepts: fps"
    ):
        Pipeline([image], options={"source": {"fps": "abc"}})
    with pytest.raises(OptionError, match="images source has no option 'fsp'"):
        Pipeline([image], options={"source": {"fsp": 10}})
    assert Pipeline([image], options={"source": {"fps": "12"}}).source.fps == 12.0


def test_an_empty_image_and_two_sinks_on_one_path_are_one_line(tmp_path):
    with pytest.raises(FervisionError, match=r"image 0 of the source is empty: \(0, 0, 3\)"):
        Pipeline(np.zeros((0, 0, 3), np.uint8), detector=None, classifier=None).run()
    out = tmp_path / "d.csv"
    with pytest.raises(FervisionError, match="name the same file"):
        Pipeline("sample", sinks=[f"csv:{out}", f"csv:{out}"])


class WaitingCamera(ListSource):
    """A live camera that sends three frames, then none until it is closed (a stream down)."""

    def __init__(self):
        super().__init__(count=3, live=True)
        self.closing = False

    def frames(self):
        yield from super().frames()
        while not self.closing:
            time.sleep(0.01)

    def close(self):
        self.closing = True
        super().close()


def test_a_window_answers_while_no_frame_comes_and_exit_ends_at_once():
    """The window's controls are pumped while a stream is down; its Exit ends the run
    without waiting for the stream (was: dead controls until frames came back)."""

    class Window(RecordingSink):
        main_thread = True
        idled = 0

        def idle(self):
            self.idled += 1
            if self.idled == 10:  # the user presses Exit half a second into the outage
                raise StopPipeline

    window, camera = Window(), WaitingCamera()
    started = time.perf_counter()
    summary = make(camera, sinks=[window]).run()
    assert window.idled == 10 and summary.frames >= 1 and camera.closed
    assert time.perf_counter() - started < 2.0


def test_a_run_left_open_when_python_exits_closes_its_outputs(tmp_path):
    """``frames()`` neither exhausted nor closed when the script ends: the run is closed
    before Python's teardown (no abort, no ignored exception) and the CSV holds the frames
    the script took."""
    import csv
    import subprocess
    import sys

    script = (
        "from fervision import Pipeline\n"
        "frames = Pipeline('sample', sinks=['csv:left.csv']).frames(max_frames=50)\n"
        "taken = [next(frames).index for _ in range(3)]\n"
        "print(taken)\n"
    )
    for _ in range(3):  # the teardown's failures came in turns: abort or traceback
        (tmp_path / "left.csv").unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[0, 1, 2]"
        assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
        with open(tmp_path / "left.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert sorted({int(row["frame"]) for row in rows}) == [0, 1, 2]
