"""Training's parts: batches, augmentation, schedule, distillation targets and fine-tuning."""

import numpy as np
import pytest

from fervision.errors import FervisionError
from fervision_keras.batches import augment_faces, erase_mouths, face_batches, one_hot
from fervision_keras.training import (
    GracefulStop,
    TrainConfig,
    _build,
    _schedule,
    _start_from,
    learning_rate_at,
    teacher_predictions,
    train_epoch,
)


def faces(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 48, 48), dtype=np.uint8), rng.integers(0, 6, n)


def test_batches_repeat_an_epoch_exactly_and_differ_between_epochs():
    images, labels = faces(40)
    make = lambda epoch: face_batches(  # noqa: E731
        images, one_hot(labels, 6), 16, seed=3, first_epoch=epoch, augment=True, erasing=0.5
    )
    a, b, c = make(2), make(2), make(3)
    assert len(a) == 3
    for i in range(3):
        (xa, ya), (xb, yb), (xc, _) = a[i], b[i], c[i]
        assert xa.shape[1:] == (48, 48, 1) and xa.dtype == np.float32
        assert 0 <= xa.min() and xa.max() <= 1
        np.testing.assert_array_equal(xa, xb)  # a resumed run sees the same batches
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(xa, xc)


def test_augmentation_moves_the_face_but_keeps_it_recognisable():
    x = np.zeros((8, 48, 48, 1), np.float32)
    x[:, 16:32, 16:32] = 1.0  # a bright square in the middle
    before = x.copy()
    augment_faces(x, np.random.default_rng(0))
    assert not np.array_equal(x, before)
    for face in x[..., 0]:  # still mostly a centred bright patch, not noise or blank
        assert face[20:28, 20:28].mean() > 0.7 and face[:6, :6].mean() < 0.3


def test_mixup_keeps_targets_a_distribution_and_unseeded_batches_are_plain():
    images, labels = faces(32)
    targets = one_hot(labels, 6)
    x, y = face_batches(images, targets, 32, seed=1, mixup=0.4)[0]
    np.testing.assert_allclose(y.sum(1), 1, atol=1e-6)
    assert ((y > 0) & (y < 1)).any()  # some labels are mixed
    x, y = face_batches(images, targets, 32)[0]  # validation: in order, untouched
    np.testing.assert_array_equal(x[..., 0], images / np.float32(255))
    np.testing.assert_array_equal(y, targets)


def test_mouth_erasing_covers_the_mouth_of_about_the_share_asked_and_nothing_else():
    faces = np.full((400, 48, 48, 1), 0.5, np.float32)
    erase_mouths(faces, 0.3, np.random.default_rng(0))
    changed = np.flatnonzero((faces != 0.5).any(axis=(1, 2, 3)))
    assert 90 < len(changed) < 150  # about 0.3 of 400
    rows, cols = np.nonzero((faces[changed] != 0.5).any(axis=(0, 3)))
    assert rows.min() >= 29 and rows.max() <= 46  # 31..45 (the mouth), shifted 2 px at most
    assert cols.min() >= 9 and cols.max() <= 38
    assert (faces[changed, 38, 24] != 0.5).mean() > 0.9  # the mouth's centre is erased


def test_compiled_schedule_follows_learning_rate_at():
    config = TrainConfig(epochs=10, warmup_epochs=2, learning_rate=0.01)
    schedule = _schedule(config, steps_per_epoch=50)
    for step in (0, 25, 99, 100, 101, 260, 499, 500, 800):
        expected = learning_rate_at(step / 50, config)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-4), step


def test_fine_tuning_starts_from_a_model_and_refuses_another_shape(tmp_path):
    from fervision_keras.model_io import ModelMetadata, save_model

    config = TrainConfig(width=4)
    source = _build(config)
    path = save_model(source, tmp_path / "m.keras", ModelMetadata(labels=config.classes))
    model = _build(config)
    _start_from(model, str(path))
    for a, b in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FervisionError, match="another architecture"):
        _start_from(_build(TrainConfig(width=8)), str(path))


def test_teacher_predictions_average_models_and_saved_arrays(tmp_path):
    from fervision_keras.model_io import ModelMetadata, save_model

    images, _ = faces(8)
    config = TrainConfig(width=4)
    path = save_model(_build(config), tmp_path / "t.keras", ModelMetadata(labels=config.classes))
    from_model = teacher_predictions([str(path)], images, notify=lambda *a: None)
    np.testing.assert_allclose(from_model.sum(1), 1, atol=1e-5)
    saved = np.full((8, 6), 1 / 6, np.float32)
    np.save(tmp_path / "t.npy", saved)
    both = teacher_predictions([str(path), str(tmp_path / "t.npy")], images, lambda *a: None)
    np.testing.assert_allclose(both, (from_model + saved) / 2, atol=1e-6)
    with pytest.raises(FervisionError, match="holds 8 predictions"):
        teacher_predictions([str(tmp_path / "t.npy")], images[:4], lambda *a: None)


def tiny_model(keras, optimizer):
    """A one-layer classifier of 48x48 faces, compiled with ``optimizer``."""
    model = keras.Sequential(
        [keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(6, "softmax")]
    )
    model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"])
    return model


def test_an_epoch_trains_on_every_batch_and_stops_after_the_batch_when_asked():
    keras = pytest.importorskip("keras")
    images, labels = faces(40)
    batches = face_batches(images, one_hot(labels, 6), 16, seed=1, augment=True)
    model = tiny_model(keras, "adam")
    train_epoch(model, batches, GracefulStop(), progress=False)
    assert int(model.optimizer.iterations.numpy()) == 3
    stop = GracefulStop()
    stop.requested = True  # as Ctrl-C sets it: the batch in hand ends, the rest do not run
    train_epoch(model, batches, stop, progress=False)
    assert int(model.optimizer.iterations.numpy()) == 4


def test_an_epochs_logs_average_every_face_not_only_the_last_batch():
    """With a learning rate of 0 the weights stay put, so the epoch's training loss and
    accuracy must equal ``evaluate`` on the same faces (batches of 16, 16 and 8)."""
    keras = pytest.importorskip("keras")
    images, labels = faces(40, seed=3)
    targets = one_hot(labels, 6)
    model = tiny_model(keras, keras.optimizers.SGD(0.0))
    logs = train_epoch(model, face_batches(images, targets, 16), GracefulStop(), False)
    expected = model.evaluate(face_batches(images, targets, 40), verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert logs["loss"] == pytest.approx(expected["loss"], rel=1e-4)
