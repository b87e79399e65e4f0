"""Training an emotion CNN with per-epoch checkpoints, resume and a final test report."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from fervision.errors import FervisionError
from fervision.native import quiet_native_output

from .dataset import SIX_CLASSES, ImageSet, load_split, split_indices
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
    depth: int = 2  # convolutions per block
    optimizer: str = "adamw"  # or "sgd": SGD with Nesterov momentum 0.9
    mixup: float = 0.0  # mixup's Beta(a, a) parameter; 0 = off
    erasing: float = 0.0  # share of faces given a random erased patch
    mouth_erasing: float = 0.0  # share of faces whose mouth is erased
    mouth_swap: float = 0.0  # share of faces (not surprise) given a surprised face's open mouth
    swa_from: float = 0.0  # average the weights of every epoch after this share of the run
    teachers: tuple[str, ...] = ()  # models (or their saved predictions) to distil
    distill: float = 0.5  # weight of the teachers' predictions in the targets
    precision: str = "float32"  # or "mixed_bfloat16": measure it on your processor first
    init: str | None = None  # start from this model's weights (same width and depth)
    class_weights: bool = False
    limit_per_class: int | None = None  # a small subset, for quick runs and tests
    seed: int = 1234  # weights, shuffling and augmentation
    split_seed: int = 1234  # which images are held out for validation
    jit_compile: bool = False  # XLA measured 3-5x slower for this CNN on CPU (always on with JAX)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("classes", "teachers"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


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


def learning_rate_at(progress: float, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak, by epochs completed (fractional)."""
    peak = config.learning_rate
    warmup = min(config.warmup_epochs, config.epochs / 2)
    if progress < warmup:
        return peak * (0.05 + 0.95 * progress / warmup)
    span = max(config.epochs - warmup, 1e-9)
    done = min((progress - warmup) / span, 1.0)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * done)))


def _schedule(config: TrainConfig, steps_per_epoch: int):
    """``learning_rate_at`` as a Keras schedule (it runs inside compiled training steps)."""
    import keras
    from keras import ops

    class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            peak = config.learning_rate
            warmup = min(config.warmup_epochs, config.epochs / 2)
            progress = ops.cast(step, "float32") / steps_per_epoch
            rising = peak * (0.05 + 0.95 * progress / max(warmup, 1e-9))
            done = ops.clip((progress - warmup) / max(config.epochs - warmup, 1e-9), 0.0, 1.0)
            falling = peak * (0.01 + 0.99 * 0.5 * (1 + ops.cos(math.pi * done)))
            return ops.where(progress < warmup, rising, falling)

        def get_config(self):
            return {}

    return WarmupCosine()


def _compile(model, config: TrainConfig, steps_per_epoch: int, done_steps: int = 0) -> None:
    import keras

    rate = _schedule(config, steps_per_epoch)
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(
            rate, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
        )
    elif config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    else:
        raise FervisionError(f"unknown optimizer {config.optimizer!r} (adamw or sgd)")
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        jit_compile=config.jit_compile or keras.backend.backend() == "jax",
    )
    optimizer.build(model.trainable_variables)
    optimizer.iterations.assign(done_steps)


def _class_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=classes).astype(float)
    return (counts.sum() / (classes * np.maximum(counts, 1))).astype(np.float32)


def teacher_predictions(paths, images: np.ndarray, notify=print) -> np.ndarray:
    """The teachers' predictions on ``images`` (each averaged with its mirror), averaged.

    A ``.npy`` path is predictions saved earlier for these images (``np.save``)."""
    from .inference import KerasPredictor
    from .model_io import load_model

    total = 0.0
    for path in paths:
        if str(path).endswith(".npy"):
            probs = np.load(path)
            if probs.shape[0] != len(images):
                raise FervisionError(
                    f"{path} holds {probs.shape[0]} predictions, not {len(images)}"
                )
        else:
            model, metadata = load_model(path)
            teacher = KerasPredictor(model, metadata, flip_average=True, equalize_below=0)
            probs = teacher.predict_all(images)
        notify(f"teacher {path}: predictions on {len(images)} training faces")
        total = total + probs
    return (total / len(paths)).astype(np.float32)


