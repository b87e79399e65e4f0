"""``fervision train`` and ``fervision evaluate`` for real, on a slice of FER2013."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # training and full test-split runs


def fervision(*args, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "fervision", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        **kw,
    )


@pytest.fixture
def fer_env(fer_cache):
    return {**os.environ, "KAGGLEHUB_CACHE": str(fer_cache)}


def test_train_a_small_model_through_the_cli_then_evaluate_it(tmp_path, fer_env):
    out = tmp_path / "run"
    result = fervision(
        "train",
        "--dataset",
        "msambare/fer2013/versions/1",
        "--out",
        str(out),
        "--epochs",
        "2",
        "--limit-per-class",
        "40",
        "--width",
        "8",
        "--seed",
        "5",
        "--split-seed",
        "7",
        "--quiet",
        env=fer_env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipping class folders not in the label set: disgust" in result.stdout
    for name in (
        "model.keras",
        "checkpoint.weights.h5",
        "training_curves.png",
        "test_report.txt",
        "test_report.json",
        "test_confusion.png",
    ):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "test_report.json").read_text())
    confusion = np.array(report["confusion_matrix"])
    assert report["images"] == confusion.sum() == 7067
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 7067)
    assert set(report["per_class"]) == {"angry", "fear", "happy", "neutral", "sad", "surprise"}
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["val_accuracy"]) == 2
    assert (state["config"]["seed"], state["config"]["split_seed"]) == (5, 7)

    again = fervision(
        "train", "--dataset", "msambare/fer2013/versions/1", "--out", str(out), env=fer_env
    )
    assert again.returncode == 1 and "pass --resume" in again.stderr

    # fine-tuning from that model: with a learning rate of 0 its kernels stay as they were
    tuned = tmp_path / "tuned"
    common = ["--dataset", "msambare/fer2013/versions/1", "--epochs", "1", "--quiet"]
    common += ["--limit-per-class", "20", "--init", str(out / "model.keras")]
    args = ["--out", tuned, "--width", "8", "--learning-rate", "0"]
    result = fervision("train", *common, *args, env=fer_env)
    assert result.returncode == 0, result.stderr[-2000:]
    from fervision_keras.model_io import load_model

    models = (out / "model.keras", tuned / "model.keras")
    start, end = (load_model(path)[0].get_weights()[0] for path in models)
    np.testing.assert_array_equal(start, end)
    wrong = fervision("train", *common, "--out", tmp_path / "no", "--width", "16", env=fer_env)
    assert wrong.returncode == 1 and "another architecture" in wrong.stderr
    assert "Traceback" not in wrong.stderr  # (TensorFlow logs its own lines before it)


def test_ctrl_c_keeps_a_checkpoint_that_resume_continues(tmp_path, fer_env):
    out = tmp_path / "run"
    args = [
        "train",
        "--dataset",
        "msambare/fer2013/versions/1",
        "--out",
        str(out),
        "--epochs",
        "40",
        "--limit-per-class",
        "20",
        "--width",
        "4",
        "--quiet",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fervision", *args],
        env=fer_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while not (out / "state.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] < 40, "Ctrl-C did not stop training"
    output = f"stdout: {stdout[-1500:]}\nstderr: {stderr[-1500:]}"
    assert proc.returncode == 130, output
    assert "continue with --resume" in stdout, output
    # the processor may differ between sessions: --precision on resume suits this one
    resumed = fervision(*args, "--resume", "--precision", "mixed_bfloat16", env=fer_env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming after epoch {state['epoch']} of 40" in resumed.stdout
    assert "mixed_bfloat16" in resumed.stdout
    final = json.loads((out / "state.json").read_text())
    assert final["epoch"] == 40 and final["config"]["precision"] == "mixed_bfloat16"


def test_evaluate_the_shipped_model_on_a_test_slice(tmp_path, fer_env):
    json_path = tmp_path / "new" / "out.json"  # in the --out folder, made by the command
    result = fervision(
        "evaluate",
        "--dataset",
        "msambare/fer2013/versions/1",
        "--split",
        "test",
        "--limit",
        "600",
        "--json",
        str(json_path),
        "--out",
        str(tmp_path / "new"),
        env=fer_env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.rstrip().endswith(f"test_reliability.png, {json_path}")
    metrics = json.loads(json_path.read_text())
    assert metrics["images"] == 600
    # Sane for a real model: far above the 1/6 of chance, below perfection.
    assert 0.45 < metrics["accuracy"] < 0.95 and 0.45 < metrics["weighted_f1"] < 0.95
    assert "accuracy" in result.stdout and (tmp_path / "new/test_confusion.png").stat().st_size
    # Calibration before and after the shipped temperature, from the bins the JSON lists.
    calibration = metrics["calibration"]
    assert calibration["temperature"] != 1.0 and calibration["bins"] == 15
    for when in ("before", "after"):
        bins = calibration[f"reliability_{when}"]
        assert sum(b["faces"] for b in bins) == 600
        gap = sum(b["faces"] * abs(b["confidence"] - b["accuracy"]) for b in bins) / 600
        assert calibration[f"ece_{when}"] == pytest.approx(gap)
    assert calibration["ece_after"] < calibration["ece_before"]
    assert f"{calibration['ece_after']:.4f} at the model's" in result.stdout
    assert (tmp_path / "new/test_reliability.png").stat().st_size


def test_evaluate_with_a_missing_dataset_folder_is_one_line(tmp_path):
    result = fervision("evaluate", "--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: data directory not found: {tmp_path / 'nowhere'}"
    ]


def _tiny_models(tmp_path, labels_b=None):
    import keras

    from fervision_keras.architecture import build_cnn
    from fervision_keras.model_io import ModelMetadata, save_model

    labels = ("angry", "fear", "happy", "neutral", "sad", "surprise")
    paths = []
    for seed, names in ((1, labels), (2, labels_b or labels)):
        keras.utils.set_random_seed(seed)
        model = build_cnn(len(names), width=4)
        paths.append(save_model(model, tmp_path / f"m{seed}.keras", ModelMetadata(labels=names)))
    return paths


def test_ensemble_averages_its_members_and_runs_as_litert(tmp_path):
    import numpy as np

    from fervision_keras.inference import Predictor, litert_beside

    a, b = _tiny_models(tmp_path)
    out = tmp_path / "both.keras"
    result = fervision("ensemble", str(a), str(b), "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "average of 2" in result.stdout and litert_beside(out).is_file()
    faces = np.random.default_rng(0).integers(0, 255, (9, 48, 48), dtype=np.uint8)
    members = [Predictor.from_path(p, "keras", flip_average=False)(faces) for p in (a, b)]
    assert np.abs(members[0] - members[1]).max() > 1e-3  # the members really differ
    combined = Predictor.from_path(out, "keras", flip_average=False)(faces)
    np.testing.assert_allclose(combined, (members[0] + members[1]) / 2, atol=1e-5)
    assert Predictor.from_path(out, "litert", flip_average=False)(faces).shape == (9, 6)
    # LiteRT against Keras on a trained model: tests/test_classifier_correctness.py


def test_ensemble_of_models_with_different_labels_is_one_line(tmp_path):
    a, b = _tiny_models(tmp_path, labels_b=("angry", "happy", "sad"))
    result = fervision("ensemble", str(a), str(b), "--out", str(tmp_path / "x.keras"))
    assert result.returncode == 1 and not (tmp_path / "x.keras").exists()
    assert result.stderr.strip().splitlines() == [
        f"error: cannot combine {a} and {b}: their labels differ "
        "(('angry', 'fear', 'happy', 'neutral', 'sad', 'surprise') vs ('angry', 'happy', 'sad'))"
    ]


def test_batch_norm_recalibration_takes_the_mean_over_batches_not_a_decayed_one():
    import keras
    import numpy as np

    from fervision_keras.averaging import recalibrate_batch_norm
    from fervision_keras.model_io import ModelMetadata

    face = keras.Input((48, 48, 1))
    model = keras.Model(face, keras.layers.BatchNormalization()(face))
    images = np.random.default_rng(0).integers(0, 255, (50, 48, 48), dtype=np.uint8)
    metadata = ModelMetadata(labels=("a", "b"))
    assert recalibrate_batch_norm(model, images, metadata, batches=5) == 1
    bn = model.layers[-1]
    x = images.astype(np.float32) / 255.0  # every batch holds all 50 (mirrored or not)
    assert float(np.ravel(bn.moving_mean)[0]) == pytest.approx(x.mean(), rel=1e-4)
    assert float(np.ravel(bn.moving_variance)[0]) == pytest.approx(x.var(), rel=1e-3)
    assert bn.momentum == 0.99  # restored


def test_average_means_the_weights_and_scores_validation(tmp_path):
    import numpy as np

    from fervision_keras.inference import litert_beside
    from fervision_keras.model_io import load_model
    from test_keras_data import make_tree

    a, b = _tiny_models(tmp_path)
    tree = make_tree(tmp_path / "data", "split", per_class=10)
    out = tmp_path / "avg.keras"
    args = ("average", str(a), str(b), "--data-dir", str(tree), "--out", str(out))
    result = fervision(*args, "--batches", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "averaged 2 model(s)" in result.stdout and "validation (" in result.stdout
    assert litert_beside(out).is_file()
    (ma, meta), (mb, _), (avg, avg_meta) = load_model(a), load_model(b), load_model(out)
    assert avg_meta == meta
    for layer, la, lb in zip(avg.layers, ma.layers, mb.layers):
        if "batch_normalization" in layer.name:  # re-estimated; every other weight: the mean
            continue
        for w, wa, wb in zip(layer.get_weights(), la.get_weights(), lb.get_weights()):
            np.testing.assert_allclose(w, (wa + wb) / 2, atol=1e-6)


def test_average_of_different_architectures_is_one_line(tmp_path):
    import keras

    from fervision_keras.architecture import build_cnn
    from fervision_keras.dataset import SIX_CLASSES
    from fervision_keras.model_io import ModelMetadata, save_model
    from test_keras_data import make_tree

    a, _ = _tiny_models(tmp_path)
    keras.utils.set_random_seed(3)
    wide = save_model(
        build_cnn(6, width=8),
        tmp_path / "wide.keras",
        ModelMetadata(labels=SIX_CLASSES),
    )
    tree = make_tree(tmp_path / "data", "split", per_class=10)
    result = fervision(
        "average", str(a), str(wide), "--data-dir", str(tree), "--out", str(tmp_path / "x.keras")
    )
    assert result.returncode == 1 and not (tmp_path / "x.keras").exists()
    assert result.stderr.strip().splitlines() == [
        f"error: cannot average {a} and {wide}: different architectures "
        "(average snapshots of one run, or use `fervision ensemble`)"
    ]


def test_a_dataset_with_some_classes_keeps_every_image_in_the_confusion_matrix():
    from fervision_keras.evaluation import classification_metrics

    classes = ("angry", "fear", "happy", "neutral", "sad", "surprise")
    y_true = np.array([2, 2, 2, 4, 4, 4, 4])  # happy and sad folders only
    y_pred = np.array([2, 2, 3, 4, 4, 3, 0])  # some read as classes with no folder
    metrics = classification_metrics(y_true, np.eye(6)[y_pred], classes)
    matrix = np.array(metrics["confusion_matrix"])
    assert metrics["labels"] == ["happy", "sad"] and metrics["predicted_labels"] == list(classes)
    assert matrix.shape == (2, 6) and matrix.sum(axis=1).tolist() == [3, 4]
    assert matrix[0].tolist() == [0, 0, 2, 1, 0, 0] and matrix[1].tolist() == [1, 0, 0, 1, 2, 0]
    assert metrics["accuracy"] == pytest.approx(4 / 7)


def test_evaluate_out_on_a_file_fails_before_any_work(tmp_path):
    taken = tmp_path / "taken.jpg"
    taken.write_bytes(b"not a folder")
    result = fervision("evaluate", "--data-dir", tmp_path / "nowhere", "--out", taken)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: output path is not a folder: {taken}"]


@pytest.mark.parametrize(
    "option",
    [
        "--epochs=0",
        "--batch-size=0",
        "--width=0",
        "--mixup=-1",
        "--learning-rate=nan",
        "--learning-rate=-1",
        "--weight-decay=inf",
        "--limit-per-class=0",
    ],
)
def test_train_values_out_of_range_are_usage_errors_before_any_work(tmp_path, option):
    result = fervision("train", "--data-dir", tmp_path / "nowhere", option, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: Invalid value for '{option.partition('=')[0]}'"
    )
    assert not (tmp_path / "runs").exists()


def test_train_out_on_a_file_is_one_line_and_makes_nothing(tmp_path, fer_env):
    taken = tmp_path / "taken.keras"
    taken.write_bytes(b"a model")
    result = fervision(
        "train", "--dataset", "msambare/fer2013/versions/1", "--out", taken, env=fer_env
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: output path is not a folder: {taken}"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "--model", ".", "--data-dir", "."], "is a folder; give a .keras model file"),
        (
            ["evaluate", "--dataset", "a/b", "--data-dir", "."],
            "give --dataset or --data-dir, not both",
        ),
        (
            ["average", "m.keras", "m.keras", "--out", "x.keras", "--batches", "0"],
            "0 is not in the range",
        ),
    ],
)
def test_model_and_dataset_arguments_given_wrong_are_one_line(tmp_path, args, message):
    result = fervision(*args, cwd=tmp_path)
    assert result.returncode in (1, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
