"""Saving and loading Keras emotion models with their own metadata inside the file.

A ``.keras`` file is a zip archive; fervision adds ``fervision.json`` to it, holding
the labels and how to turn a face crop into the model's input.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from fervision.errors import FervisionError
from fervision.native import quiet_native_output

METADATA_NAME = "fervision.json"
DEFAULT_MODEL = Path(__file__).parent / "models" / "default.keras"
#: What the ``train`` extra adds to the runtime install (module: package).
TRAIN_EXTRA = {"tensorflow": "TensorFlow", "sklearn": "scikit-learn", "kagglehub": "kagglehub"}


def require_train_extra(what: str, modules=("tensorflow",)) -> None:
    """A one-line error naming the ``train`` extra unless ``modules`` are installed."""
    missing = [TRAIN_EXTRA[m] for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise FervisionError(
            f"{what} needs {' and '.join(missing)}, which the runtime install leaves out: "
            f'pip install "fervision[train]"'
        )


@dataclass(frozen=True)
class ModelMetadata:
    """What the pipeline needs to use a model: labels and input conventions."""

    labels: tuple[str, ...]
    input_size: int = 48
    channels: int = 1  # 1: grayscale, 3: BGR converted to RGB
    scale: float = 1.0 / 255.0  # pixel value multiplier
    offset: float = 0.0  # added after scaling
    margin: float = 0.1  # fraction of the face box added on each side before cropping
    flip_average: bool = True  # average predictions of the face and its mirror image
    temperature: float = 1.0  # the calibration: probabilities as if logits were divided by it

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "labels": list(self.labels)}, indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> ModelMetadata:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**{**known, "labels": tuple(known["labels"])})


def save_model(model, path: str | Path, metadata: ModelMetadata) -> Path:
    """Save ``model`` with ``metadata`` embedded, atomically (a crash leaves the old file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp, "a") as archive:
        archive.writestr(METADATA_NAME, metadata.to_json())
    os.replace(tmp, path)
    return path


def write_metadata(path: str | Path, metadata: ModelMetadata, out: str | Path | None = None):
    """The model file at ``path`` written to ``out`` (default: in place, atomically) with
    ``metadata`` instead of its own; the weights are copied as they are."""
    path, out = Path(path), Path(out or path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.keras")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in source.infolist():
            if item.filename != METADATA_NAME:
                copy.writestr(item, source.read(item.filename))
        copy.writestr(METADATA_NAME, metadata.to_json())
    os.replace(tmp, out)
    return out


def read_metadata(path: str | Path) -> ModelMetadata:
    """The metadata of a saved model, without loading TensorFlow."""
    path = Path(path)
    if path.is_dir():
        raise FervisionError(f"{path} is a folder; give a .keras model file")
    if not path.is_file():
        raise FervisionError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read(METADATA_NAME))
        return ModelMetadata.from_dict(data)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise FervisionError(
            f"{path} is not a fervision model (.keras file with {METADATA_NAME}): {exc}"
        ) from None


def load_model(path: str | Path | None = None):
    """Load a model and its metadata; checks the output width matches the labels."""
    path = Path(path) if path else DEFAULT_MODEL
    metadata = read_metadata(path)
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":  # JAX trains too
        require_train_extra(f"loading {path.name} with Keras")
    try:
        with quiet_native_output():  # TensorFlow logs its device search on first use
            import keras

            model = keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise FervisionError(f"could not load model {path}: {exc}".splitlines()[0]) from None
    inputs = model.inputs[0].shape
    outputs = model.outputs[0].shape
    want = (metadata.input_size, metadata.input_size, metadata.channels)
    if tuple(inputs[1:]) != want or outputs[-1] != len(metadata.labels):
        raise FervisionError(
            f"model {path} has input {tuple(inputs[1:])} and {outputs[-1]} outputs, but its "
            f"metadata says input {want} and {len(metadata.labels)} labels"
        )
    return model, metadata