class GracefulStop:
    """While active, Ctrl-C ends training after the current batch (a second one at once)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def train_epoch(model, batches, stop: GracefulStop, progress: bool) -> dict:
    """One pass over ``batches`` with ``train_on_batch`` while threads prepare the next
    ones; returns the epoch's loss and metrics, averaged over its faces. Keras ``fit``
    over the same batches was 1.3x slower on a 2-core CPU (MODEL_CARD.md)."""
    import keras

    bar = None
    totals: dict[str, float] = {}
    seen = 0
    with ThreadPoolExecutor(max(batches.workers, 1)) as pool:
        ahead: deque = deque()  # futures of batches index, index + 1, ...
        for index in range(len(batches)):
            while len(ahead) < 8 and index + len(ahead) < len(batches):
                ahead.append(pool.submit(batches.__getitem__, index + len(ahead)))
            batch = ahead.popleft().result()
            logs = model.train_on_batch(*batch, return_dict=True)  # this batch's alone
            seen += len(batch[0])
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + float(value) * len(batch[0])
            if progress:
                bar = bar or keras.utils.Progbar(len(batches), stateful_metrics=list(logs))
                bar.update(index + 1, [(key, total / seen) for key, total in totals.items()])
            if stop.requested:
                break
        for future in ahead:
            future.cancel()
    return {key: total / max(seen, 1) for key, total in totals.items()}


class RunDirectory:
    """The files of one run: checkpoint (weights, no optimizer slots), state, models, curves."""

    def __init__(self, path: Path):
        self.path = path
        self.checkpoint = path / "checkpoint.weights.h5"
        self.swa = path / "swa.npz"
        self.state = path / "state.json"
        self.best = path / "best.keras"
        self.averaged = path / "swa.keras"
        self.model = path / "model.keras"
        self.curves = path / "training_curves.png"

    def load_state(self) -> dict | None:
        return json.loads(self.state.read_text()) if self.state.exists() else None

    def save_state(self, state: dict) -> None:
        _replace(self.state, lambda tmp: tmp.write_text(json.dumps(state, indent=2)))


def _replace(path: Path, write) -> None:
    """Write through a temporary file renamed over ``path``: a crash keeps the old file."""
    tmp = path.with_name(f"partial.{path.name}")
    write(tmp)
    os.replace(tmp, path)


def _swap_options(config: TrainConfig, train_set: ImageSet) -> dict:
    """What ``face_batches`` needs to paste speaking mouths: surprised faces lend theirs."""
    if not config.mouth_swap or "surprise" not in config.classes:
        return {}
    surprised = train_set.labels == config.classes.index("surprise")
    return {
        "mouth_swap": config.mouth_swap,
        "swap_donors": train_set.images[surprised],
        "swap_exempt": surprised,
    }


def _build(config: TrainConfig, precision: str = "float32"):
    """The network of ``config`` in ``precision`` (float32 ships; training may mix)."""
    import keras

    from .architecture import build_cnn

    keras.config.set_dtype_policy(precision)
    try:
        return build_cnn(len(config.classes), width=config.width, depth=config.depth)
    finally:
        keras.config.set_dtype_policy("float32")


def _start_from(model, path: str) -> None:
    """Give ``model`` the weights of the model at ``path`` (fine-tuning)."""
    from .model_io import load_model

    weights = load_model(path)[0].get_weights()
    if [w.shape for w in weights] != [tuple(v.shape) for v in model.weights]:
        raise FervisionError(f"{path} has another architecture than --width/--depth describe")
    model.set_weights(weights)


class SnapshotAverage:
    """A running mean of the weights at the end of epochs (stochastic weight averaging)."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self.mean = None
        if path.exists():
            with np.load(path) as data:
                self.count = int(data["count"])
                self.mean = [data[f"w{i}"] for i in range(len(data.files) - 1)]

    def add(self, weights: list[np.ndarray]) -> None:
        self.count += 1
        if self.mean is None:
            self.mean = [w.astype(np.float64) for w in weights]
        else:
            self.mean = [m + (w - m) / self.count for m, w in zip(self.mean, weights)]
        arrays = {f"w{i}": m for i, m in enumerate(self.mean)}
        _replace(self.path, lambda tmp: np.savez(tmp, count=self.count, **arrays))


def _finish_average(
    run: RunDirectory, average: SnapshotAverage, shipped, train_set, val_set, metadata, notify
) -> float:
    """Save the weight average, batch-norm statistics re-estimated, through the float32
    network ``shipped``; returns its validation accuracy."""
    from .averaging import recalibrate_batch_norm
    from .evaluation import classification_metrics
    from .inference import KerasPredictor

    shipped.set_weights([m.astype(np.float32) for m in average.mean])
    recalibrate_batch_norm(shipped, train_set.images, metadata)
    # scored as each epoch is (one pass, faces as they are), so the two compare
    plain = KerasPredictor(shipped, metadata, flip_average=False, equalize_below=0)
    probs = plain.predict_all(val_set.images)
    accuracy = classification_metrics(val_set.labels, probs, metadata.labels)["accuracy"]
    save_model(shipped, run.averaged, metadata)
    notify(f"weights of {average.count} epochs averaged: validation accuracy {accuracy:.4f}")
    return accuracy


