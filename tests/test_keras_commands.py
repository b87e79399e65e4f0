"""``fervision train`` and ``fervision evaluate`` for real, on a slice of FER2013."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest


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
        "--quiet",
        env=fer_env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipping class folders not in the label set: disgust" in result.stdout
    for name in (
        "model.keras",
        "checkpoint.keras",
        "training_curves.png",
        "test_report.txt",
        "test_report.json",
        "test_confusion.png",
    ):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "test_report.json").read_text())
    assert report["images"] == 7067 and 0 <= report["accuracy"] <= 1
    assert set(report["per_class"]) == {"angry", "fear", "happy", "neutral", "sad", "surprise"}
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["val_accuracy"]) == 2

    again = fervision(
        "train", "--dataset", "msambare/fer2013/versions/1", "--out", str(out), env=fer_env
    )
    assert again.returncode == 1 and "pass --resume" in again.stderr


def test_ctrl_c_keeps_a_checkpoint_that_resume_continues(tmp_path, fer_env):
    out = tmp_path / "run"
    args = [
        "train",
        "--dataset",
        "msambare/fer2013/versions/1",
        "--out",
        str(out),
        "--epochs",
        "3",
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
    if state["epoch"] == 3:
        pytest.skip("training finished before the interrupt arrived")
    assert proc.returncode == 130, stderr[-2000:]
    assert "continue with --resume" in stdout
    resumed = fervision(*args, "--resume", env=fer_env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming after epoch {state['epoch']} of 3" in resumed.stdout
    assert json.loads((out / "state.json").read_text())["epoch"] == 3


def test_evaluate_the_shipped_model_on_a_test_slice(tmp_path, fer_env):
    json_path = tmp_path / "out.json"
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
        str(tmp_path),
        env=fer_env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads(json_path.read_text())
    assert 550 <= metrics["images"] <= 800
    # Sane for a real model: far above the 1/6 of chance, below perfection.
    assert 0.45 < metrics["accuracy"] < 0.95 and 0.45 < metrics["weighted_f1"] < 0.95
    assert "accuracy" in result.stdout and (tmp_path / "test_confusion.png").stat().st_size


def test_evaluate_with_a_missing_dataset_folder_is_one_line(tmp_path):
    result = fervision("evaluate", "--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: data directory not found: {tmp_path / 'nowhere'}"
    ]
