"""Fast batched prediction for emotion models, with two interchangeable backends.

``litert`` runs a LiteRT (TensorFlow Lite) conversion of the model with XNNPACK through
``ai-edge-litert``, several times faster per call on a CPU and without TensorFlow;
``keras`` calls the Keras model through a compiled ``tf.function`` (needs the ``train``
extra). Both run batches in power-of-two parts (50 faces: 32 + 16 + 2) so they see few
distinct shapes and compute no padding.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from fervision.errors import FervisionError
from fervision.native import quiet_native_output

from .calibration import apply_temperature
from .lighting import DEFAULT_EQUALIZE_BELOW, equalized, flat_faces
from .model_io import ModelMetadata, load_model, read_metadata, require_train_extra

BACKENDS = ("litert", "keras")
#: How the pipeline classifies faces by default, and so what ``fervision evaluate`` scores
#: by default (tests/test_runtime.py checks they agree face by face): the LiteRT form (no
#: TensorFlow at run time), each face and its mirror in the same call, averaged. On a quiet
#: machine benchmarks/throughput.py measured the default pipeline at 0.87 of its decode +
#: detect ceiling this way (0.88 in one pass; the target is at least 0.8).
DEFAULT_BACKEND = "litert"
DEFAULT_FLIP_AVERAGE = True
MAX_BATCH = 64


def power_of_two_parts(x: np.ndarray) -> list[np.ndarray]:
    """``x`` cut into consecutive parts of at most ``MAX_BATCH`` rows, each a power of two."""
    parts, start = [], 0
    while start < len(x):
        rows = min(MAX_BATCH, 1 << ((len(x) - start).bit_length() - 1))
        parts.append(x[start : start + rows])
        start += rows
    return parts


class Predictor:
    """Turns batches of model-sized uint8 face crops into class probabilities."""

    def __init__(
        self,
        metadata: ModelMetadata,
        flip_average: bool | None = None,
        equalize_below: float = DEFAULT_EQUALIZE_BELOW,
    ):
        self.metadata = metadata
        self.labels = tuple(metadata.labels)
        self.flip_average = metadata.flip_average if flip_average is None else flip_average
        self.equalize_below = float(equalize_below)
        self.temperature = float(metadata.temperature)

    @classmethod
    def from_path(
        cls,
        path=None,
        backend: str = DEFAULT_BACKEND,
        flip_average: bool | None = None,
        spare_cores: int = 0,
        equalize_below: float = DEFAULT_EQUALIZE_BELOW,
    ):
        """A predictor for the model file at ``path`` (default: the shipped model); LiteRT
        leaves ``spare_cores`` to work running beside it (a pipeline's detector)."""
        if backend == "keras":
            model, metadata = load_model(path)
            return KerasPredictor(model, metadata, flip_average, equalize_below)
        if backend == "litert":
            return LiteRTPredictor.from_keras_file(path, flip_average, spare_cores, equalize_below)
        raise FervisionError(f"unknown backend {backend!r}; known backends: {', '.join(BACKENDS)}")

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, classes) for uint8 crops shaped (N, size, size[,
        channels]); a flat face's are averaged with its equalized copy's (see ``lighting``),
        then the model's temperature applies (``calibration``)."""
        n = len(crops)
        if n == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        m = self.metadata
        if crops.ndim == 3:
            crops = crops[..., None]
        flat = flat_faces(crops, self.equalize_below)
        if len(flat):
            crops = np.concatenate([crops, equalized(crops[flat])])
        x = crops.astype(np.float32) * m.scale + m.offset
        if self.flip_average:
            x = np.concatenate([x, x[:, :, ::-1]])
        probs = np.concatenate(
            [np.asarray(self._forward(np.ascontiguousarray(p))) for p in power_of_two_parts(x)]
        )
        if self.flip_average:
            half = len(probs) // 2
            probs = (probs[:half] + probs[half:]) / 2
        if len(flat):
            probs[flat] = (probs[flat] + probs[n:]) / 2
        return apply_temperature(probs[:n], self.temperature)

    def predict_all(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for a large array of crops, in batches."""
        parts = [self(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)), np.float32)


class KerasPredictor(Predictor):
    """The Keras model called directly through a ``tf.function`` (not ``model.predict``)."""

    def __init__(
        self,
        model,
        metadata: ModelMetadata,
        flip_average: bool | None = None,
        equalize_below: float = DEFAULT_EQUALIZE_BELOW,
    ):
        import keras

        super().__init__(metadata, flip_average, equalize_below)
        self.model = model
        self._call = lambda x: model(x, training=False)
        if keras.backend.backend() == "tensorflow":
            with quiet_native_output():
                import tensorflow as tf

            self._call = tf.function(self._call, reduce_retracing=True)

    def _forward(self, x):
        return self._call(x)


def export_litert(model, path: str | Path, quantize: bool = True) -> Path:
    """Convert a Keras model to a LiteRT flatbuffer (dynamic-range int8 weights by default)."""
    with quiet_native_output():
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        flatbuffer = converter.convert()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(flatbuffer)
    os.replace(tmp, path)
    return path


def litert_beside(keras_path: Path) -> Path:
    """The LiteRT file next to a Keras model; its name carries the Keras file's digest."""
    digest = hashlib.sha1(keras_path.read_bytes()).hexdigest()[:16]
    return keras_path.with_name(f"{keras_path.stem}-{digest}.tflite")


def litert_path_for(keras_path: Path) -> Path:
    """Where the LiteRT form of a model lives: beside it if shipped so, else in the cache.

    The digest in the name means a stale conversion is never used.
    """
    beside = litert_beside(keras_path)
    name = beside.name
    if beside.exists():
        return beside
    cache = Path(os.environ.get("FERVISION_CACHE", Path.home() / ".cache" / "fervision"))
    return cache / "litert" / name


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system reports one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


class LiteRTPredictor(Predictor):
    """A LiteRT conversion of the model; one interpreter per batch size (a power of two)."""

    def __init__(
        self,
        tflite_path: Path,
        metadata: ModelMetadata,
        flip_average=None,
        threads: int | None = None,
        spare_cores: int = 0,
        equalize_below: float = DEFAULT_EQUALIZE_BELOW,
    ):
        super().__init__(metadata, flip_average, equalize_below)
        self.path = Path(tflite_path)
        self.threads = threads
        self.spare_cores = spare_cores
        self._interpreters: dict[int, tuple] = {}

    @classmethod
    def from_keras_file(
        cls, path=None, flip_average=None, spare_cores=0, equalize_below=DEFAULT_EQUALIZE_BELOW
    ) -> LiteRTPredictor:
        """Use the model's LiteRT form, converting it once (and caching it) if needed."""
        from .model_io import DEFAULT_MODEL

        keras_path = Path(path) if path else DEFAULT_MODEL
        metadata = read_metadata(keras_path)
        target = litert_path_for(keras_path)
        if not target.exists():  # a model trained elsewhere: converting needs TensorFlow
            require_train_extra(f"converting {keras_path.name} to its LiteRT form")
            model, metadata = load_model(keras_path)
            export_litert(model, target)
        return cls(target, metadata, flip_average, None, spare_cores, equalize_below)

    def _threads_for(self, batch: int) -> int:
        """One thread for a few faces (a second costs more than it gains), else up to four
        of the usable cores not left spare."""
        if self.threads:
            return self.threads
        return 1 if batch <= 4 else max(1, min(4, usable_cpus() - self.spare_cores))

    def _interpreter(self, batch: int):
        if batch not in self._interpreters:
            with quiet_native_output():
                from ai_edge_litert.interpreter import Interpreter

                interpreter = Interpreter(
                    model_path=str(self.path), num_threads=self._threads_for(batch)
                )
                inp = interpreter.get_input_details()[0]
                size, channels = self.metadata.input_size, self.metadata.channels
                interpreter.resize_tensor_input(inp["index"], [batch, size, size, channels])
                interpreter.allocate_tensors()
                interpreter.invoke()  # the first run logs the delegate's creation
            out = interpreter.get_output_details()[0]
            self._interpreters[batch] = (interpreter, inp["index"], out["index"])
        return self._interpreters[batch]

    def _forward(self, x):
        interpreter, inp, out = self._interpreter(len(x))
        interpreter.set_tensor(inp, x)
        interpreter.invoke()
        return interpreter.get_tensor(out).copy()
