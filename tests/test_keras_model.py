"""Saving, loading and running Keras emotion models with real TensorFlow."""

import zipfile

import numpy as np
import pytest

from fervision import FervisionError
from fervision_keras.architecture import build_cnn
from fervision_keras.classifier import EmotionClassifier, crop_faces
from fervision_keras.inference import KerasPredictor, LiteRTPredictor, Predictor
from fervision_keras.lighting import DEFAULT_EQUALIZE_BELOW, equalized, flat_faces
from fervision_keras.model_io import ModelMetadata, load_model, read_metadata, save_model

LABELS = ("angry", "fear", "happy", "neutral", "sad", "surprise")


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_cnn(6, width=4), path, ModelMetadata(labels=LABELS))
    return path


def test_metadata_travels_inside_the_model_file(tiny_model_path):
    assert read_metadata(tiny_model_path).labels == LABELS
    model, metadata = load_model(tiny_model_path)
    assert metadata.input_size == 48 and metadata.channels == 1
    assert model.outputs[0].shape[-1] == 6


def test_seven_label_model_keeps_seven_labels(tmp_path):
    seven = (*LABELS, "disgust")
    path = save_model(build_cnn(7, width=4), tmp_path / "m.keras", ModelMetadata(labels=seven))
    assert Predictor.from_path(path).labels == seven


def test_random_bytes_model_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.keras"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(FervisionError, match="is not a fervision model"):
        load_model(path)


def test_model_without_metadata_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.keras"
    build_cnn(6, width=4).save(path)
    with pytest.raises(FervisionError, match="fervision.json"):
        read_metadata(path)


def test_wrong_shaped_model_is_a_clear_error(tmp_path):
    path = save_model(build_cnn(5, width=4), tmp_path / "m.keras", ModelMetadata(labels=LABELS))
    with pytest.raises(FervisionError, match="5 outputs, but its metadata says .* 6 labels"):
        load_model(path)


