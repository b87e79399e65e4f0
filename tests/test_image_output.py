"""``--output`` as images: a photo's annotated copy, a folder of them, and what is refused."""

import cv2
import numpy as np
import pytest

from fervision import get_registry
from fervision.errors import FervisionError
from test_cli import fervision, one_line_error, read_rows


def test_a_photo_gives_an_annotated_photo_of_the_same_size(photo, tmp_path):
    out, log = tmp_path / "annotated.jpg", tmp_path / "faces.csv"
    result = fervision("run", "--source", str(photo), "-o", str(out), "--csv", str(log))
    assert result.returncode == 0, result.stderr
    assert f"image: {out}" in result.stdout
    original, annotated = cv2.imread(str(photo)), cv2.imread(str(out))
    assert annotated.shape == original.shape
    faces = read_rows(log)[1:]
    assert len(faces) == 2
    for row in faces:  # each face's box is drawn: its outline differs from the photo
        x, y, w, h = (int(v) for v in row[3:7])
        top = np.abs(annotated[y, x : x + w].astype(int) - original[y, x : x + w]).mean()
        assert top > 40, top
    far = (slice(0, 20), slice(-20, None))  # a corner no label or FPS readout reaches
    assert np.abs(annotated[far].astype(int) - original[far]).mean() < 8
    assert not list(tmp_path.glob(".*.partial"))


def test_a_folder_of_photos_gives_a_folder_named_after_them(photo, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    image = cv2.imread(str(photo))
    cv2.imwrite(str(inputs / "first.png"), image)
    cv2.imwrite(str(inputs / "second.jpg"), cv2.flip(image, 1))
    result = fervision("run", "--source", str(inputs), "-o", str(tmp_path / "out") + "/")
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["first.png", "second.jpg"]
    assert cv2.imread(str(tmp_path / "out/first.png")).shape == image.shape


def test_photos_of_subfolders_keep_their_subfolders(photo, tmp_path):
    """``a/x.jpg`` and ``b/x.jpg`` annotated as ``out/a/x.jpg`` and ``out/b/x.jpg`` (were
    ``x.jpg`` and a renamed ``x-000001.jpg``, matched only through the CSV)."""
    image = cv2.imread(str(photo))
    for sub, picture in (("a", image), ("b", cv2.flip(image, 1))):
        (tmp_path / "in" / sub).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "in" / sub / "x.jpg"), picture)
    result = fervision("run", "--source", str(tmp_path / "in"), "-o", str(tmp_path / "out") + "/")
    assert result.returncode == 0, result.stderr
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jpg")
    )
    assert written == ["a/x.jpg", "b/x.jpg"]
    left, right = (cv2.imread(str(tmp_path / "out" / n)) for n in written)
    assert np.abs(left.astype(int) - cv2.flip(right, 1)).mean() < 20  # each its own photo


def test_video_frames_into_a_folder_are_numbered(clip, tmp_path):
    result = fervision("run", "--source", str(clip), "--max-frames", "3", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["frame-000000.png", "frame-000001.png", "frame-000002.png"]
    assert cv2.imread(str(tmp_path / names[0])).shape == (360, 640, 3)


def test_a_video_into_one_image_is_refused_before_any_work(clip, tmp_path):
    out = tmp_path / "one.jpg"
    one_line_error(
        fervision("run", "--source", str(clip), "-o", str(out)),
        "275 frames",
        "one/",
        "--max-frames 1",
    )
    assert not out.exists()


def test_one_frame_of_a_video_into_one_image(clip, tmp_path):
    out = tmp_path / "first.png"
    result = fervision("run", "--source", str(clip), "--max-frames", "1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(clip))
    ok, first = capture.read()
    capture.release()
    annotated = cv2.imread(str(out))
    assert ok and annotated.shape == first.shape
    assert 0 < np.abs(annotated.astype(int) - first).mean() < 20  # the frame, boxes drawn on it


def test_an_image_sinks_max_frames_stops_the_run_for_every_output(tmp_path):
    out, table = tmp_path / "first.png", tmp_path / "t.csv"
    result = fervision("run", "--source", "sample:30", "-o", str(out), "--csv", str(table),
                       "-O", "sink.image.max_frames=1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 frame") and out.exists()
    header, *rows = read_rows(table)
    assert header[0] == "frame" and {row[0] for row in rows} == {"0"}
    folder = tmp_path / "frames"
    result = fervision("run", "--source", "sample:30", "-o", f"{folder}/",
                       "-O", "sink.image.max_frames=4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(list(folder.glob("frame-*.png"))) == 4
    refused = fervision("run", "--source", "sample:3", "-o", f"{folder}/",
                        "-O", "sink.image.max_frames=0")  # fmt: skip
    one_line_error(refused, "invalid max_frames 0", status=2)


def test_an_output_over_the_input_is_refused_and_the_input_kept(photo, tmp_path):
    source = tmp_path / "mine.jpg"
    source.write_bytes(photo.read_bytes())
    one_line_error(fervision("run", "--source", str(source), "-o", str(source)), "overwrite")
    one_line_error(fervision("run", "--source", str(tmp_path), "-o", str(tmp_path)), "overwrite")
    assert source.read_bytes() == photo.read_bytes()


def test_an_image_suffix_opencv_cannot_write_is_a_one_line_error(tmp_path):
    with pytest.raises(FervisionError, match="txt"):
        get_registry().build("sink", "image", path=str(tmp_path / "x.txt"))


def test_a_run_that_saves_nothing_says_how_to_save(photo, tmp_path):
    result = fervision("run", "--source", str(photo), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "nothing saved (--csv PATH: each face's emotions; --output PATH: the annotated photo)"
        in result.stdout
    )
    assert not list(tmp_path.iterdir())
