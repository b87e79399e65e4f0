"""Embedding fervision in an app (issue 43): pushing frames, live generators, stopping,
and what Python users see of errors and types. Real frames of a shared clip, the real
detector and classifier, real sockets."""

from __future__ import annotations

import dataclasses
import itertools
import socket
import threading
import time

import cv2
import numpy as np
import pytest

import fervision
from fervision import Analyzer, Face, FervisionError, Frame, Pipeline, SourceInfo

FPS = 29.97  # the shared clip's rate


def decoded(clip, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of ``clip``, decoded by OpenCV as an app would."""
    capture = cv2.VideoCapture(str(clip))
    images = []
    while len(images) < count:
        ok, image = capture.read()
        assert ok, f"{clip} has fewer than {count} frames"
        images.append(image)
    capture.release()
    return images


def faces_of(faces: list[Face]) -> list[tuple]:
    return [(f.box, f.track_id, f.label, round(f.confidence or 0, 6)) for f in faces]


# 1. pushing one image at a time --------------------------------------------------------


def test_pushed_frames_keep_their_track_ids_and_get_the_labels_the_pipeline_gives(clip):
    images = decoded(clip, 40)
    with Analyzer(fps=FPS) as analyzer:
        pushed = [faces_of(analyzer.process(im, timestamp=i / FPS)) for i, im in enumerate(images)]
    taken = threading.Semaphore(0)

    def camera():  # live, and each image waits until the loop has the one before
        for image in images:
            yield image
            assert taken.acquire(timeout=20)

    # a live source is analyzed frame by frame, as pushed images are (a recorded one may
    # hold frames back to look again): the same faces, ids and labels, none dropped
    pipeline, iterated = Pipeline(Camera(camera())), []
    for frame in pipeline:
        iterated.append(faces_of(frame.faces))
        taken.release()
    assert pushed == iterated and pipeline.summary.dropped == 0
    ids = [face[1] for faces in pushed for face in faces if face[1] is not None]
    assert max(ids.count(i) for i in set(ids)) >= 18  # one face followed across calls (a cut at 20)
    assert analyzer.summary.frames == 40 and analyzer.summary.label_counts


def test_pushed_frames_reach_optional_sinks_and_a_later_run_starts_afresh(clip, tmp_path):
    images = decoded(clip, 10)
    out = tmp_path / "pushed.csv"
    analyzer = Analyzer(sinks=[f"csv:{out}"], options={"detector": {"min_confidence": 0.5}})
    first = [analyzer.process(im)[0].track_id for im in images]
    analyzer.close()
    rows = out.read_text().splitlines()
    assert rows[0].startswith("frame,") and len(rows) > len(images)  # every face, written
    assert [analyzer.process(im)[0].track_id for im in images] == first  # tracks anew
    analyzer.close()


def test_pushing_what_is_not_an_image_or_another_size_is_one_line(clip):
    image = decoded(clip, 1)[0]
    analyzer = Analyzer(classifier=None, smoother=None)
    with pytest.raises(FervisionError, match="image 0 of the source is not an image"):
        analyzer.process("frame.jpg")
    analyzer.process(image)
    with pytest.raises(FervisionError, match="image 1 is 320x180, not 640x360 as the first"):
        analyzer.process(cv2.resize(image, (320, 180)))
    analyzer.close()
    with pytest.raises(FervisionError, match="an Analyzer has no source"):
        Analyzer(options={"source": {"fps": 5}})


# 2 and 3. live generators and sources: the newest frame, never a backlog -----------------


class Gates:
    """A camera that yields frame 0, waits until the loop has it, then sends 10 more while
    the loop body is still busy: a live run must skip to the newest, frame 10."""

    def __init__(self, images):
        self.images = images
        self.loop_has_first = threading.Event()
        self.ten_more_sent = threading.Event()

    def camera(self):
        yield self.images[0]
        assert self.loop_has_first.wait(20)
        yield from self.images[1:11]
        self.ten_more_sent.set()  # runs once the reader has taken frame 10 as well

    def slow_loop_body(self, frame):
        if frame.index == 0:
            self.loop_has_first.set()
            assert self.ten_more_sent.wait(20)  # busy while the camera moves on


def test_a_live_generator_drops_stale_frames_so_each_frame_processed_is_the_newest(clip):
    gates = Gates(decoded(clip, 11))
    pipeline = Pipeline(gates.camera(), options={"source": {"live": True}})
    seen = []
    for frame in pipeline:
        seen.append(frame.index)
        gates.slow_loop_body(frame)
    assert seen == [0, 10] and pipeline.summary.dropped == 9
    assert pipeline.info.live and pipeline.summary.latency_ms is not None


class Camera:
    """A source of the user's own, live by its documented attribute (not its SourceInfo)."""

    live = True

    def __init__(self, images):
        self.images = images  # an iterator: read as the camera delivers

    def open(self) -> SourceInfo:
        self.first = next(self.images)
        h, w = self.first.shape[:2]
        return SourceInfo("camera", w, h, FPS)

    def frames(self):
        for i, image in enumerate(itertools.chain([self.first], self.images)):
            yield Frame(image, i, i / FPS, "camera", captured_at=time.perf_counter())


def test_a_source_whose_live_attribute_is_true_is_run_live(clip):
    gates = Gates(decoded(clip, 11))
    pipeline = Pipeline(Camera(gates.camera()), classifier=None, smoother=None)
    seen = []
    for frame in pipeline:
        seen.append(frame.index)
        gates.slow_loop_body(frame)
    assert seen == [0, 10] and pipeline.summary.dropped == 9


# 4. a stop that always stops -------------------------------------------------------------


@pytest.mark.parametrize("live", [False, True])
def test_a_generator_is_closed_when_max_frames_ends_the_run(clip, live):
    images, finished = decoded(clip, 5), []

    def camera():
        try:
            while True:
                yield from images
        finally:
            finished.append("camera released")

    pipeline = Pipeline(camera(), classifier=None, options={"source": {"live": live}})
    assert pipeline.run(max_frames=3).frames == 3
    assert finished == ["camera released"]  # not at garbage collection: the run still lives


def test_close_says_it_did_not_time_out_on_a_stream_still_connecting():
    """A server that accepts and never answers: close() ends the connect at once."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/live"
    pipeline = Pipeline(url, detector=None, tracker=None, classifier=None, smoother=None)
    worker = threading.Thread(target=pipeline.run)
    try:
        worker.start()
        conn, _ = server.accept()  # FFmpeg has connected and waits for the video
        started = time.perf_counter()
        assert pipeline.close(timeout=5) is False
        assert time.perf_counter() - started < 1.5
        worker.join(1)
        assert not worker.is_alive()
        conn.close()
    finally:
        server.close()


def test_close_says_it_timed_out_when_a_generator_blocks_in_the_apps_code(clip):
    image, wake = decoded(clip, 1)[0], threading.Event()

    def camera():
        yield image
        wake.wait(30)  # the app's camera, hung

    pipeline = Pipeline(camera(), detector=None, tracker=None, classifier=None, smoother=None)
    run = pipeline.frames()
    next(run)
    started = time.perf_counter()
    assert pipeline.close() is True  # the run closed, its reader still inside the generator
    assert time.perf_counter() - started < 1.5
    wake.set()


# 5. errors and types from Python --------------------------------------------------------


def test_the_errors_a_run_raises_are_exported_from_fervision():
    from fervision import errors

    for name in ("StageFailed", "SinkFailed", "PluginError", "SinkNotClosed"):
        assert getattr(fervision, name) is getattr(errors, name) and name in fervision.__all__


def test_a_refused_port_says_refused():
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    with pytest.raises(FervisionError) as caught:
        Pipeline(f"rtsp://127.0.0.1:{port}/cam", detector=None, classifier=None).run()
    assert str(caught.value) == (
        f"cannot open stream rtsp://127.0.0.1:{port}/cam: connection refused: nothing "
        f"listens on 127.0.0.1:{port}"
    )


@pytest.mark.parametrize("given", [{"a": 1}, 3.5, object()])
def test_what_is_no_kind_of_source_is_told_what_a_source_can_be(given):
    with pytest.raises(FervisionError, match=r"^a source is a path or URL, a camera index, a "):
        Pipeline(given)


@pytest.mark.parametrize("cls", [Face, Frame])
def test_help_describes_every_field_of_faces_and_frames(cls):
    for field in dataclasses.fields(cls):
        assert f"\n        {field.name}: " in cls.__doc__, field.name
    assert "(x, y, w, h)" in Face.__doc__ and "left, top, width, height" in Face.__doc__
    assert "time.perf_counter()" in Frame.__doc__
