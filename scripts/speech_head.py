"""Fine-tune a model's dense head so that a speaking mouth is not read as an expression.

The convolutional features stay as trained; only the layers after ``Flatten`` learn, on
the features of every training face plus, for a share of the faces that are not
surprised, the features of the same face with a surprised face's open mouth pasted in
(``batches.swap_mouths``), its targets kept (half its label, half the teachers', as the
run was distilled). That is how the shipped model was made from the one it replaced (the
100-epoch run's best epoch), on a 2-core CPU in about 7 minutes (features of 53,000
faces, then 3 epochs of the head):

    git show db90e1f:plugins/fervision_keras/models/default.keras > previous.keras
    KAGGLEHUB_CACHE=../shared/kagglehub python scripts/speech_head.py \\
        --dataset msambare/fer2013/versions/1 --model previous.keras \\
        --teachers runs/default/teachers.npy --out speech.keras
    KAGGLEHUB_CACHE=../shared/kagglehub fervision calibrate --model speech.keras \\
        --dataset msambare/fer2013/versions/1

It prints validation accuracy on plain faces and on faces with pasted mouths (and how
many of those are read as surprise) before and after each epoch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="kagglehub handle (honours KAGGLEHUB_CACHE)")
    parser.add_argument("--data-dir", help="a local dataset folder instead")
    parser.add_argument("--model", help="the model to start from (default: the shipped one)")
    parser.add_argument("--teachers", help="teachers.npy of the run (its distillation targets)")
    parser.add_argument("--out", required=True, help="where to write the fine-tuned .keras")
    parser.add_argument("--share", type=float, default=0.5, help="faces given a pasted mouth")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import keras

    from fervision_keras.batches import one_hot, swap_mouths
    from fervision_keras.dataset import load_split, resolve_dataset, split_indices
    from fervision_keras.model_io import load_model, save_model

    keras.utils.set_random_seed(args.seed)
    model, metadata = load_model(args.model)
    data = load_split(resolve_dataset(args.dataset, args.data_dir), "train", metadata.labels)
    train, held_out = split_indices(data.labels, 0.1, 1234)
    surprise = metadata.labels.index("surprise")
    classes = len(metadata.labels)
    rng = np.random.default_rng(args.seed)

    flatten = next(i for i, layer in enumerate(model.layers) if layer.name.startswith("flatten"))
    features_of = keras.Model(model.inputs, model.layers[flatten].output)

    def features(images):
        return features_of.predict(images[..., None] / np.float32(255), batch_size=256, verbose=0)

    def speaking(indices):
        """The faces of ``indices`` that are not surprised, each with a surprised mouth."""
        donors = data.images[indices[data.labels[indices] == surprise]]
        kept = indices[data.labels[indices] != surprise]
        return kept, features(swap_mouths(data.images[kept], donors, rng))

    swapped, swapped_features = speaking(train)
    held_swapped, held_swapped_features = speaking(held_out)
    plain, held_plain = features(data.images[train]), features(data.images[held_out])

    targets = one_hot(data.labels, classes)
    if args.teachers:
        targets = 0.5 * targets + 0.5 * np.load(args.teachers).astype(np.float32)
    chosen = rng.permutation(len(swapped))[: int(args.share * len(swapped))]
    x = np.concatenate([plain, swapped_features[chosen]])
    y = np.concatenate([targets[train], targets[swapped[chosen]]])

    head_input = keras.Input(x.shape[1:])
    h = keras.layers.Dropout(0.4)(head_input)  # the dropout before Flatten, as in training
    tail = model.layers[flatten + 1 :]
    for layer in tail:
        h = layer.__class__.from_config(layer.get_config())(h)
    head = keras.Model(head_input, h)
    for new, old in zip(head.layers[2:], tail):
        new.set_weights(old.get_weights())

    def report(tag: str) -> None:
        plain_pred = head.predict(held_plain, batch_size=1024, verbose=0).argmax(1)
        swap_pred = head.predict(held_swapped_features, batch_size=1024, verbose=0).argmax(1)
        print(
            f"{tag}: validation {np.mean(plain_pred == data.labels[held_out]):.4f}, with "
            f"pasted mouths {np.mean(swap_pred == data.labels[held_swapped]):.4f} "
            f"({np.mean(swap_pred == surprise):.3f} read as surprise)",
            flush=True,
        )

    report("before")
    head.compile(
        optimizer=keras.optimizers.AdamW(args.learning_rate, weight_decay=0.05),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
    )
    for epoch in range(args.epochs):
        head.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=True)
        report(f"epoch {epoch + 1}")
    for new, old in zip(head.layers[2:], tail):
        old.set_weights(new.get_weights())
    print(f"wrote {save_model(model, Path(args.out), metadata)}")


if __name__ == "__main__":
    main()
