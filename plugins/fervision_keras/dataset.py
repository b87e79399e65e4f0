"""Finding, decoding and caching emotion datasets laid out as class folders."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fervision.errors import FervisionError

SIX_CLASSES = ("angry", "fear", "happy", "neutral", "sad", "surprise")
SYNONYMS = {
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "happy": "happy",
    "happiness": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "contempt": "contempt",
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
SPLIT_NAMES = {"train": ("train", "training"), "test": ("test", "testing")}


def canonical_class(folder_name: str) -> str:
    """The canonical emotion name for a class folder (case and common synonyms ignored)."""
    key = folder_name.strip().lower()
    return SYNONYMS.get(key, key)


@dataclass
class ImageSet:
    """Decoded images (N, size, size) uint8 with integer labels into ``classes``."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    unreadable: int = 0

    def __len__(self) -> int:
        return len(self.labels)

    def evenly_spaced(self, limit: int | None) -> ImageSet:
        """An evenly spaced sample of ``limit`` images (all classes kept in proportion)."""
        if not limit or limit >= len(self):
            return self
        picked = np.arange(limit) * len(self) // limit
        return ImageSet(self.images[picked], self.labels[picked], self.classes, self.unreadable)

    def take(self, indices: np.ndarray) -> ImageSet:
        return ImageSet(self.images[indices], self.labels[indices], self.classes)

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, found)}


def resolve_dataset(dataset: str | None, data_dir: str | None) -> Path:
    """The local folder of a dataset: ``--data-dir`` as is, or a kagglehub handle downloaded."""
    if data_dir and dataset:
        raise FervisionError("give --dataset or --data-dir, not both")
    if data_dir:
        path = Path(data_dir)
        if not path.is_dir():
            raise FervisionError(f"data directory not found: {data_dir}")
        return path
    if not dataset:
        raise FervisionError("give a dataset: --dataset OWNER/NAME[/versions/N] or --data-dir PATH")
    import kagglehub

    try:
        return Path(kagglehub.dataset_download(dataset))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FervisionError(
            f"could not get dataset {dataset!r} through kagglehub ({first}); "
            "pin a version (OWNER/NAME/versions/N) with KAGGLEHUB_CACHE set to a cache "
            "that holds it, or pass --data-dir"
        ) from None


def _child(folder: Path, names: tuple[str, ...]) -> Path | None:
    for child in sorted(folder.iterdir()):
        if child.is_dir() and child.name.lower() in names:
            return child
    return None


def split_folder(root: Path, split: str) -> Path:
    """The folder of class folders for ``split`` (``train`` or ``test``) under ``root``.

    Accepts ``train/`` + ``test/``, ``Training/Training/`` + ``Testing/Testing/``, and a
    single folder of class folders (which then serves every split).
    """
    folder = _child(root, SPLIT_NAMES[split])
    if folder is None:
        if any(_child(root, names) for names in SPLIT_NAMES.values()):
            raise FervisionError(f"no {split} folder in {root}")
        if not any(p.is_dir() for p in root.iterdir()):
            raise FervisionError(f"no class folders in {root}")
        return root
    nested = _child(folder, (folder.name.lower(),))
    return nested if nested is not None else folder


def class_folders(folder: Path, classes: tuple[str, ...]) -> tuple[dict[str, Path], list[str]]:
    """Map each wanted class to its folder; also the names of the folders skipped."""
    found: dict[str, Path] = {}
    skipped = []
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        name = canonical_class(child.name)
        if name in classes:
            found[name] = child
        else:
            skipped.append(child.name)
    return found, skipped


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _cache_path(files: list[tuple[Path, int]], size: int) -> Path:
    digest = hashlib.sha1(str(size).encode())
    for path, label in files:
        stat = path.stat()
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n".encode())
    root = Path(os.environ.get("FERVISION_CACHE", Path.home() / ".cache" / "fervision"))
    return root / "datasets" / f"{digest.hexdigest()[:20]}.npz"


def _decode(files: list[tuple[Path, int]], size: int) -> tuple[np.ndarray, np.ndarray, int]:
    import cv2

    images = np.empty((len(files), size, size), np.uint8)
    labels = np.empty(len(files), np.int64)
    kept = 0
    for path, label in files:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            continue
        if image.shape != (size, size):
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        images[kept] = image
        labels[kept] = label
        kept += 1
    return images[:kept], labels[:kept], len(files) - kept


def load_split(
    root: Path,
    split: str,
    classes: tuple[str, ...] = SIX_CLASSES,
    size: int = 48,
    require_all: bool = True,
    notify=print,
) -> ImageSet:
    """Decode one split as grayscale ``size``x``size`` arrays, cached after the first time.

    With ``require_all`` every class must have a non-empty folder (training); otherwise
    only the classes present are loaded and labels still index ``classes`` (evaluation).
    """
    folder = split_folder(root, split)
    found, skipped = class_folders(folder, classes)
    if skipped:
        notify(f"skipping class folders not in the label set: {', '.join(skipped)}")
    missing = [c for c in classes if c not in found]
    if missing and require_all:
        raise FervisionError(f"no folder for class {', '.join(missing)} in {folder}")
    files = []
    for label, name in enumerate(classes):
        if name not in found:
            continue
        images = _list_images(found[name])
        if not images and require_all:
            raise FervisionError(f"class folder {found[name]} has no images")
        files += [(p, label) for p in images]
    if not files:
        raise FervisionError(f"no images found in {folder}")
    cache = _cache_path(files, size)
    if cache.exists():
        with np.load(cache) as data:
            return ImageSet(data["images"], data["labels"], classes, int(data["unreadable"]))
    images, labels, unreadable = _decode(files, size)
    if unreadable:
        notify(f"skipped {unreadable} unreadable image file(s) in {folder}")
    if not len(labels):
        raise FervisionError(f"no readable images in {folder}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, images=images, labels=labels, unreadable=unreadable)
    os.replace(tmp, cache)
    return ImageSet(images, labels, classes, unreadable)


def split_indices(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Indices of a seeded, stratified split: (kept, held out ``fraction``)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    return tuple(train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels))


def stratified_split(data: ImageSet, fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Split off a seeded, stratified ``fraction`` of ``data`` (the validation set)."""
    return tuple(data.take(i) for i in split_indices(data.labels, fraction, seed))
