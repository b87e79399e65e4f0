"""The runtime install: no TensorFlow at run time (issue 17), and the pipeline classifies
faces exactly as ``fervision evaluate`` scores them by default (issue 13)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fervision import FervisionError, Pipeline

HEAVY = ("tensorflow", "keras")
#: Loaded first by every Python process started with it on PYTHONPATH (spawned batch
#: workers too): logs each tensorflow/keras module any of them looks up.
IMPORT_LOGGER = """
import os, sys

class _LogHeavyImports:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {heavy!r}:
            with open({log!r}, "a") as log:
                log.write(f"{{os.getpid()}} {{name}}\\n")
        return None

sys.meta_path.insert(0, _LogHeavyImports())
"""


@pytest.fixture
def heavy_imports(tmp_path):
    """Run ``fervision ARGS...`` in a subprocess; return the tensorflow/keras modules that
    any process of it (batch workers included) imported."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed: nothing to keep from loading")
    hook, log = tmp_path / "hook", tmp_path / "heavy.log"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(IMPORT_LOGGER.format(heavy=HEAVY, log=str(log)))
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}

    def run(*args, check=True) -> list[str]:
        log.unlink(missing_ok=True)
        result = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, timeout=300, env=env
        )
        if check:
            assert result.returncode == 0, result.stderr[-2000:]
        return sorted(
            {line.split()[1] for line in log.read_text().splitlines()} if log.exists() else []
        )

    return run


def test_the_import_log_sees_tensorflow(heavy_imports):
    """The check below can fail: importing keras is logged."""
    assert "keras" in heavy_imports("-c", "import keras")


def test_run_batch_report_plugins_and_help_never_import_tensorflow(
    heavy_imports, photo, clip, tmp_path
):
    fervision = ("-m", "fervision")
    assert heavy_imports(*fervision, "--help") == []
    assert heavy_imports(*fervision, "run", "--help") == []
    assert heavy_imports(*fervision, "plugins") == []
    out = tmp_path / "out"
    out.mkdir()
    # The default pipeline (MediaPipe detector, LiteRT classifier) on a photo and a clip.
    assert (
        heavy_imports(*fervision, "run", "--source", str(photo), "--csv", str(out / "p.csv")) == []
    )
    csv = out / "clip.csv"
    run_clip = ("run", "--source", str(clip), "--csv", str(csv), "--max-frames", "40")
    assert heavy_imports(*fervision, *run_clip, "--output", str(out / "clip.mp4")) == []
    assert "happy" in csv.read_text().splitlines()[0]  # classified: probability columns
    assert heavy_imports(*fervision, "report", str(csv), "--out", str(out)) == []
    batch = ("batch", str(clip), "--out", str(out / "batch"), "--workers", "1")
    assert heavy_imports(*fervision, *batch) == []
    assert (out / "batch" / "short_hamilton_clip.emotions.csv").stat().st_size


def _cli(args: list[str]) -> int:
    """``fervision ARGS...`` in this process; its exit status."""
    from fervision.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def test_training_commands_without_the_train_extra_name_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # as if not installed
    model = tmp_path / "m.keras"
    model.write_bytes(b"")
    for args in (
        ["train", "--data-dir", str(tmp_path)],
        ["evaluate", "--data-dir", str(tmp_path)],
        ["average", str(model), "--data-dir", str(tmp_path), "--out", str(tmp_path / "a.keras")],
        ["ensemble", str(model), str(model), "--out", str(tmp_path / "e.keras")],
    ):
        assert _cli(args) == 1
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line == (
            f"error: `fervision {args[0]}` needs TensorFlow, which the runtime install "
            'leaves out: pip install "fervision[train]"'
        )


def test_a_model_without_its_litert_form_names_the_train_extra(monkeypatch, tmp_path):
    """A model trained elsewhere must be converted once, which needs TensorFlow."""
    from fervision_keras.classifier import EmotionClassifier
    from fervision_keras.model_io import DEFAULT_MODEL

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.setenv("FERVISION_CACHE", str(tmp_path / "empty-cache"))
    copy = tmp_path / "mine.keras"
    copy.write_bytes(DEFAULT_MODEL.read_bytes())
    with pytest.raises(FervisionError, match=r'converting mine.keras .* "fervision\[train\]"'):
        EmotionClassifier(model=str(copy)).open()


# --- runtime = evaluated (issue 13) -------------------------------------------------------


def test_the_pipeline_classifies_faces_as_evaluate_scores_them(clip, tmp_path, capsys):
    """Faces the default pipeline found and classified on a real clip, saved as a dataset
    labelled with the pipeline's own predictions: ``fervision evaluate`` with its
    defaults agrees on every one of them."""
    import cv2

    from fervision_keras.classifier import EmotionClassifier, crop_faces

    classifier = EmotionClassifier(rate=0)  # every face on its own frame, none carried
    pipeline = Pipeline(str(clip), classifier=classifier, tracker=None, smoother=None)
    m, crops, predicted = classifier.metadata, [], []
    for frame in pipeline.frames(max_frames=200):
        boxes = [face.box for face in frame.faces]
        size, channels, margin = m.input_size, m.channels, m.margin
        crops += list(crop_faces(frame.image, boxes, size, channels, margin, classifier.lift))
        predicted += [int(np.argmax(face.probs)) for face in frame.faces]
    assert len(crops) >= 200 and len(set(predicted)) >= 3, (len(crops), set(predicted))
    for i, (crop, label) in enumerate(zip(crops, predicted)):
        folder = tmp_path / "faces" / "test" / classifier.labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(folder / f"{i:04d}.png"), crop)  # lossless
    report = tmp_path / "report.json"
    args = ["evaluate", "--data-dir", str(tmp_path / "faces"), "--json", str(report)]
    assert _cli([*args, "--out", str(tmp_path / "eval")]) == 0, capsys.readouterr().err
    metrics = json.loads(report.read_text())
    assert metrics["images"] == len(crops)
    assert metrics["accuracy"] == 1.0, metrics["confusion_matrix"]
    assert (metrics["backend"], metrics["flip_average"], metrics["equalize_below"]) == (
        classifier.backend,
        classifier.flip_average,
        classifier.equalize_below,
    )
