"""The emotion CNN, trained from scratch on small grayscale faces."""

from __future__ import annotations


def build_cnn(
    num_classes: int, input_size: int = 48, channels: int = 1, width: int = 32, augment=True
):
    """A VGG-style CNN: four double-convolution blocks with batch norm, pooling and dropout.

    With ``augment``, random augmentation layers come first (they act only in training);
    the model that ships is rebuilt without them and given the trained weights.
    """
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, channels), name="face")
    x = inputs
    if augment:
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomRotation(0.05, fill_mode="nearest")(x)
        x = layers.RandomZoom((-0.15, 0.1), fill_mode="nearest")(x)
        x = layers.RandomTranslation(0.08, 0.08, fill_mode="nearest")(x)
        x = layers.RandomContrast(0.2)(x)
    for i, dropout in enumerate((0.1, 0.2, 0.3, 0.4)):
        filters = width * 2**i
        for _ in range(2):
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
    outputs = layers.Dense(num_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="fervision_cnn")
