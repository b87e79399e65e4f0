"""Training batches from faces held in memory: seeded order, mixup and erasing on batches."""

from __future__ import annotations

import numpy as np


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[labels]


def augment_faces(x: np.ndarray, rng: np.random.Generator) -> None:
    """In place, per face: mirror, rotate ±18°, zoom -9%..+18%, shift ±8%, contrast ±20%."""
    import cv2

    n, h, w = x.shape[:3]
    angles = rng.uniform(-18, 18, n)
    scales = rng.uniform(1 / 1.1, 1 / 0.85, n)
    shifts = rng.uniform(-0.08, 0.08, (n, 2)) * (w, h)
    contrasts = rng.uniform(0.8, 1.2, n)
    mirrored = rng.random(n) < 0.5
    for i in range(n):
        face = x[i, :, ::-1] if mirrored[i] else x[i]
        matrix = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angles[i], scales[i])
        matrix[:, 2] += shifts[i]
        face = cv2.warpAffine(
            np.ascontiguousarray(face),
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        ).reshape(x.shape[1:])
        mean = face.mean()
        x[i] = np.clip((face - mean) * contrasts[i] + mean, 0.0, 1.0)


def erase_patches(x: np.ndarray, probability: float, rng: np.random.Generator) -> None:
    """Random erasing in place: some images get one rectangle (2-20% of the area) of noise."""
    n, h, w = x.shape[:3]
    for i in np.flatnonzero(rng.random(n) < probability):
        area = rng.uniform(0.02, 0.2) * h * w
        aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
        eh = int(min(h, round(np.sqrt(area * aspect))))
        ew = int(min(w, round(np.sqrt(area / aspect))))
        top, left = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
        x[i, top : top + eh, left : left + ew] = rng.random((eh, ew) + x.shape[3:])


#: Where FER2013's mouths are, as shares of the face (top, bottom, left, right).
MOUTH = (0.65, 0.94, 0.23, 0.77)


def erase_mouths(x: np.ndarray, probability: float, rng: np.random.Generator) -> None:
    """In place, on aligned faces: some get their mouth (shifted up to ±2 px) replaced by
    noise, so the model learns to read the eyes and brows too (teeth alone are not a smile)."""
    n, h, w = x.shape[:3]
    top, bottom, left, right = (round(share * size) for share, size in zip(MOUTH, (h, h, w, w)))
    for i in np.flatnonzero(rng.random(n) < probability):
        dy, dx = rng.integers(-2, 3, 2)
        y0, y1 = max(0, top + dy), min(h, bottom + dy)
        x0, x1 = max(0, left + dx), min(w, right + dx)
        x[i, y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0) + x.shape[3:])


#: Where a speaking mouth is pasted, as shares of the face (top, bottom, left, right); the
#: paste fades out over ``SWAP_FEATHER`` pixels.
SWAP_REGION = (0.62, 0.97, 0.2, 0.8)
SWAP_FEATHER = 2.0


def _swap_mask(h: int, w: int) -> np.ndarray:
    import cv2

    top, bottom, left, right = (round(s * z) for s, z in zip(SWAP_REGION, (h, h, w, w)))
    mask = np.zeros((h, w), np.float32)
    mask[top:bottom, left:right] = 1
    return cv2.GaussianBlur(mask, (0, 0), SWAP_FEATHER)


def swap_mouths(faces: np.ndarray, donors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each face (uint8, n x h x w) with the open mouth of a random donor face pasted in,
    matched to its own mouth's brightness and contrast: speech on a face that keeps its
    expression (what a talking face looks like to a model trained on still faces)."""
    n, h, w = faces.shape[:3]
    mask = _swap_mask(h, w)
    inside = mask > 0.5
    out = faces.reshape(n, h, w).astype(np.float32)
    picks = rng.integers(0, len(donors), n)
    for i in range(n):
        donor = donors[picks[i]].reshape(h, w).astype(np.float32)
        own, theirs = out[i][inside], donor[inside]
        donor = (donor - theirs.mean()) / (theirs.std() + 1e-3) * (own.std() + 1e-3) + own.mean()
        out[i] = out[i] * (1 - mask) + donor * mask
    return np.clip(out, 0, 255).astype(np.uint8).reshape(faces.shape)


def face_batches(
    images: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    seed: int | None = None,
    first_epoch: int = 0,
    sample_weights: np.ndarray | None = None,
    augment: bool = False,
    mixup: float = 0.0,
    erasing: float = 0.0,
    mouth_erasing: float = 0.0,
    workers: int = 2,
    mouth_swap: float = 0.0,
    swap_donors: np.ndarray | None = None,
    swap_exempt: np.ndarray | None = None,
):
    """A Keras ``PyDataset`` of (faces 0..1, targets[, weights]); ``seed`` shuffles and
    augments each epoch the same way on any machine (a resumed run sees what it would have
    seen); ``workers`` threads prepare batches ahead of training. ``mouth_swap``: the share
    of faces (those not in ``swap_exempt``, a boolean per image) given the mouth of one of
    ``swap_donors`` (uint8 faces), their targets kept."""
    import keras

    class FaceBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=8)
            self.epoch = first_epoch
            self._shuffle()

        def _rng(self, *extra) -> np.random.Generator:
            return np.random.default_rng([seed, self.epoch, *extra])

        def _shuffle(self):
            n = len(targets)
            self.order = self._rng().permutation(n) if seed is not None else np.arange(n)

        def __len__(self):
            return int(np.ceil(len(targets) / batch_size))

        def __getitem__(self, index):
            pick = self.order[index * batch_size : (index + 1) * batch_size]
            faces = images[pick]
            if seed is not None and mouth_swap and swap_donors is not None and len(swap_donors):
                rng = self._rng(index, 1)
                chosen = rng.random(len(pick)) < mouth_swap
                if swap_exempt is not None:
                    chosen &= ~swap_exempt[pick]
                if chosen.any():
                    faces = faces.copy()
                    faces[chosen] = swap_mouths(faces[chosen], swap_donors, rng)
            x = faces.astype(np.float32)[..., None] / 255.0
            y = targets[pick]
            w = None if sample_weights is None else sample_weights[pick]
            if seed is not None and (augment or mixup or erasing or mouth_erasing):
                rng = self._rng(index)
                if mouth_erasing:  # before the geometry, which moves the patch with the face
                    erase_mouths(x, mouth_erasing, rng)
                if augment:
                    augment_faces(x, rng)
                if erasing:
                    erase_patches(x, erasing, rng)
                if mixup:
                    lam = rng.beta(mixup, mixup, (len(pick), 1)).astype(np.float32)
                    partner = rng.permutation(len(pick))
                    x = x * lam[..., None, None] + x[partner] * (1 - lam[..., None, None])
                    y = y * lam + y[partner] * (1 - lam)
                    if w is not None:
                        w = w * lam[:, 0] + w[partner] * (1 - lam[:, 0])
            return (x, y) if w is None else (x, y, w)

        def on_epoch_end(self):
            self.epoch += 1
            self._shuffle()

    return FaceBatches()
