"""The classifier plugin's own commands: ``train``, ``evaluate``, ``ensemble`` and ``average``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fervision.cli_options import FiniteRange, with_options

from .dataset import SIX_CLASSES
from .inference import BACKENDS, DEFAULT_BACKEND, DEFAULT_FLIP_AVERAGE
from .lighting import DEFAULT_EQUALIZE_BELOW
from .model_io import TRAIN_EXTRA, require_train_extra

dataset_options = [
    click.option(
        "--dataset", help="kagglehub handle OWNER/NAME[/versions/N] (honours KAGGLEHUB_CACHE)."
    ),
    click.option("--data-dir", type=click.Path(), help="A local dataset folder instead."),
]


def share_option(name: str, help: str):
    """An option taking a share from 0 to 1, off (0) by default."""
    return click.option(
        name, type=click.FloatRange(0, 1), default=0.0, show_default=True, help=help
    )


def _classes(value: str | None) -> tuple[str, ...]:
    from .dataset import canonical_class

    if not value:
        return SIX_CLASSES
    return tuple(canonical_class(c) for c in value.split(",") if c.strip())


@click.command()
@with_options(dataset_options)
@click.option(
    "--out",
    type=click.Path(),
    default="runs/emotion",
    show_default=True,
    help="Run folder: checkpoint, model, curves and reports.",
)
@click.option("--classes", help="Comma-separated label set (default: the six FER classes).")
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    help="Epochs in all [default: 40]; with --resume, a new "
    "length for the run (the learning-rate schedule follows it).",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--learning-rate",
    type=FiniteRange(min=0, max=10),
    default=1.5e-3,
    show_default=True,
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Filters in the first block (doubling each block).",
)
@click.option(
    "--depth",
    type=click.IntRange(1, 4),
    default=2,
    show_default=True,
    help="Convolutions per block.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["adamw", "sgd"]),
    default="adamw",
    show_default=True,
    help="AdamW, or SGD with Nesterov momentum 0.9.",
)
@click.option("--weight-decay", type=FiniteRange(min=0, max=10), default=1e-4, show_default=True)
@click.option(
    "--mixup",
    type=FiniteRange(min=0, max=100),
    default=0.0,
    show_default=True,
    help="Mix pairs of faces and labels, Beta(a, a) weights; 0 = off.",
)
@share_option("--erasing", "Share of faces given a randomly erased patch.")
@share_option(
    "--mouth-erasing", "Share of faces whose mouth is erased (teaches the eyes and brows too)."
)
@share_option(
    "--mouth-swap",
    "Share of faces (not surprised ones) given a surprised face's open mouth, their label "
    "kept: speech is not surprise.",
)
@share_option(
    "--swa-from",
    "Average the weights of each epoch after this share of the run "
    "(batch norm then re-estimated); 0 = off.",
)
@click.option(
    "--teacher",
    "teachers",
    multiple=True,
    type=click.Path(exists=True),
    help="Distil this model's predictions (repeatable: their average).",
)
@click.option(
    "--distill",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Weight of the teachers' predictions in the targets.",
)
@click.option(
    "--precision",
    type=click.Choice(["float32", "mixed_bfloat16"]),
    help="[default: float32] mixed_bfloat16 is faster on GPUs and some CPUs (AMX), slower "
    "on others; with --resume, the precision on this machine (the run's own otherwise).",
)
@click.option("--class-weights/--no-class-weights", default=False, show_default=True)
@click.option(
    "--limit-per-class",
    type=click.IntRange(min=1),
    help="Train on at most N images of each class.",
)
@click.option(
    "--seed", type=int, default=1234, show_default=True, help="Seeds weights, order, augmentation."
)
@click.option(
    "--split-seed",
    type=int,
    default=1234,
    show_default=True,
    help="Seeds the validation split; keep it equal across models you will combine.",
)
@click.option(
    "--init",
    type=click.Path(exists=True, dir_okay=False),
    help="Start from this model's weights (fine-tuning; same --width and --depth).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--quiet", is_flag=True, help="One line per epoch instead of a progress bar.")
def train(
    dataset,
    data_dir,
    out,
    classes,
    epochs,
    batch_size,
    learning_rate,
    width,
    depth,
    optimizer,
    weight_decay,
    mixup,
    erasing,
    mouth_erasing,
    mouth_swap,
    swa_from,
    teachers,
    distill,
    precision,
    class_weights,
    limit_per_class,
    seed,
    split_seed,
    init,
    resume,
    quiet,
):
    """Train an emotion CNN on 48x48 grayscale faces, then report on the test split."""
    require_train_extra("`fervision train`", TRAIN_EXTRA)
    from fervision.outputs import prepare_folder

    from .dataset import resolve_dataset
    from .training import TrainConfig
    from .training import train as run_training

    root = resolve_dataset(dataset, data_dir)
    out = prepare_folder(out)  # one line if it cannot be a folder, before any work
    config = TrainConfig(
        classes=_classes(classes),
        epochs=epochs or 40,
        batch_size=batch_size,
        learning_rate=learning_rate,
        width=width,
        depth=depth,
        optimizer=optimizer,
        weight_decay=weight_decay,
        mixup=mixup,
        erasing=erasing,
        mouth_erasing=mouth_erasing,
        mouth_swap=mouth_swap,
        swa_from=swa_from,
        teachers=tuple(teachers),
        distill=distill,
        precision=precision or "float32",
        class_weights=class_weights,
        limit_per_class=limit_per_class,
        seed=seed,
        split_seed=split_seed,
        init=init,
    )
    run = run_training(
        root,
        out,
        config,
        resume=resume,
        verbose=2 if quiet else 1,
        notify=click.echo,
        epochs=epochs if resume else None,
        precision=precision if resume else None,
    )
    click.echo(f"model: {run.model}")
    _write_litert_beside(run.model)
    _evaluate(run.model, root, "test", run.path / "test_report.json", run.path)


def _write_litert_beside(model_path: Path, model=None) -> None:
    """Write the LiteRT form next to a saved model (loading it unless ``model`` is given)."""
    from .inference import export_litert, litert_beside
    from .model_io import load_model

    model = model if model is not None else load_model(model_path)[0]
    click.echo(f"LiteRT form: {export_litert(model, litert_beside(model_path))}")


def _evaluate(
    model_path,
    root,
    split,
    json_path,
    out_dir,
    limit=None,
    backend=DEFAULT_BACKEND,
    flip_average=DEFAULT_FLIP_AVERAGE,
    equalize_below=DEFAULT_EQUALIZE_BELOW,
):
    """Score a model as ``fervision run`` classifies faces, unless told otherwise."""
    from fervision.errors import FervisionError

    from .calibration import apply_temperature, calibration_metrics
    from .dataset import load_split
    from .evaluation import classification_metrics, format_report, write_report
    from .inference import Predictor

    predictor = Predictor.from_path(model_path, backend, flip_average, 0, equalize_below)
    temperature, predictor.temperature = predictor.temperature, 1.0  # scored before and after
    try:
        data = load_split(root, split, predictor.labels, require_all=False, notify=click.echo)
    except FervisionError as exc:
        raise FervisionError(f"{exc} (the model's labels: {', '.join(predictor.labels)})") from None
    data = data.evenly_spaced(limit)
    raw = predictor.predict_all(data.images)
    metrics = classification_metrics(
        data.labels, apply_temperature(raw, temperature), predictor.labels
    )
    metrics["calibration"] = calibration_metrics(raw, data.labels, temperature)
    metrics["model"] = str(model_path)
    metrics["split"] = split
    metrics["backend"] = backend
    metrics["flip_average"] = predictor.flip_average
    metrics["equalize_below"] = predictor.equalize_below
    click.echo(format_report(metrics))
    paths = write_report(metrics, Path(out_dir), stem=split)
    written = [paths["text"], paths["json"], paths["confusion"], paths["reliability"]]
    if json_path:
        Path(json_path).write_text(json.dumps(metrics, indent=2) + "\n")
        written.append(json_path)
    click.echo(f"wrote {', '.join(map(str, written))}")
    return metrics


@click.command()
@click.option(
    "--model", "model_path", type=click.Path(), help="A .keras model (default: the shipped one)."
)
@with_options(dataset_options)
@click.option("--split", type=click.Choice(["train", "test"]), default="test", show_default=True)
@click.option("--json", "json_path", type=click.Path(), help="Also write the metrics here.")
@click.option(
    "--out",
    type=click.Path(),
    default="evaluation",
    show_default=True,
    help="Folder for the report and confusion-matrix PNG.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate an even sample of N images.")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=DEFAULT_BACKEND,
    show_default=True,
    help="Score the model's LiteRT form (as `fervision run` classifies) or the Keras model.",
)
@click.option(
    "--flip-average/--no-flip-average",
    default=DEFAULT_FLIP_AVERAGE,
    show_default=True,
    help="Average each face with its mirror image (the default is what `fervision run` does).",
)
@click.option(
    "--equalize-below",
    type=click.FloatRange(min=0),
    default=DEFAULT_EQUALIZE_BELOW,
    show_default=True,
    help="Average a flat face (grey-level spread under this) with its equalized copy; 0: off.",
)
def evaluate(
    model_path,
    dataset,
    data_dir,
    split,
    json_path,
    out,
    limit,
    backend,
    flip_average,
    equalize_below,
):
    """Accuracy, weighted F1 and per-class scores of a model on a dataset split, by default
    computed exactly as `fervision run` classifies faces."""
    require_train_extra("`fervision evaluate`", TRAIN_EXTRA)
    from fervision.outputs import check_writable, prepare_folder

    from .dataset import resolve_dataset
    from .model_io import DEFAULT_MODEL

    out = prepare_folder(out)
    if json_path:  # after --out is made: the JSON may go into it
        check_writable(json_path)
    root = resolve_dataset(dataset, data_dir)
    model_path = model_path or DEFAULT_MODEL
    _evaluate(model_path, root, split, json_path, out, limit, backend, flip_average, equalize_below)


@click.command()
@click.option(
    "--model", "model_path", type=click.Path(), help="A .keras model (default: the shipped one)."
)
@with_options(dataset_options)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="The validation share of the training split (as the model was trained with).",
)
@click.option(
    "--split-seed", type=int, default=1234, show_default=True, help="Seeds the validation split."
)
@click.option(
    "--out", type=click.Path(), help="Write the calibrated model here (default: in place)."
)
def calibrate(model_path, dataset, data_dir, val_fraction, split_seed, out):
    """Fit the model's temperature on the validation split (least expected calibration
    error, 15 bins) as `fervision run` classifies faces, and store it in the model file."""
    require_train_extra("`fervision calibrate`", TRAIN_EXTRA)
    import dataclasses
    import shutil

    from .calibration import apply_temperature, expected_calibration_error, fit_temperature
    from .dataset import load_split, resolve_dataset, split_indices
    from .inference import Predictor, litert_beside, litert_path_for
    from .model_io import DEFAULT_MODEL, read_metadata, write_metadata

    model_path = Path(model_path or DEFAULT_MODEL)
    metadata = read_metadata(model_path)
    root = resolve_dataset(dataset, data_dir)
    predictor = Predictor.from_path(model_path)
    predictor.temperature = 1.0
    data = load_split(root, "train", predictor.labels, notify=click.echo)
    _, held_out = split_indices(data.labels, val_fraction, split_seed)
    raw = predictor.predict_all(data.images[held_out])
    labels = data.labels[held_out]
    temperature = fit_temperature(raw, labels)
    before = expected_calibration_error(raw, labels)
    after = expected_calibration_error(apply_temperature(raw, temperature), labels)
    litert = litert_path_for(model_path)
    written = write_metadata(
        model_path, dataclasses.replace(metadata, temperature=temperature), out
    )
    converted = litert_beside(written) if litert.parent == model_path.parent else None
    converted = converted or litert_path_for(written)
    if litert.exists() and not converted.exists():  # the same network: no new conversion
        (shutil.move if written == model_path else shutil.copyfile)(litert, converted)
    click.echo(
        f"temperature {temperature:g} on {len(labels)} validation faces: ECE (15 bins) "
        f"{before:.4f} -> {after:.4f}; wrote {written}"
    )


@click.command()
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="Where to write the combined .keras.")
def ensemble(models, out):
    """Combine trained models into one that averages their predictions (and its LiteRT form)."""
    require_train_extra("`fervision ensemble`")
    from fervision.outputs import check_writable

    from .ensemble import combine
    from .model_io import save_model

    check_writable(out)
    model, metadata = combine(list(models))
    path = save_model(model, out, metadata)
    click.echo(f"model: {path} (average of {len(models)})")
    _write_litert_beside(path, model)


@click.command()
@click.argument("models", nargs=-1, required=True, type=click.Path())
@with_options(dataset_options)
@click.option("--out", required=True, type=click.Path(), help="Where to write the averaged .keras.")
@click.option(
    "--split-seed",
    type=int,
    default=1234,
    show_default=True,
    help="The runs' --split-seed: its validation images are left out and scored.",
)
@click.option(
    "--batches", type=click.IntRange(min=1), default=100, show_default=True, help="Batches of 256."
)
def average(models, dataset, data_dir, out, split_seed, batches):
    """Average the weights of snapshots of one run (or take one model), re-estimate its
    batch-norm statistics on the plain training images, and score it on validation."""
    require_train_extra("`fervision average`", TRAIN_EXTRA)
    from fervision.outputs import check_writable

    from .averaging import average_weights, recalibrate_batch_norm
    from .dataset import load_split, resolve_dataset, stratified_split
    from .evaluation import classification_metrics
    from .inference import KerasPredictor
    from .model_io import save_model

    check_writable(out)
    root = resolve_dataset(dataset, data_dir)
    model, metadata = average_weights(list(models))
    data = load_split(root, "train", metadata.labels, require_all=False, notify=click.echo)
    train_set, val_set = stratified_split(data, 0.1, split_seed)
    layers = recalibrate_batch_norm(model, train_set.images, metadata, batches=batches)
    click.echo(
        f"averaged {len(models)} model(s); batch-norm statistics of {layers} layers from "
        f"{batches} batches of {len(train_set)} training images"
    )
    probs = KerasPredictor(model, metadata).predict_all(val_set.images)
    metrics = classification_metrics(val_set.labels, probs, metadata.labels)
    click.echo(
        f"validation ({len(val_set)} images): accuracy {metrics['accuracy']:.4f}, "
        f"weighted F1 {metrics['weighted_f1']:.4f}"
    )
    path = save_model(model, out, metadata)
    click.echo(f"model: {path}")
    _write_litert_beside(path, model)
