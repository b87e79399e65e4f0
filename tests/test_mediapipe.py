"""The MediaPipe detector plugin: real models, real media, a real local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fervision import FervisionError, Frame, get_registry
from fervision_mediapipe import models
from fervision_mediapipe.detector import MediaPipeDetector

cv2 = pytest.importorskip("cv2")
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mediapipe") is None, reason="mediapipe is not installed"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """A cache of this test's own, no model from the environment, no internet."""
    monkeypatch.setenv("FERVISION_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    monkeypatch.setenv(models.URL_ENV, f"http://127.0.0.1:{_closed_port()}/none.tflite")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cached(variant: str = "short") -> Path:
    return models.cache_dir() / models.MODELS[variant].filename


def _leftovers() -> list[str]:
    folder = models.cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def full_model(mediapipe_model) -> Path:
    path = mediapipe_model.parent / "face_detection_full_range_sparse.tflite"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture
def photo_frame(photo) -> Frame:
    return Frame(cv2.imread(str(photo)), 0, 0.0)


class _Server:
    """A local HTTP server answering every GET with ``body``, claiming ``length`` bytes."""

    def __init__(self):
        self.body = b""
        self.length: int | None = None
        self.status = 200
        self.hits = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                self.send_response(server.status)
                self.send_header("Content-Type", "application/octet-stream")
                length = len(server.body) if server.length is None else server.length
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(server.body)  # fewer bytes than claimed: a cut transfer
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/model.tflite"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    srv = _Server()
    monkeypatch.setenv(models.URL_ENV, srv.url)
    yield srv
    srv.close()


def _check_two_faces(faces, frame):
    assert len(faces) == 2, faces
    for face in faces:
        x, y, w, h = face.box
        assert all(isinstance(v, int) for v in face.box)
        assert 0 <= x and 0 <= y and x + w <= frame.width and y + h <= frame.height
        assert 60 <= w <= 400 and 60 <= h <= 400 and 0.6 < w / h < 1.6
        assert 0.5 <= face.score <= 1.0
    (a, b) = sorted(faces, key=lambda f: f.box[0])
    assert a.xyxy[2] <= b.xyxy[0]  # side by side, not overlapping
    assert faces[0].score >= faces[1].score


# --- detection on real media ---------------------------------------------------------


def test_finds_both_faces_in_photo(mediapipe_model, photo_frame):
    with MediaPipeDetector(model=mediapipe_model) as detector:
        faces = detector.detect(photo_frame)
    _check_two_faces(faces, photo_frame)


def test_finds_faces_in_most_clip_frames(mediapipe_model, clip):
    detector = MediaPipeDetector(model=mediapipe_model)
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    counts = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frame = Frame(image, len(counts), len(counts) / fps)
        faces = detector.detect(frame)  # opens lazily
        for face in faces:
            x, y, w, h = face.box
            assert 0 <= x < x + w <= frame.width and 0 <= y < y + h <= frame.height
        counts.append(len(faces))
    capture.release()
    detector.close()
    detector.close()  # idempotent
    assert len(counts) == 275
    assert sum(c > 0 for c in counts) / len(counts) > 0.7


def test_full_range_variant_works(full_model, photo_frame):
    detector = get_registry().build("detector", "mediapipe:full", model=str(full_model))
    assert detector.variant == "full"
    try:
        _check_two_faces(detector.detect(photo_frame), photo_frame)
    finally:
        detector.close()


def test_downscale_maps_boxes_back(mediapipe_model, photo_frame):
    with MediaPipeDetector(model=mediapipe_model) as full_size:
        reference = sorted(f.box for f in full_size.detect(photo_frame))
    with MediaPipeDetector(model=mediapipe_model, downscale=480) as small:
        boxes = sorted(f.box for f in small.detect(photo_frame))
    assert len(boxes) == 2
    for (x, y, w, _), (rx, ry, rw, rh) in zip(boxes, reference, strict=True):
        assert abs(x - rx) < 0.15 * rw and abs(y - ry) < 0.15 * rh and abs(w - rw) < 0.15 * rw


def test_repeated_timestamps_and_reopen(mediapipe_model, photo_frame):
    detector = MediaPipeDetector(model=mediapipe_model, min_confidence="0.5")
    for _ in range(3):  # the same timestamp three times (VIDEO mode needs increasing ones)
        assert len(detector.detect(photo_frame)) == 2
    detector.close()
    assert len(detector.detect(photo_frame)) == 2  # lazily reopened
    detector.open(None)  # already open: kept
    gray = Frame(cv2.cvtColor(photo_frame.image, cv2.COLOR_BGR2GRAY), 1, 0.0)
    assert len(detector.detect(gray)) == 2
    detector.close()


def test_in_a_pipeline(mediapipe_model, clip):
    from fervision import Pipeline

    detector = MediaPipeDetector(model=mediapipe_model)
    pipeline = Pipeline(str(clip), detector=detector, tracker=None, classifier=None, smoother=None)
    summary = pipeline.run(max_frames=40)
    assert summary.frames == 40 and summary.frames_with_faces >= 20
    assert detector._detector is None  # closed by the pipeline


# --- options -------------------------------------------------------------------------


def test_registry_spec_and_options(mediapipe_model):
    registry = get_registry()
    detector = registry.build("detector", "mediapipe", model=str(mediapipe_model))
    assert detector.variant == "short" and detector.model_path == mediapipe_model
    assert registry.build("detector", "mediapipe:short", model=str(mediapipe_model))
    with pytest.raises(FervisionError, match="unknown MediaPipe face model variant 'medium'"):
        registry.build("detector", "mediapipe:medium", model=str(mediapipe_model))
    with pytest.raises(FervisionError, match="min_confidence"):
        MediaPipeDetector(model=mediapipe_model, min_confidence=2)
    with pytest.raises(FervisionError, match="downscale"):
        MediaPipeDetector(model=mediapipe_model, downscale=10)
    assert MediaPipeDetector(model=mediapipe_model, downscale="none").downscale is None


# --- finding the model ---------------------------------------------------------------


def test_explicit_path(mediapipe_model, tmp_path):
    assert MediaPipeDetector(model=mediapipe_model).model_path == mediapipe_model
    missing = tmp_path / "nope.tflite"
    with pytest.raises(FervisionError, match="not found: .*nope.tflite"):
        MediaPipeDetector(model=missing)


def test_environment_variable(mediapipe_model, monkeypatch, tmp_path):
    monkeypatch.setenv(models.MODEL_ENV, str(mediapipe_model))
    assert MediaPipeDetector().model_path == mediapipe_model
    monkeypatch.setenv(models.MODEL_ENV, str(tmp_path / "gone.tflite"))
    with pytest.raises(FervisionError, match=models.MODEL_ENV):
        MediaPipeDetector()


def test_cache_is_used_without_network(mediapipe_model, photo_frame):
    target = _cached()
    target.parent.mkdir(parents=True)
    target.write_bytes(mediapipe_model.read_bytes())
    detector = MediaPipeDetector()  # the URL points at a closed port: no download tried
    assert detector.model_path == target
    assert len(detector.detect(photo_frame)) == 2
    detector.close()


def test_download_into_cache(mediapipe_model, server, photo_frame):
    server.body = mediapipe_model.read_bytes()
    detector = MediaPipeDetector()
    target = _cached()
    assert detector.model_path == target and server.hits == 1
    assert hashlib.sha256(target.read_bytes()).hexdigest() == models.MODELS["short"].sha256[1]
    assert _leftovers() == [target.name]
    _check_two_faces(detector.detect(photo_frame), photo_frame)
    detector.close()
    MediaPipeDetector()  # now from the cache
    assert server.hits == 1


def test_truncated_download_leaves_nothing(mediapipe_model, server):
    data = mediapipe_model.read_bytes()
    server.body, server.length = data[: len(data) // 2], len(data)  # connection cut early
    with pytest.raises(FervisionError, match="cut short"):
        MediaPipeDetector()
    assert _leftovers() == []


def test_cut_file_leaves_nothing(mediapipe_model, server):
    server.body = mediapipe_model.read_bytes()[:150_000]  # complete transfer of a cut file
    with pytest.raises(FervisionError, match="too small"):
        MediaPipeDetector()
    assert _leftovers() == []


def test_corrupt_download_leaves_nothing(mediapipe_model, server):
    data = bytearray(mediapipe_model.read_bytes())
    data[100_000:100_016] = bytes(16)  # right size, TFL3 header intact, wrong bytes
    server.body = bytes(data)
    with pytest.raises(FervisionError, match="unknown sha256"):
        MediaPipeDetector()
    assert _leftovers() == []


def test_http_error_is_reported(server):
    server.status, server.body = 404, b"not found"
    with pytest.raises(FervisionError, match="HTTP 404 from http://127.0.0.1"):
        MediaPipeDetector()
    assert _leftovers() == []


def test_offline_error_names_the_fix():
    with pytest.raises(FervisionError) as info:
        MediaPipeDetector()
    message = str(info.value)
    assert "\n" not in message
    assert "--detector-model PATH" in message and models.MODEL_ENV in message
    assert str(_cached()) in message and "download" in message
    assert _leftovers() == []


def test_non_model_file_is_a_clear_error(tmp_path, photo):
    with pytest.raises(FervisionError, match="not a TFLite model"):
        MediaPipeDetector(model=photo)
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"\x00\x00\x00\x00TFL3" + bytes(2000))  # the header and nothing else
    with pytest.raises(FervisionError, match="MediaPipe could not load .*fake.tflite"):
        MediaPipeDetector(model=fake)
    with pytest.raises(FervisionError, match="is not a file"):
        MediaPipeDetector(model=tmp_path)


def test_import_does_not_load_mediapipe():
    code = (
        "import sys, fervision, fervision_mediapipe\n"
        "fervision.get_registry().get('detector', 'mediapipe')\n"
        "heavy = [m for m in ('mediapipe', 'cv2', 'tensorflow') if m in sys.modules]\n"
        "assert 'mediapipe' not in heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
