"""How the `ema` smoother's settings trade calm against following, on the labelled real clips.

    python benchmarks/smoother_tuning.py [--top 10] [--rates 0,15,10,7.5,5] [--single-pass]

Runs the default pipeline once per labelled clip of ``real_videos_labels.json`` with no
smoothing and every face classified on every frame, keeps the raw probabilities, then
replays the ``ema`` smoother over them, each face's probabilities carried between its
classifications as the classifier's default ``rate`` does, for each setting of a grid
(the classifier is not run again). Prints the defaults and the best settings: most clips
meeting both targets (>= 0.8 of labelled frames right; <= 0.3 shown label switches a
second on a steady or talking clip) first, then the talking clips' and all clips'
pooled segment accuracy; then the default smoother with each face classified at other
rates. ``--single-pass`` classifies each face without its mirror.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
from dataclasses import replace

import cv2
from real_videos import LABELS, SHARED, FaceRecord, run_clip, segment_accuracy, switches_per_second

from fervision import Face, Frame
from fervision.scene import frame_key
from fervision_basic.smoothers import EmaSmoother
from fervision_keras.classifier import EmotionClassifier, still_stands

GRID = {
    "tau": (0.2, 0.25, 0.3, 0.35, 0.4),
    "margin": (0.15, 0.175, 0.2, 0.25),
    "hold": (0.1, 0.15, 0.2),
    "dwell": (0.5, 0.8),
    "urgent": (0.3, 0.4, 0.5),
}
CALM = 0.3  # the targets: shown label switches a second on a steady or talking clip
RIGHT = 0.8  # ... and the share of a clip's labelled frames shown right


def raw_runs(flip_average: bool = True) -> dict[str, tuple[list, list[str], float, list]]:
    """Per labelled clip: (timestamp, track id, box area, raw probs) per face, labels, frame
    dt, and each frame's ``frame_key``."""
    runs = {}
    for name, truth in LABELS.items():
        if name.startswith("_") or not truth["segments"]:
            continue
        every_frame = {"classifier": {"rate": 0, "flip_average": flip_average}}
        path = SHARED / "media" / name
        frames, timing = run_clip(path, "mediapipe", "none", keep_probs=True, options=every_frame)
        runs[name] = (frames, timing["labels"], timing["frame_dt"], frame_keys(path))
    return runs


def frame_keys(path) -> list[float]:
    """Each frame's ``frame_key``, decoded as the pipeline decodes the file."""
    capture, keys = cv2.VideoCapture(str(path)), []
    while (image := capture.read()[1]) is not None:
        keys.append(frame_key(image))
    return keys


def replay(frames, labels: list[str], **settings) -> list:
    """The clip's faces as benchmark records, labelled by an ``ema`` smoother with ``settings``."""
    smoother = EmaSmoother(**settings)
    smoother.open(None)
    out = []
    for t, records in frames:
        faces = [Face(box=(0, 0, 1, 1), track_id=r.track_id, probs=r.probs) for r in records]
        smoother.update(Frame(None, 0, t, faces=faces, labels=labels))
        out.append(
            (t, [FaceRecord(r.track_id, r.area, f.label, r.raw) for r, f in zip(records, faces)])
        )
    return out


def at_rate(frames, rate: float, keys: list[float]) -> list:
    """``frames`` with each track classified about ``rate`` times a second on the frames
    the classifier picks by their ``keys``, carried between."""
    last: dict[int, tuple[float, object]] = {}
    out = []
    for (t, records), key in zip(frames, keys):
        carried = []
        for r in records:
            seen = last.get(r.track_id)
            if r.track_id is None or seen is None or not still_stands(seen[0], t, rate, key):
                last[r.track_id] = (t, r.probs)
            else:
                r = replace(r, probs=seen[1])
            carried.append(r)
        out.append((t, carried))
    return out


