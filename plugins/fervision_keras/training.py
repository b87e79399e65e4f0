"""Training an emotion CNN with per-epoch checkpoints, resume and a final test report."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fervision.errors import FervisionError

from .dataset import SIX_CLASSES, ImageSet, load_split, stratified_split
from .model_io import ModelMetadata, save_model


@dataclass
class TrainConfig:
    """The recipe: everything that decides what a run produces."""

    classes: tuple[str, ...] = SIX_CLASSES
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1.5e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    warmup_epochs: int = 2
    val_fraction: float = 0.1
    width: int = 32
    class_weights: bool = False
    limit_per_class: int | None = None  # a small subset, for quick runs and tests
    seed: int = 1234  # weights, shuffling and augmentation
    split_seed: int = 1234  # which images are held out for validation
    jit_compile: bool = False  # XLA measured 3-5x slower for this CNN on CPU


def _limit(data: ImageSet, per_class: int | None, seed: int) -> ImageSet:
    if not per_class:
        return data
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            rng.permutation(np.flatnonzero(data.labels == c))[:per_class]
            for c in range(len(data.classes))
        ]
    )
    keep.sort()
    return ImageSet(data.images[keep], data.labels[keep], data.classes, data.unreadable)


def _dataset(data: ImageSet, config: TrainConfig, shuffle: bool):
    import tensorflow as tf

    n = len(config.classes)
    ds = tf.data.Dataset.from_tensor_slices((data.images[..., None], data.labels))
    if shuffle:
        ds = ds.shuffle(len(data), seed=config.seed, reshuffle_each_iteration=True)

    def prepare(x, y):
        return tf.cast(x, tf.float32) / 255.0, tf.one_hot(y, n)

    return ds.batch(config.batch_size).map(prepare).prefetch(2)


def learning_rate_at(progress: float, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak, by epochs completed (fractional)."""
    peak = config.learning_rate
    warmup = min(config.warmup_epochs, config.epochs / 2)
    if progress < warmup:
        return peak * (0.05 + 0.95 * progress / warmup)
    span = max(config.epochs - warmup, 1e-9)
    done = min((progress - warmup) / span, 1.0)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * done)))


def _compile(model, config: TrainConfig) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        jit_compile=config.jit_compile,
    )


def _class_weights(data: ImageSet) -> dict[int, float]:
    counts = np.bincount(data.labels, minlength=len(data.classes)).astype(float)
    weights = counts.sum() / (len(counts) * np.maximum(counts, 1))
    return {i: float(w) for i, w in enumerate(weights)}


class GracefulStop:
    """While active, Ctrl-C ends training after the current batch (a second one at once)."""

    def __init__(self, model):
        self.model = model
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.model.stop_training = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class RunDirectory:
    """The files of one training run: checkpoint, state, model, curves and reports."""

    def __init__(self, path: Path):
        self.path = path
        self.checkpoint = path / "checkpoint.keras"
        self.state = path / "state.json"
        self.best = path / "best.keras"
        self.model = path / "model.keras"
        self.curves = path / "training_curves.png"

    def load_state(self) -> dict | None:
        return json.loads(self.state.read_text()) if self.state.exists() else None

    def save_state(self, state: dict) -> None:
        tmp = self.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state)


def _inference_copy(model, config: TrainConfig):
    """The trained network without augmentation layers and optimizer, for shipping."""
    from .architecture import build_cnn

    clean = build_cnn(len(config.classes), width=config.width, augment=False)
    clean.set_weights(model.get_weights())
    return clean


def train(
    root: Path,
    out: Path,
    config: TrainConfig,
    resume: bool = False,
    verbose=1,
    notify=print,
    epochs: int | None = None,
) -> RunDirectory:
    """Train (or resume) a run in ``out``; returns its files. Ctrl-C keeps a checkpoint.

    On resume, ``epochs`` may lengthen or shorten the run: the learning rate follows
    the new length from where the run is.
    """
    import keras

    run = RunDirectory(out)
    state = run.load_state()
    if state and not resume:
        raise FervisionError(f"{out} already holds a run; pass --resume or choose another --out")
    if resume and not state:
        raise FervisionError(f"nothing to resume in {out} (no state.json)")
    if state:
        config = TrainConfig(**{**state["config"], "classes": tuple(state["config"]["classes"])})
        if epochs:
            config.epochs = state["config"]["epochs"] = epochs
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)

    data = _limit(
        load_split(root, "train", config.classes, notify=notify),
        config.limit_per_class,
        config.seed,
    )
    train_set, val_set = stratified_split(data, config.val_fraction, config.split_seed)
    notify(
        f"training on {len(train_set)} images, validating on {len(val_set)} "
        f"({', '.join(f'{k} {v}' for k, v in data.counts().items())})"
    )
    steps = int(np.ceil(len(train_set) / config.batch_size))

    if state:
        model = keras.saving.load_model(run.checkpoint)
        notify(f"resuming after epoch {state['epoch']} of {config.epochs}")
    else:
        from .architecture import build_cnn

        model = build_cnn(len(config.classes), width=config.width)
        _compile(model, config)
        state = {
            "config": asdict(config),
            "epoch": 0,
            "history": {},
            "best_val_accuracy": -1.0,
            "seconds": 0.0,
        }
    metadata = ModelMetadata(labels=tuple(config.classes))
    started = time.time()

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop.requested:  # a partial epoch: keep the last whole one
                return
            for key, value in (logs or {}).items():
                state["history"].setdefault(key, []).append(float(value))
            state["epoch"] = epoch + 1
            state["seconds"] += time.time() - self.epoch_started
            partial = run.checkpoint.with_name("checkpoint.partial.keras")
            model.save(partial)  # then renamed: Ctrl-C mid-save keeps the last good one
            os.replace(partial, run.checkpoint)
            val = float((logs or {}).get("val_accuracy", 0))
            if val > state["best_val_accuracy"]:
                state["best_val_accuracy"] = val
                state["best_epoch"] = epoch + 1
                save_model(_inference_copy(model, config), run.best, metadata)
            run.save_state(state)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            model.optimizer.learning_rate.assign(
                learning_rate_at(self.epoch + batch / steps, config)
            )

    stop = GracefulStop(model)
    try:
        with stop:
            if state["epoch"] < config.epochs:
                model.fit(
                    _dataset(train_set, config, shuffle=True),
                    validation_data=_dataset(val_set, config, shuffle=False),
                    epochs=config.epochs,
                    initial_epoch=state["epoch"],
                    class_weight=_class_weights(train_set) if config.class_weights else None,
                    callbacks=[Checkpoint()],
                    shuffle=False,  # the dataset shuffles itself, seeded
                    verbose=verbose,
                )
    except KeyboardInterrupt:
        stop.requested = True
    if stop.requested:
        notify(
            f"interrupted: checkpoint after epoch {state['epoch']} kept in {run.checkpoint}; "
            "continue with --resume"
        )
    if state["history"]:
        from .evaluation import plot_history

        plot_history(state["history"], run.curves)
    if stop.requested:
        raise KeyboardInterrupt
    notify(
        f"trained {state['epoch']} epochs in {state['seconds'] / 60:.1f} min "
        f"(this session {(time.time() - started) / 60:.1f} min); best validation accuracy "
        f"{state['best_val_accuracy']:.4f} at epoch {state.get('best_epoch')}"
    )
    if run.best.exists():
        shutil.copyfile(run.best, run.model)
    return run