def test_corrupt_weights_are_a_clear_error(tiny_model_path, tmp_path):
    path = tmp_path / "broken.keras"
    with zipfile.ZipFile(tiny_model_path) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[: len(data) // 3] if item.filename.endswith(".h5") else data)
    with pytest.raises(FervisionError, match="could not load model"):
        load_model(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(FervisionError, match="model file not found"):
        read_metadata(tmp_path / "none.keras")


def test_compiled_batch_call_matches_keras_predict(tiny_model_path):
    model, metadata = load_model(tiny_model_path)
    predictor = KerasPredictor(model, ModelMetadata(labels=LABELS, flip_average=False))
    crops = np.random.default_rng(1).integers(0, 255, (5, 48, 48), dtype=np.uint8)
    expected = model.predict(crops[..., None].astype(np.float32) / 255.0, verbose=0)
    np.testing.assert_allclose(predictor(crops), expected, atol=1e-5)
    # one face at a time gives the same as the padded batch
    np.testing.assert_allclose(predictor(crops[2:3])[0], expected[2], atol=1e-5)


def test_flip_average_is_the_mean_of_face_and_mirror(tiny_model_path):
    model, _ = load_model(tiny_model_path)
    crops = np.random.default_rng(2).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    plain = KerasPredictor(model, ModelMetadata(labels=LABELS), flip_average=False)
    both = KerasPredictor(model, ModelMetadata(labels=LABELS), flip_average=True)
    expected = (plain(crops) + plain(crops[:, :, ::-1])) / 2
    np.testing.assert_allclose(both(crops), expected, atol=1e-5)
    assert both(crops[:0]).shape == (0, 6)


def test_a_flat_face_is_averaged_with_its_equalized_copy_and_a_lit_one_is_not(tiny_model_path):
    model, _ = load_model(tiny_model_path)
    rng = np.random.default_rng(3)
    lit = rng.integers(0, 255, (2, 48, 48), dtype=np.uint8)  # spread about 74
    flat = rng.integers(70, 110, (2, 48, 48), dtype=np.uint8)  # spread about 12
    crops = np.concatenate([lit, flat])
    assert list(flat_faces(crops[..., None], 30.0)) == [2, 3]
    assert len(flat_faces(crops[..., None], 0.0)) == 0
    assert len(flat_faces(crops[..., None].astype(np.float32), 30.0)) == 0  # 0..1 floats
    evened = equalized(flat[..., None])
    assert evened.std() > 60 and evened.dtype == np.uint8
    assert equalized(np.repeat(flat[..., None], 3, -1)).std() > 60  # RGB: on its luma
    metadata = ModelMetadata(labels=LABELS, flip_average=False)
    plain = KerasPredictor(model, metadata, equalize_below=0)
    both = KerasPredictor(model, metadata, equalize_below=30)
    expected = plain(crops)
    expected[2:] = (expected[2:] + plain(evened[..., 0])) / 2
    np.testing.assert_allclose(both(crops), expected, atol=1e-5)
    assert np.abs(both(crops)[2:] - plain(crops)[2:]).max() > 1e-5  # a tiny model: small changes
    assert EmotionClassifier().equalize_below == DEFAULT_EQUALIZE_BELOW  # the stage's default


def test_crops_are_square_model_sized_and_safe_at_the_edges():
    image = np.zeros((100, 160, 3), np.uint8)
    image[10:50, 20:60] = 255
    crops = crop_faces(image, [(20, 10, 40, 40), (-10, -10, 30, 30), (150, 90, 40, 40)], 48, 1, 0.0)
    assert crops.shape == (3, 48, 48, 1)
    assert crops[0].min() == 255  # the white box fills the first crop exactly
    assert crop_faces(image, [(0, 0, 10, 10)], 32, 3, 0.1).shape == (1, 32, 32, 3)


def test_litert_backend_converts_once_and_caches(tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FERVISION_CACHE", str(tmp_path))
    keras_predictor = Predictor.from_path(tiny_model_path, "keras")
    lite = Predictor.from_path(tiny_model_path, "litert")
    assert isinstance(lite, LiteRTPredictor) and lite.path.parent == tmp_path / "litert"
    crops = np.random.default_rng(3).integers(0, 255, (70, 48, 48), dtype=np.uint8)
    assert lite(crops).shape == keras_predictor(crops).shape == (70, 6)
    # an untrained model's outputs all lie near 1/6, so agreement is checked on the shipped
    # model and real faces instead: tests/test_classifier_correctness.py
    again = Predictor.from_path(tiny_model_path, "litert")  # converted once, then cached
    assert again.path == lite.path


@pytest.mark.parametrize("cpus, alone, in_pipeline", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (16, 4, 4)])
def test_the_pipeline_classifier_leaves_the_detector_a_core(cpus, alone, in_pipeline, monkeypatch):
    from fervision_keras import inference
    from fervision_keras.classifier import EmotionClassifier

    monkeypatch.setattr(inference, "usable_cpus", lambda: cpus)
    classifier = EmotionClassifier()
    classifier.open()
    evaluating = Predictor.from_path()  # what `fervision evaluate` uses: nothing runs beside it
    assert [evaluating._threads_for(b) for b in (2, 8)] == [1, alone]
    assert [classifier._predictor._threads_for(b) for b in (2, 8)] == [1, in_pipeline]
    classifier._predictor(np.zeros((5, 48, 48), np.uint8))  # 10 crops: runs on those threads


def test_batches_run_in_power_of_two_parts_and_give_each_face_its_own_answer():
    from fervision_keras.inference import MAX_BATCH, power_of_two_parts

    for n in (1, 3, 7, 50, 64, 130):
        sizes = [len(part) for part in power_of_two_parts(np.arange(n))]
        assert sum(sizes) == n and all(s & (s - 1) == 0 and s <= MAX_BATCH for s in sizes)
    assert [len(p) for p in power_of_two_parts(np.arange(50))] == [32, 16, 2]
    predictor = Predictor.from_path()  # the shipped model, LiteRT, face + mirror
    crops = np.random.default_rng(5).integers(0, 255, (7, 48, 48), dtype=np.uint8)
    one_by_one = np.concatenate([predictor(crops[i : i + 1]) for i in range(7)])
    np.testing.assert_allclose(predictor(crops), one_by_one, atol=1e-5)


def test_unknown_backend_is_a_clear_error(tiny_model_path):
    with pytest.raises(FervisionError, match="unknown backend 'onnx'"):
        Predictor.from_path(tiny_model_path, "onnx")


def _classified_frames(clip, rate, tmp_path):
    """The real pipeline's CSV rows on the first 60 frames of ``clip`` with ``rate``."""
    import csv

    from fervision import Pipeline
    from fervision_basic.csv_sink import CsvSink

    path = tmp_path / f"rate{rate}.csv"
    Pipeline(str(clip), sinks=[CsvSink(path)], options={"classifier": {"rate": rate}}).run(
        max_frames=90
    )
    with open(path, newline="") as f:
        return [row for row in csv.DictReader(f) if row["face_id"]]


def test_a_tracked_face_is_classified_rate_times_a_second_and_carried_between(clip, tmp_path):
    every = _classified_frames(clip, 0, tmp_path)
    assert every and all(row["classified_frame"] == row["frame"] for row in every)
    rows = _classified_frames(clip, 10, tmp_path)
    fresh = [row for row in rows if row["classified_frame"] == row["frame"]]
    assert len(fresh) < 0.5 * len(rows)
    raw = [k for k in rows[0] if k.startswith("raw_")]
    by_face_frame = {(row["face_id"], row["frame"]): row for row in rows}
    per_face = [
        [float(r["timestamp_s"]) for r in fresh if r["face_id"] == face]
        for face in {row["face_id"] for row in rows}
    ]
    assert max(len(times) for times in per_face) >= 5
    for gaps in (np.diff(times) for times in per_face if len(times) > 1):  # 0.6 to 1.4 periods
        assert 0.06 - 1e-3 <= gaps.min() and gaps.max() < 0.14 + 1 / 29.97
    for row in rows:  # carried rows repeat the raw output of the frame they name, exactly
        source = by_face_frame[(row["face_id"], row["classified_frame"])]
        assert int(row["classified_frame"]) <= int(row["frame"])
        assert [row[k] for k in raw] == [source[k] for k in raw]
    # a fresh classification is the every-frame run's on the same frame and face
    every_by_face_frame = {(row["face_id"], row["frame"]): row for row in every}
    for row in fresh[:10]:
        same = every_by_face_frame[(row["face_id"], row["frame"])]
        assert [row[k] for k in raw] == [same[k] for k in raw]


def test_an_untracked_face_is_classified_rate_times_a_second_by_place():
    """Faces without an id keep the probabilities of one classified at the same place."""
    import cv2

    from fervision.sample_photo import FACE_CENTER, FACE_WIDTH, sample_image_path
    from fervision.types import Face, Frame
    from fervision_keras.classifier import EmotionClassifier

    image = cv2.imread(str(sample_image_path()))
    (cx, cy), side = FACE_CENTER, int(FACE_WIDTH)
    face_box = (int(cx - side / 2), int(cy - side / 2), side, side)
    elsewhere = (0, 0, 60, 60)
    classifier = EmotionClassifier(rate=10)

    def classify(index, boxes, shift=0):
        faces = [Face((x + shift, y, w, h)) for x, y, w, h in boxes]
        frame = Frame(image, index, index / 30, faces=faces)
        classifier.classify(frame)
        return frame.faces

    first = classify(0, [face_box])[0]
    assert first.probs_from is None and first.probs.shape == (6,)
    kept, new = classify(1, [face_box, elsewhere], shift=5)  # same place, 33 ms later
    assert kept.probs_from == 0 and np.array_equal(kept.probs, first.probs)
    assert new.probs_from is None
    again = classify(5, [face_box])[0]  # 1.67 periods after the first: due again
    assert again.probs_from is None
    every = EmotionClassifier(rate=0)
    for index in (0, 1):
        frame = Frame(image, index, index / 30, faces=[Face(face_box)])
        every.classify(frame)
        assert frame.faces[0].probs_from is None
