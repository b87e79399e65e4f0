"""Metrics, reports and plots for emotion models (scikit-learn and matplotlib)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, classes) -> dict:
    """Accuracy, weighted/macro F1, per-class scores and the confusion matrix.

    Only the classes present in ``y_true`` are scored, so a dataset holding some of the
    model's classes can still be evaluated; the matrix has a row per class present and a
    column per class of the model, so every image is in it.
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    y_pred = probs.argmax(axis=1)
    present = sorted(set(int(v) for v in y_true))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=present, zero_division=0
    )
    return {
        "images": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)
        ),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "per_class": {
            classes[c]: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for c, p, r, f, s in zip(present, precision, recall, f1, support)
        },
        "labels": [classes[c] for c in present],
        "predicted_labels": list(classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(len(classes)))[
            present
        ].tolist(),
    }


def format_report(metrics: dict) -> str:
    """The metrics as a plain-text table."""
    lines = [
        f"images       {metrics['images']}",
        f"accuracy     {metrics['accuracy']:.4f}",
        f"weighted F1  {metrics['weighted_f1']:.4f}",
        f"macro F1     {metrics['macro_f1']:.4f}",
        "",
        f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}",
    ]
    for name, s in metrics["per_class"].items():
        lines.append(
            f"{name:<10} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>7.3f} "
            f"{s['support']:>8d}"
        )
    calibration = metrics.get("calibration")
    if calibration:
        lines += [
            "",
            f"calibration  ECE ({calibration['bins']} bins) {calibration['ece_before']:.4f} at "
            f"temperature 1, {calibration['ece_after']:.4f} at the model's "
            f"{calibration['temperature']:g}",
        ]
    return "\n".join(lines)


def plot_confusion(metrics: dict, path: Path) -> None:
    """A row-normalised confusion matrix with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(metrics["confusion_matrix"], dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    rows, columns = metrics["labels"], metrics.get("predicted_labels", metrics["labels"])
    fig, ax = plt.subplots(figsize=(1.1 * len(columns) + 2, 1.1 * len(rows) + 1.5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(rows)):
        for j in range(len(columns)):
            color = "white" if norm[i, j] > 0.5 else "black"
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}\n{int(cm[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color=color,
            )
    ax.set_title(f"accuracy {metrics['accuracy']:.3f}, weighted F1 {metrics['weighted_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_history(history: dict, path: Path) -> None:
    """Training curves: loss and accuracy for training and validation per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = range(1, len(history.get("loss", [])) + 1)
    for key, ax in (("loss", left), ("accuracy", right)):
        ax.plot(epochs, history.get(key, []), label=f"train {key}")
        ax.plot(epochs, history.get(f"val_{key}", []), label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(metrics: dict, out_dir: Path, stem: str = "test") -> dict[str, Path]:
    """Write ``<stem>_report.txt``, ``<stem>_report.json``, ``<stem>_confusion.png`` and,
    with calibration metrics, ``<stem>_reliability.png``."""
    from .calibration import plot_reliability

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "text": out_dir / f"{stem}_report.txt",
        "json": out_dir / f"{stem}_report.json",
        "confusion": out_dir / f"{stem}_confusion.png",
    }
    paths["text"].write_text(format_report(metrics) + "\n")
    paths["json"].write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(metrics, paths["confusion"])
    if "calibration" in metrics:
        paths["reliability"] = out_dir / f"{stem}_reliability.png"
        plot_reliability(metrics["calibration"], paths["reliability"])
    return paths
