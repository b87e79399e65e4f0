"""The shipped model is right on real faces, as the pipeline runs it (issue 18)."""

import numpy as np
import pytest

SLICE = 300  # a fixed, seeded slice of the FER2013 test split
SEED = 2026
#: Largest LiteRT (int8 weights) vs Keras probability difference: measured 0.014 to 0.017
#: on three seeded slices of 300 faces, so a little above that.
BOUND = 0.03


@pytest.fixture(scope="module")
def test_slice():
    """SLICE seeded test faces (uint8 48x48) and their labels, read through kagglehub."""
    from pathlib import Path

    from conftest import _shared

    cache = _shared("kagglehub")
    kagglehub = pytest.importorskip("kagglehub")
    mp = pytest.MonkeyPatch()
    mp.setenv("KAGGLEHUB_CACHE", str(cache))
    try:
        root = Path(kagglehub.dataset_download("msambare/fer2013/versions/1"))
    finally:
        mp.undo()
    from fervision_keras.dataset import load_split

    data = load_split(root, "test", require_all=False, notify=lambda *a: None)
    pick = np.random.default_rng(SEED).choice(len(data), SLICE, replace=False)
    return data.images[pick], data.labels[pick]


def runtime_predictor():
    """The predictor the classifier stage uses by default (LiteRT, face + mirror)."""
    from fervision_keras.inference import DEFAULT_BACKEND, DEFAULT_FLIP_AVERAGE, Predictor

    return Predictor.from_path(None, DEFAULT_BACKEND, DEFAULT_FLIP_AVERAGE)


def test_runtime_path_labels_real_faces_right(test_slice):
    images, labels = test_slice
    accuracy = float(np.mean(runtime_predictor()(images).argmax(1) == labels))
    assert accuracy >= 0.60, accuracy  # measured 0.70 on the whole test split


def test_runtime_path_is_wrong_on_faces_turned_upside_down(test_slice):
    """The check above can fail: the same faces upside down score far lower."""
    images, labels = test_slice
    upright = np.mean(runtime_predictor()(images).argmax(1) == labels)
    flipped = np.mean(runtime_predictor()(images[:, ::-1]).argmax(1) == labels)
    assert flipped < upright - 0.15, (upright, flipped)


def test_litert_agrees_with_keras_on_real_faces(test_slice):
    pytest.importorskip("tensorflow", reason="the Keras side needs the train extra")
    from fervision_keras.inference import Predictor

    images, _ = test_slice
    lite = Predictor.from_path(None, "litert", flip_average=False)(images)
    keras = Predictor.from_path(None, "keras", flip_average=False)(images)
    assert lite.max(1).mean() > 0.4  # confident predictions, not a uniform 1/6
    assert np.mean(lite.argmax(1) == keras.argmax(1)) >= 0.99
    assert np.abs(lite - keras).max() < BOUND, np.abs(lite - keras).max()


def test_a_dim_real_face_reads_right_with_its_equalized_copy():
    """The dim, flat talking head of benchmarks/real_videos.py (labelled neutral by eye)
    reads right more often averaged with its equalized copy (first 100 frames, raw
    classifier: 0.61 against 0.47 alone with the speaking-faces model of session 19; 0.78
    against 0.24 with the model before it)."""
    from conftest import _shared
    from fervision import Pipeline
    from fervision_keras.classifier import crop_faces
    from fervision_keras.inference import Predictor
    from fervision_keras.lighting import flat_faces

    pipeline = Pipeline(str(_shared("media/talking_head_map.mp4")), smoother=None)
    m, lift, crops = pipeline.classifier.metadata, pipeline.classifier.lift, []
    for frame in pipeline.frames(max_frames=100):
        face = max(frame.faces, key=lambda f: f.box[2] * f.box[3])
        crops.append(crop_faces(frame.image, [face.box], m.input_size, 1, m.margin, lift)[0])
    crops = np.stack(crops)
    assert len(flat_faces(crops, 30.0)) == len(crops)
    neutral = runtime_predictor().labels.index("neutral")
    alone = Predictor.from_path(equalize_below=0)(crops).argmax(1) == neutral
    averaged = runtime_predictor()(crops).argmax(1) == neutral
    assert averaged.mean() >= alone.mean() + 0.1, (alone.mean(), averaged.mean())
