"""Averaging the weights of snapshots of one run, then re-estimating batch-norm statistics.

Batch-norm statistics gathered while training describe augmented images; measured on
the plain (and mirrored) training images instead, they fit real faces better.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from fervision.errors import FervisionError
from fervision.native import quiet_native_output

from .ensemble import check_compatible
from .model_io import ModelMetadata, load_model, read_metadata


def average_weights(paths: list[str | Path]):
    """One model whose weights are the mean of the models' at ``paths`` (one architecture)."""
    paths = [Path(p) for p in paths]
    check_compatible(paths, [read_metadata(p) for p in paths])
    with quiet_native_output():  # TensorFlow logs its device search on first use
        loaded = [load_model(p) for p in paths]
    model, metadata = loaded[0]
    weights = [m.get_weights() for m, _ in loaded]
    for path, other in zip(paths[1:], weights[1:]):
        if [w.shape for w in other] != [w.shape for w in weights[0]]:
            raise FervisionError(
                f"cannot average {paths[0]} and {path}: different architectures "
                "(average snapshots of one run, or use `fervision ensemble`)"
            )
    model.set_weights([np.mean(ws, axis=0) for ws in zip(*weights)])
    return model, replace(metadata, temperature=1.0)  # new weights: `fervision calibrate` them


def recalibrate_batch_norm(
    model, images: np.ndarray, metadata: ModelMetadata, batches=100, batch_size=256, seed=0
) -> int:
    """Set every batch-norm layer's moving mean and variance to their average over
    ``batches`` random batches of ``images`` (half of them mirrored); returns the layers."""
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    rng = np.random.default_rng(seed)
    try:
        for k in range(batches):
            for layer in layers:  # moving = moving * k/(k+1) + batch/(k+1): a running mean
                layer.momentum = k / (k + 1)
            pick = rng.choice(len(images), min(batch_size, len(images)), replace=False)
            x = images[pick].astype(np.float32)
            x = (x[..., None] if x.ndim == 3 else x) * metadata.scale + metadata.offset
            model(x[:, :, ::-1] if k % 2 else x, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return len(layers)
