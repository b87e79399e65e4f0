"""Temperature calibration, the speaking-mouth augmentation and `fervision calibrate`."""

import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from fervision_keras.batches import SWAP_REGION, face_batches, swap_mouths
from fervision_keras.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from fervision_keras.inference import Predictor, litert_beside, litert_path_for
from fervision_keras.model_io import DEFAULT_MODEL, read_metadata, write_metadata


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_temperature_divides_the_logits_and_keeps_the_top_class():
    logits = np.random.default_rng(0).normal(0, 2, (200, 6))
    probs = softmax(logits)
    for temperature in (0.5, 0.74, 2.0):
        scaled = apply_temperature(probs, temperature)
        np.testing.assert_allclose(scaled, softmax(logits / temperature), atol=1e-5)
        assert (scaled.argmax(1) == probs.argmax(1)).all()
    np.testing.assert_array_equal(apply_temperature(probs, 1.0), probs.astype(np.float32))


def test_ece_is_the_binned_gap_between_confidence_and_accuracy():
    rng = np.random.default_rng(1)
    probs = softmax(rng.normal(0, 1.5, (1000, 6)))
    labels = rng.integers(0, 6, 1000)
    confidence, right = probs.max(1), probs.argmax(1) == labels
    bins = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)  # (low, high] bins
    gap = sum(
        (bins == b).sum() * abs(confidence[bins == b].mean() - right[bins == b].mean())
        for b in range(15)
        if (bins == b).any()
    )
    assert expected_calibration_error(probs, labels) == pytest.approx(gap / 1000)


def test_fitting_finds_the_temperature_that_undoes_overconfidence():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 1.2, (6000, 6))
    labels = np.array([rng.choice(6, p=p) for p in softmax(logits)])  # calibrated truth
    overconfident = softmax(logits / 0.5)  # what an overconfident model would say
    temperature = fit_temperature(overconfident, labels)
    assert 1.6 < temperature < 2.5
    assert expected_calibration_error(overconfident, labels) > 0.1
    assert expected_calibration_error(apply_temperature(overconfident, temperature), labels) < 0.02


def test_the_runtime_applies_the_shipped_temperature(fer_cache):
    from fervision_keras.dataset import load_split

    root = fer_cache / "datasets/msambare/fer2013/versions/1"
    faces = load_split(root, "test", require_all=False, notify=lambda *a: None)
    faces = faces.evenly_spaced(64).images
    predictor = Predictor.from_path()
    temperature = read_metadata(DEFAULT_MODEL).temperature
    assert temperature != 1.0 and predictor.temperature == temperature
    calibrated = predictor(faces)
    predictor.temperature = 1.0
    raw = predictor(faces)
    np.testing.assert_allclose(calibrated, apply_temperature(raw, temperature), atol=1e-6)
    assert (calibrated.argmax(1) == raw.argmax(1)).all()
    assert not np.allclose(calibrated, raw)


def test_new_metadata_keeps_every_other_file_of_the_model(tmp_path):
    import dataclasses

    copy = write_metadata(
        DEFAULT_MODEL,
        dataclasses.replace(read_metadata(DEFAULT_MODEL), temperature=1.5),
        tmp_path / "m.keras",
    )
    assert read_metadata(copy).temperature == 1.5
    with zipfile.ZipFile(DEFAULT_MODEL) as old, zipfile.ZipFile(copy) as new:
        assert sorted(old.namelist()) == sorted(new.namelist())
        for name in old.namelist():
            if name != "fervision.json":
                assert old.read(name) == new.read(name), name


@pytest.mark.slow
def test_calibrate_fits_the_shipped_temperature_again(tmp_path, fer_cache):
    """The same validation faces through the runtime path give the shipped temperature;
    the model's LiteRT form is reused (same network), not converted again."""
    import dataclasses

    uncalibrated = write_metadata(
        DEFAULT_MODEL,
        dataclasses.replace(read_metadata(DEFAULT_MODEL), temperature=1.0),
        tmp_path / "raw.keras",
    )
    shutil.copyfile(litert_path_for(DEFAULT_MODEL), litert_beside(uncalibrated))
    env = {**os.environ, "KAGGLEHUB_CACHE": str(fer_cache)}
    out = tmp_path / "calibrated.keras"
    result = subprocess.run(
        [sys.executable, "-m", "fervision", "calibrate", "--model", str(uncalibrated)]
        + ["--dataset", "msambare/fer2013/versions/1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shipped = read_metadata(DEFAULT_MODEL).temperature
    assert read_metadata(out).temperature == pytest.approx(shipped, abs=0.02)
    assert f"temperature {read_metadata(out).temperature:g} on 2828 validation faces" in (
        result.stdout
    )
    assert litert_beside(out).exists()


def test_a_pasted_mouth_changes_the_mouth_and_nothing_above_it():
    rng = np.random.default_rng(3)
    faces = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    donors = np.zeros((3, 48, 48), np.uint8)
    donors[:, 36:44, 18:30] = 255  # an open mouth, bright teeth on black
    speaking = swap_mouths(faces, donors, rng)
    top = round(SWAP_REGION[0] * 48) - 8  # above the region and its feathering
    np.testing.assert_array_equal(speaking[:, :top], faces[:, :top])
    mouth = slice(36, 44), slice(18, 30)
    assert (speaking[:, mouth[0], mouth[1]] != faces[:, mouth[0], mouth[1]]).mean() > 0.9
    # brightness matched to the face's own mouth region
    for own, new in zip(faces, speaking):
        assert abs(new[32:46, 12:36].mean() - own[32:46, 12:36].mean()) < 25


def test_training_batches_paste_mouths_only_on_faces_not_exempt():
    pytest.importorskip("keras")
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (64, 48, 48), dtype=np.uint8)
    exempt = np.arange(64) % 2 == 0
    donors = np.full((4, 48, 48), 255, np.uint8)
    targets = np.eye(6, dtype=np.float32)[np.arange(64) % 6]
    batches = face_batches(
        images, targets, 64, seed=0, mouth_swap=1.0, swap_donors=donors, swap_exempt=exempt
    )
    x, y = batches[0]
    order = batches.order[:64]
    changed = np.array(
        [not np.allclose(x[i, ..., 0] * 255, images[j], atol=0.5) for i, j in enumerate(order)]
    )
    assert changed[~exempt[order]].all() and not changed[exempt[order]].any()
    np.testing.assert_array_equal(y, targets[order])  # labels kept
