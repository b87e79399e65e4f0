"""Dataset layouts, class names, bad datasets and the kagglehub cache."""

import cv2
import numpy as np
import pytest

from fervision import FervisionError
from fervision_keras.dataset import (
    SIX_CLASSES,
    ImageSet,
    load_split,
    resolve_dataset,
    split_folder,
    stratified_split,
)


def make_tree(root, layout, names=SIX_CLASSES, per_class=3, size=48):
    """Write a small dataset of real PNG/JPEG files in one of the accepted layouts."""
    rng = np.random.default_rng(0)
    splits = {
        "split": [("train", "train"), ("test", "test")],
        "kaggle6": [("train", "Training/Training"), ("test", "Testing/Testing")],
        "flat": [("all", "")],
    }[layout]
    for _, rel in splits:
        for name in names:
            folder = root / rel / name
            folder.mkdir(parents=True, exist_ok=True)
            for j in range(per_class):
                image = rng.integers(0, 255, (size, size), dtype=np.uint8)
                cv2.imwrite(str(folder / f"{j}.{'png' if j % 2 else 'jpg'}"), image)
    return root


@pytest.mark.parametrize("layout", ["split", "kaggle6"])
def test_train_and_test_layouts(tmp_path, layout):
    root = make_tree(
        tmp_path, layout, names=["Angry", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    )
    for split in ("train", "test"):
        data = load_split(root, split)
        assert data.images.shape == (18, 48, 48) and data.images.dtype == np.uint8
        assert data.counts() == dict.fromkeys(SIX_CLASSES, 3)


def test_flat_folder_of_class_folders_serves_every_split(tmp_path):
    root = make_tree(tmp_path, "flat")
    assert split_folder(root, "train") == root == split_folder(root, "test")
    assert len(load_split(root, "test")) == 18


def test_synonyms_and_case_map_to_canonical_classes(tmp_path):
    names = ["ANGER", "fearful", "Happiness", "neutral", "Sadness", "surprised"]
    data = load_split(make_tree(tmp_path, "split", names=names), "train")
    assert data.counts() == dict.fromkeys(SIX_CLASSES, 3)


def test_other_class_folders_are_skipped_with_one_notice(tmp_path):
    root = make_tree(tmp_path, "split", names=[*SIX_CLASSES, "disgust", "contempt"])
    notes = []
    data = load_split(root, "train", notify=notes.append)
    assert len(data) == 18
    assert notes == ["skipping class folders not in the label set: contempt, disgust"]


def test_images_are_resized_to_the_model_size(tmp_path):
    data = load_split(make_tree(tmp_path, "split", size=64), "train")
    assert data.images.shape[1:] == (48, 48)


def test_unreadable_files_are_counted_and_skipped(tmp_path):
    root = make_tree(tmp_path, "split")
    (root / "train" / "happy" / "broken.jpg").write_bytes(b"not a jpeg")
    notes = []
    data = load_split(root, "train", notify=notes.append)
    assert len(data) == 18 and data.unreadable == 1
    assert any("1 unreadable" in n for n in notes)


def test_missing_and_empty_class_folders_are_clear_errors(tmp_path):
    root = make_tree(tmp_path, "split", names=SIX_CLASSES[:5])
    with pytest.raises(FervisionError, match="no folder for class surprise"):
        load_split(root, "train")
    (root / "train" / "surprise").mkdir()
    with pytest.raises(FervisionError, match="has no images"):
        load_split(root, "train")


def test_partial_dataset_can_be_loaded_for_evaluation(tmp_path):
    root = make_tree(tmp_path, "split", names=["happy", "sad"])
    data = load_split(root, "test", require_all=False)
    assert sorted(set(data.labels.tolist())) == [
        SIX_CLASSES.index("happy"),
        SIX_CLASSES.index("sad"),
    ]


def test_dataset_without_images_is_an_error(tmp_path):
    (tmp_path / "train" / "happy").mkdir(parents=True)
    with pytest.raises(FervisionError, match="no images"):
        load_split(tmp_path, "train", require_all=False)


def test_second_load_comes_from_the_array_cache(tmp_path, monkeypatch):
    from fervision_keras import dataset

    root = make_tree(tmp_path, "split")
    first = load_split(root, "train")

    def no_decoding(*args):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr(dataset, "_decode", no_decoding)
    second = load_split(root, "train")
    np.testing.assert_array_equal(first.images, second.images)


def test_validation_split_is_stratified_and_seeded(tmp_path):
    data = load_split(make_tree(tmp_path, "split", per_class=10), "train")
    train_a, val_a = stratified_split(data, 0.2, seed=1)
    train_b, val_b = stratified_split(data, 0.2, seed=1)
    np.testing.assert_array_equal(val_a.labels, val_b.labels)
    assert val_a.counts() == dict.fromkeys(SIX_CLASSES, 2)


def test_missing_data_dir_is_an_error(tmp_path):
    with pytest.raises(FervisionError, match="data directory not found"):
        resolve_dataset(None, str(tmp_path / "nowhere"))


def test_kagglehub_resolves_the_pinned_handle_from_the_cache(fer_cache, monkeypatch):
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(fer_cache))
    root = resolve_dataset("msambare/fer2013/versions/1", None)
    assert (root / "train" / "happy").is_dir() and (root / "test" / "surprise").is_dir()


def test_kagglehub_failure_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path))
    with pytest.raises(FervisionError, match="could not get dataset 'nobody/nothing/versions/1'"):
        resolve_dataset("nobody/nothing/versions/1", None)


@pytest.mark.parametrize("limit", [1, 7, 200, 201, 999])
def test_an_evenly_spaced_sample_has_exactly_the_size_asked(limit):
    labels = np.repeat(np.arange(6), [100, 50, 300, 200, 200, 150])
    data = ImageSet(np.zeros((len(labels), 4, 4), np.uint8), labels, SIX_CLASSES)
    sample = data.evenly_spaced(limit)
    assert len(sample) == limit
    if limit >= 200:  # every class kept in proportion, to within one image
        counts = np.bincount(sample.labels, minlength=6)
        assert np.all(np.abs(counts - np.bincount(labels) * limit / len(labels)) <= 1)
