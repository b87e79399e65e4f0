"""Valence: happy minus the strongest of angry, fear and sad (FaceReader's definition), -1..1."""

from __future__ import annotations

import math

POSITIVE = "happy"
NEGATIVE = ("angry", "fear", "sad")
#: What outputs say when a model's labels cannot give a valence.
NO_VALENCE = "no valence: the model has no happy label or none of angry, fear, sad"


def valence_index(labels) -> tuple[int, list[int]] | None:
    """Where ``happy`` and the negative labels are in ``labels``; None when there is no
    happy or no negative label (a model that cannot give a valence)."""
    labels = list(labels)
    negatives = [labels.index(name) for name in NEGATIVE if name in labels]
    if POSITIVE not in labels or not negatives:
        return None
    return labels.index(POSITIVE), negatives


def valence(probs, index: tuple[int, list[int]] | None) -> float | None:
    """The valence of one face's probabilities (None without an index, or a NaN in them)."""
    if index is None or probs is None:
        return None
    happy, negatives = index
    value = float(probs[happy]) - max(float(probs[i]) for i in negatives)
    return None if math.isnan(value) else max(-1.0, min(1.0, value))
