"""Fast batched prediction: a compiled call on the model instead of ``model.predict``."""

from __future__ import annotations

import numpy as np

from .model_io import ModelMetadata, load_model


class Predictor:
    """Turns batches of model-sized face crops (uint8) into class probabilities."""

    def __init__(self, model, metadata: ModelMetadata):
        import tensorflow as tf

        self.model = model
        self.metadata = metadata
        self.labels = tuple(metadata.labels)
        self._call = tf.function(lambda x: model(x, training=False), jit_compile=True,
                                 reduce_retracing=True)

    @classmethod
    def from_path(cls, path=None) -> Predictor:
        model, metadata = load_model(path)
        return cls(model, metadata)

    def _prepare(self, crops: np.ndarray) -> np.ndarray:
        m = self.metadata
        x = crops.astype(np.float32)
        if x.ndim == 3:
            x = x[..., None]
        return x * m.scale + m.offset

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """Probabilities (N, classes) for crops shaped (N, size, size[, channels])."""
        n = len(crops)
        if n == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        x = self._prepare(crops)
        if self.metadata.flip_average:
            x = np.concatenate([x, x[:, :, ::-1]])
        # Pad to a power-of-two batch so the compiled function sees few distinct shapes.
        rows = len(x)
        padded = 1 << (rows - 1).bit_length()
        if padded != rows:
            x = np.concatenate([x, np.zeros((padded - rows, *x.shape[1:]), np.float32)])
        probs = np.asarray(self._call(x))[:rows]
        if self.metadata.flip_average:
            probs = (probs[:n] + probs[n:]) / 2
        return probs

    def predict_all(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for a large array of crops, in batches."""
        parts = [self(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)), np.float32)
