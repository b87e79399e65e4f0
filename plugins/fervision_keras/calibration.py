"""Temperature calibration: probabilities whose confidence means what it says."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Bins of the expected calibration error (the usual 15, equal width).
ECE_BINS = 15
#: Temperatures tried when fitting one (0.3 to 3, geometric steps).
TEMPERATURES = np.exp(np.linspace(np.log(0.3), np.log(3.0), 461))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax probabilities as if the logits had been divided by ``temperature``
    (the order of the classes, so the top class, never changes)."""
    probs = np.asarray(probs, np.float32)
    if temperature == 1.0 or not len(probs):
        return probs
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per confidence bin with faces in it: its range, faces, mean confidence, accuracy."""
    confidence = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            rows.append(
                {
                    "low": float(low),
                    "high": float(high),
                    "faces": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(right[inside].mean()),
                }
            )
    return rows


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS):
    """The faces-weighted mean gap between confidence and accuracy over ``bins`` bins."""
    rows = reliability(probs, labels, bins)
    total = sum(r["faces"] for r in rows)
    return sum(r["faces"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / max(total, 1)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature with the least expected calibration error on these (validation)
    faces; of equal ones, the closest to 1."""
    errors = [expected_calibration_error(apply_temperature(probs, t), labels) for t in TEMPERATURES]
    best = min(
        range(len(TEMPERATURES)), key=lambda i: (round(errors[i], 6), abs(np.log(TEMPERATURES[i])))
    )
    return float(round(TEMPERATURES[best], 4))


def calibration_metrics(raw: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """ECE and reliability bins before (temperature 1) and after the model's temperature."""
    after = apply_temperature(raw, temperature)
    return {
        "temperature": temperature,
        "bins": ECE_BINS,
        "ece_before": float(expected_calibration_error(raw, labels)),
        "ece_after": float(expected_calibration_error(after, labels)),
        "reliability_before": reliability(raw, labels),
        "reliability_after": reliability(after, labels),
    }


def plot_reliability(metrics: dict, path: Path) -> None:
    """A reliability diagram: accuracy against confidence per bin, before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    for key, name, color in (("before", "temperature 1", "tab:red"), ("after", None, "tab:blue")):
        rows = metrics[f"reliability_{key}"]
        label = name or f"temperature {metrics['temperature']:g}"
        ax.plot(
            [r["confidence"] for r in rows],
            [r["accuracy"] for r in rows],
            marker="o",
            color=color,
            label=f"{label}: ECE {metrics[f'ece_{key}']:.3f}",
        )
    ax.set_xlabel("confidence (top class probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title(f"reliability, {metrics['bins']} bins")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
