"""The emotion CNN, trained from scratch on small grayscale faces."""

from __future__ import annotations


def build_cnn(
    num_classes: int,
    input_size: int = 48,
    channels: int = 1,
    width: int = 32,
    depth: int = 2,
):
    """A VGG-style CNN: four blocks of ``depth`` convolutions with batch norm, pooling, dropout.

    Training augments the faces on batches before they reach it (``batches.augment_faces``).
    """
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, channels), name="face")
    x = inputs
    for i, dropout in enumerate((0.1, 0.2, 0.3, 0.4)):
        filters = width * 2**i
        for _ in range(depth):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="emotion", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="fervision_cnn")
