"""Train several recipes at once on one machine, each sized to a time budget, then score them.

Each recipe runs ``fervision_keras.training.train`` in its own process: a 2-epoch probe
measures its speed, then the run gets as many epochs as fit (at most its own ``epochs``).
Afterwards every model is scored on validation (and on a test folder if given), and the
models' mirror-averaged predictions on all training images are saved for distillation
(``fervision train --teacher teachers.npy``). Used to train on a GPU with the JAX backend:

    KERAS_BACKEND=jax python scripts/train_parallel.py DATA OUT --minutes 7 \\
        --recipe wide '{"width": 64, "optimizer": "sgd", "learning_rate": 0.01}'
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def child(root: Path, out: Path, recipe: dict, deadline: float) -> None:
    """Train the recipe, or finish the run already in ``out``, for the epochs that fit
    before ``deadline`` (no deadline: the recipe's own epochs)."""
    from fervision_keras.training import TrainConfig, train

    config = TrainConfig.from_dict(recipe)
    state_file = out / "state.json"
    if state_file.exists():  # a run started earlier: lengthen it to the recipe's epochs
        done = json.loads(state_file.read_text())["epoch"]
        more = _epochs_that_fit(root, out, recipe, deadline) if deadline else config.epochs
        train(root, out, config, resume=True, verbose=2, epochs=min(config.epochs, done + more))
        return
    if deadline:
        config.epochs = min(config.epochs, _epochs_that_fit(root, out, recipe, deadline))
    train(root, out, config, verbose=2)


def _epochs_that_fit(root: Path, out: Path, recipe: dict, deadline: float) -> int:
    """Epochs of ``recipe`` that fit before ``deadline``, from a 2-epoch probe run."""
    from fervision_keras.training import TrainConfig, train

    probe_dir = out.with_name(out.name + "-probe")
    probe = TrainConfig.from_dict({**recipe, "epochs": 2, "swa_from": 0.0, "teachers": []})
    train(root, probe_dir, probe, verbose=2)
    state = json.loads((probe_dir / "state.json").read_text())
    speed = state["history"]["images_per_second"][-1]
    seconds = deadline - time.time() - 60  # compiling again, averaging, saving
    epochs = max(2, int(seconds * speed / (state["train_images"] * 1.15)))
    print(f"{out.name}: {speed:.0f} images/s, {epochs} epochs fit", flush=True)
    return epochs


def score(runs: list[Path], root: Path, test: Path | None) -> dict:
    """Validation and test accuracy of each run's model and of their average."""
    from fervision_keras.dataset import load_split, split_indices
    from fervision_keras.inference import KerasPredictor
    from fervision_keras.model_io import load_model

    data = load_split(root, "train")
    _, val_idx = split_indices(data.labels, 0.1, 1234)
    tests = load_split(test, "test") if test else None
    results, train_probs, val_probs, test_probs = {}, [], [], []
    for run in runs:
        if not (run / "model.keras").exists():
            continue
        predictor = KerasPredictor(*load_model(run / "model.keras"), flip_average=True)
        train_probs.append(predictor.predict_all(data.images))
        val_probs.append(train_probs[-1][val_idx])
        entry = {"val": _accuracy(data.labels[val_idx], val_probs[-1], data.classes)}
        if tests:
            test_probs.append(predictor.predict_all(tests.images))
            entry["test"] = _accuracy(tests.labels, test_probs[-1], tests.classes)
        results[run.name] = entry
        print(run.name, entry, flush=True)
    if train_probs:
        entry = {"val": _accuracy(data.labels[val_idx], np.mean(val_probs, 0), data.classes)}
        if tests:
            entry["test"] = _accuracy(tests.labels, np.mean(test_probs, 0), tests.classes)
        results["ensemble"] = entry
        print("ensemble", entry, flush=True)
        np.save(runs[0].parent / "teachers.npy", np.mean(train_probs, 0).astype(np.float16))
    return results


def _accuracy(labels, probs, classes) -> dict:
    from fervision_keras.evaluation import classification_metrics

    m = classification_metrics(labels, probs, classes)
    return {"accuracy": round(m["accuracy"], 4), "weighted_f1": round(m["weighted_f1"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with train/<class>/ images")
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=0, help="for all training (0: no limit)")
    parser.add_argument("--recipe", nargs=2, action="append", metavar=("NAME", "JSON"), default=[])
    parser.add_argument("--test", type=Path, help="folder with test/<class>/ images to score")
    parser.add_argument("--no-score", action="store_true", help="train only")
    parser.add_argument("--child", nargs=3, metavar=("NAME", "JSON", "DEADLINE"))
    args = parser.parse_args()
    if args.child:
        name, recipe, deadline = args.child
        child(args.data, args.out / name, json.loads(recipe), float(deadline))
        return
    deadline = time.time() + args.minutes * 60 if args.minutes else 0
    args.out.mkdir(parents=True, exist_ok=True)
    procs = []
    for name, recipe in args.recipe:
        log = open(args.out / f"{name}.log", "w")
        cmd = [sys.executable, __file__, str(args.data), str(args.out), "--minutes", "0"]
        procs.append(
            subprocess.Popen(
                cmd + ["--child", name, recipe, str(deadline)], stdout=log, stderr=subprocess.STDOUT
            )
        )
    for proc in procs:
        proc.wait()
    if args.no_score:
        return
    results = score([args.out / name for name, _ in args.recipe], args.data, args.test)
    (args.out / "summary.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