def other_hash(keys: list[float], i: int) -> list[float]:
    """Stand-in ``i`` for another hash of the same frames (0: the shipped one): each key
    moved round the unit circle, so other frames fall below the classifier's thresholds."""
    return [(k + i * 0.6180339887) % 1.0 for k in keys]


def mean_score(samplings: list, settings: dict) -> tuple:
    """``score`` averaged over the clips sampled on several hashes' frames."""
    scores = [score(runs, settings) for runs in samplings]
    return tuple(sum(column) / len(scores) for column in zip(*scores))


def score(runs, settings: dict) -> tuple[int, float, float, float, float]:
    """(clips meeting both targets, talking clips' pooled segment accuracy, pooled segment
    accuracy, worst clip's accuracy, most switches a second on a steady or talking clip)."""
    right = total = talk_right = talk_total = met = 0
    worst, calm = 1.0, 0.0
    for name, (frames, labels, dt) in runs.items():
        labelled = replay(frames, labels, **settings)
        accuracy, n = segment_accuracy(labelled, LABELS[name]["segments"])
        right, total, worst = right + accuracy * n, total + n, min(worst, accuracy)
        switches = 0.0
        if LABELS[name]["steady"] or LABELS[name].get("talking"):
            switches = switches_per_second(labelled, "label", dt)
            calm = max(calm, switches)
        if LABELS[name].get("talking"):
            talk_right, talk_total = talk_right + accuracy * n, talk_total + n
        met += accuracy >= RIGHT and switches <= CALM
    return met, talk_right / max(talk_total, 1), right / total, worst, calm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--rates", default="15,10,7.5,5", help="classifications a second")
    parser.add_argument("--single-pass", action="store_true", help="no mirror averaging")
    parser.add_argument(
        "--hashes",
        type=int,
        default=1,
        help="rank by the mean over this many stand-ins for the frames' hash (1: the shipped)",
    )
    args = parser.parse_args()
    if not (SHARED / "media").is_dir():
        raise SystemExit(f"{SHARED / 'media'} is absent (set FERVISION_SHARED)")
    runs = raw_runs(flip_average=not args.single_pass)
    defaults = {
        name: p.default
        for name, p in inspect.signature(EmaSmoother).parameters.items()
        if name in GRID
    }
    rate = inspect.signature(EmotionClassifier).parameters["rate"].default
    samplings = [
        {
            name: (at_rate(f, rate, other_hash(k, i)), labels, dt)
            for name, (f, labels, dt, k) in runs.items()
        }
        for i in range(args.hashes)
    ]
    rows = []
    for values in itertools.product(*GRID.values()):
        settings = dict(zip(GRID, values))
        rows.append((*mean_score(samplings, settings), settings))
    head = f"{'met':>4} {'talking':>7} {'pooled':>7} {'worst':>6} {'max sw/s':>8}  settings"
    print(f"each face classified {rate:g} times a second, as at run time", end="")
    print(f"; means over {args.hashes} hashes of the frames" if args.hashes > 1 else "")
    print(head)
    line = "{:4.1f} {:7.3f} {:7.3f} {:6.2f} {:8.2f}  {}"
    print(line.format(*mean_score(samplings, defaults), defaults) + "  (defaults)")
    if args.hashes > 1:
        print(line.format(*score(samplings[0], defaults), defaults) + "  (defaults, shipped hash)")
    for row in sorted(rows, key=lambda r: (-r[0], -r[1] - r[2]))[: args.top]:
        print(line.format(*row))
    print(
        f"met: of {len(runs)} labelled clips, those with >= {RIGHT} of their labelled frames "
        f"right and (steady or talking) <= {CALM} switches/s; {len(rows)} settings tried"
    )
    print("the defaults, each face classified about RATE times a second:")
    for rate in (float(r) for r in args.rates.split(",")):
        slower = {
            name: (at_rate(f, rate, k), labels, dt) for name, (f, labels, dt, k) in runs.items()
        }
        print(line.format(*score(slower, defaults), f"rate {rate:g}/s"))


if __name__ == "__main__":
    main()
