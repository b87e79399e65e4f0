"""The BlazeFace model files: shipped inside the package, or a path the user gives.

Lookup for a range (``short`` or ``full``): an explicit path (``model=``, the CLI's
``--detector-model``), else ``$FERVISION_MEDIAPIPE_MODEL``, else the file shipped in
``fervision_mediapipe/models/`` (Apache-2.0, see ``models/LICENSE``). Nothing is
downloaded: a fresh install works offline. A file that is missing, not a file, or
not a TFLite flatbuffer is a one-line error naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fervision.errors import FervisionError
from fervision.options import OptionError

MODEL_ENV = "FERVISION_MEDIAPIPE_MODEL"
TFLITE_IDENTIFIER = b"TFL3"
PACKAGED = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace range and the file that ships for it."""

    variant: str
    filename: str  # BlazeFace short range has a 128x128 input, full range 192x192
    sha256: str  # of the shipped file

    @property
    def path(self) -> Path:
        return PACKAGED / self.filename


MODELS: dict[str, ModelSpec] = {
    "short": ModelSpec(
        "short",
        "face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    "full": ModelSpec(
        "full",
        "face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    ),
}


def get_spec(variant: str) -> ModelSpec:
    """The spec of ``short`` or ``full``; a one-line error for anything else."""
    try:
        return MODELS[variant.strip().lower()]
    except KeyError:
        raise OptionError(
            f"unknown MediaPipe face model variant {variant!r}; known: auto, "
            f"{', '.join(MODELS)} (or pass model=PATH / --detector-model PATH)"
        ) from None


def resolve_model(variant: str, model: str | os.PathLike | None = None) -> Path:
    """The model file for ``variant``: explicit path, environment, or the shipped file."""
    if model:
        return check_model_file(model, origin="model file")
    env = os.environ.get(MODEL_ENV)
    if env:
        return check_model_file(env, origin=f"model file from {MODEL_ENV}")
    return check_model_file(get_spec(variant).path, origin="shipped model file")


def check_model_file(path: str | os.PathLike, origin: str = "model file") -> Path:
    """``path`` as a Path if it is a readable TFLite model; a one-line error otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FervisionError(f"MediaPipe {origin} not found: {path}")
    if not path.is_file():
        raise FervisionError(f"MediaPipe {origin} is not a file: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise FervisionError(f"cannot read MediaPipe {origin} {path}: {exc.strerror}") from None
    if head[4:8] != TFLITE_IDENTIFIER:
        raise FervisionError(
            f"MediaPipe {origin} {path} is not a TFLite model (no TFL3 identifier); "
            f"expected a BlazeFace .tflite such as {MODELS['short'].filename}"
        )
    return path
