"""Combining trained emotion models into one that averages their probabilities."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fervision.errors import FervisionError

from .model_io import ModelMetadata, load_model, read_metadata

_SHARED_FIELDS = ("labels", "input_size", "channels", "scale", "offset")


def check_compatible(paths: list[Path], metadata: list[ModelMetadata]) -> None:
    """A clear error unless the models share labels and input conventions."""
    first = metadata[0]
    for path, other in zip(paths[1:], metadata[1:]):
        for field in _SHARED_FIELDS:
            if getattr(other, field) != getattr(first, field):
                raise FervisionError(
                    f"cannot combine {paths[0]} and {path}: their {field} differ "
                    f"({getattr(first, field)} vs {getattr(other, field)})"
                )


def combine(paths: list[str | Path]):
    """One Keras model averaging the softmax outputs of the models at ``paths``."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise FervisionError("an ensemble needs at least two models")
    check_compatible(paths, [read_metadata(p) for p in paths])
    loaded = [load_model(p) for p in paths]  # imports keras quietly
    import keras

    metadata = loaded[0][1]
    face = keras.Input(loaded[0][0].inputs[0].shape[1:], name="face")
    outputs = []
    for i, (member, _) in enumerate(loaded):
        renamed = keras.Model(member.inputs[0], member.outputs[0], name=f"member_{i}")
        outputs.append(renamed(face))  # nested models need distinct names
    average = keras.layers.Average(name="emotion")(outputs)
    uncalibrated = replace(metadata, temperature=1.0)  # a new model: `fervision calibrate` it
    return keras.Model(face, average, name="fervision_ensemble"), uncalibrated