def train(
    root: Path,
    out: Path,
    config: TrainConfig,
    resume: bool = False,
    verbose=1,
    notify=print,
    epochs: int | None = None,
    precision: str | None = None,
) -> RunDirectory:
    """Train (or resume) a run in ``out``; returns its files. Ctrl-C keeps a checkpoint.

    On resume, ``epochs`` may lengthen or shorten the run: the learning rate follows
    the new length from where the run is; ``precision`` suits the run to this machine.
    The checkpoint holds weights only, so a resumed optimizer starts its momentum afresh.
    """
    with quiet_native_output():  # TensorFlow's start-up and device-search logs
        import keras

        keras.ops.zeros(1)  # the backend finds its devices here, quietly, not mid-run

    from .batches import face_batches, one_hot

    run = RunDirectory(out)
    state = run.load_state()
    if state and not resume:
        raise FervisionError(f"{out} already holds a run; pass --resume or choose another --out")
    if resume and not state:
        raise FervisionError(f"nothing to resume in {out} (no state.json)")
    if state:
        config = TrainConfig.from_dict(state["config"])
        if epochs:
            config.epochs = epochs
        if precision:
            config.precision = precision
        state["config"] = asdict(config)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)

    data = _limit(
        load_split(root, "train", config.classes, notify=notify),
        config.limit_per_class,
        config.seed,
    )
    train_idx, val_idx = split_indices(data.labels, config.val_fraction, config.split_seed)
    train_set, val_set = data.take(train_idx), data.take(val_idx)
    notify(
        f"training on {len(train_set)} images, validating on {len(val_set)} "
        f"({', '.join(f'{k} {v}' for k, v in data.counts().items())}); "
        f"keras backend {keras.backend.backend()}, {config.precision}"
    )
    classes = len(config.classes)
    steps = int(np.ceil(len(train_set) / config.batch_size))
    targets = one_hot(train_set.labels, classes)
    if config.teachers:
        soft = teacher_predictions(config.teachers, data.images, notify)[train_idx]
        targets = (1 - config.distill) * targets + config.distill * soft

    state = state or {
        "config": asdict(config),
        "epoch": 0,
        "history": {},
        "best_val_accuracy": -1.0,
        "seconds": 0.0,
    }
    state["train_images"] = len(train_set)
    model = _build(config, config.precision)
    if state["epoch"]:
        model.load_weights(run.checkpoint)
        notify(f"resuming after epoch {state['epoch']} of {config.epochs}")
    elif config.init:
        _start_from(model, config.init)
    _compile(model, config, steps, done_steps=state["epoch"] * steps)
    metadata = ModelMetadata(labels=tuple(config.classes))
    average = SnapshotAverage(run.swa)
    shipped = _build(config)  # float32, no optimizer: what checkpoints and models hold
    started = time.time()

    def end_epoch(epoch: int, logs: dict, trained: float, seconds: float) -> None:
        logs["images_per_second"] = len(train_set) / max(trained, 1e-9)
        for key, value in logs.items():
            state["history"].setdefault(key, []).append(float(value))
        state["epoch"] = epoch + 1
        state["seconds"] += seconds
        if verbose == 2:
            notify(f"epoch {epoch + 1}: {logs['images_per_second']:.0f} training images/s")
        weights = model.get_weights()
        shipped.set_weights(weights)
        _replace(run.checkpoint, shipped.save_weights)
        if config.swa_from and epoch + 1 > config.swa_from * config.epochs:
            average.add(weights)
        val = float(logs.get("val_accuracy", 0))
        if val > state["best_val_accuracy"]:
            state["best_val_accuracy"] = val
            state["best_epoch"] = epoch + 1
            save_model(shipped, run.best, metadata)
        run.save_state(state)

    stop = GracefulStop()
    weights = _class_weights(train_set.labels, classes)[train_set.labels]
    batches = face_batches(
        train_set.images,
        targets,
        config.batch_size,
        seed=config.seed,
        first_epoch=state["epoch"],
        sample_weights=weights if config.class_weights else None,
        augment=True,
        mixup=config.mixup,
        erasing=config.erasing,
        mouth_erasing=config.mouth_erasing,
        **_swap_options(config, train_set),
    )
    validation = face_batches(val_set.images, one_hot(val_set.labels, classes), 256)
    try:
        with stop:
            for epoch in range(state["epoch"], config.epochs):
                epoch_started = time.time()
                if verbose == 1:
                    notify(f"Epoch {epoch + 1}/{config.epochs}")
                logs = train_epoch(model, batches, stop, verbose == 1)
                if stop.requested:  # a partial epoch: keep the last whole one
                    break
                trained = time.time() - epoch_started
                scores = model.evaluate(validation, verbose=0, return_dict=True)
                logs.update({f"val_{key}": value for key, value in scores.items()})
                end_epoch(epoch, logs, trained, time.time() - epoch_started)
                batches.on_epoch_end()
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
    speed = state["history"].get("images_per_second", [0])
    notify(
        f"trained {state['epoch']} epochs in {state['seconds'] / 60:.1f} min "
        f"(this session {(time.time() - started) / 60:.1f} min, median "
        f"{np.median(speed):.0f} training images/s); best validation accuracy "
        f"{state['best_val_accuracy']:.4f} at epoch {state.get('best_epoch')}"
    )
    chosen = run.best
    if average.count and state["epoch"] >= config.epochs:
        if (
            _finish_average(run, average, shipped, train_set, val_set, metadata, notify)
            > state["best_val_accuracy"]
        ):
            chosen = run.averaged
    if chosen.exists():
        shutil.copyfile(chosen, run.model)
    return run
