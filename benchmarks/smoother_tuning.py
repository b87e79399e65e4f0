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

from real_videos import LABELS, SHARED, FaceRecord, run_clip, segment_accuracy, switches_per_second

from fervision import Face, Frame
from fervision_basic.smoothers import EmaSmoother
from fervision_keras.classifier import EmotionClassifier

GRID = {
    "tau": (0.2, 0.25, 0.3, 0.35, 0.4),
    "margin": (0.15, 0.175, 0.2, 0.25),
    "hold": (0.1, 0.15, 0.2),
    "dwell": (0.5, 0.8),
    "urgent": (0.3, 0.4, 0.5),
}
CALM = 0.3  # the targets: shown label switches a second on a steady or talking clip
RIGHT = 0.8  # ... and the share of a clip's labelled frames shown right


def raw_runs(flip_average: bool = True) -> dict[str, tuple[list, list[str], float]]:
    """Per labelled clip: (timestamp, track id, box area, raw probs) per face, labels, frame dt."""
    runs = {}
    for name, truth in LABELS.items():
        if name.startswith("_") or not truth["segments"]:
            continue
        every_frame = {"classifier": {"rate": 0, "flip_average": flip_average}}
        frames, timing = run_clip(
            SHARED / "media" / name, "mediapipe", "none", keep_probs=True, options=every_frame
        )
        runs[name] = (frames, timing["labels"], timing["frame_dt"])
    return runs


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


def at_rate(frames, rate: float) -> list:
    """``frames`` with each track classified at most ``rate`` times a second, carried between."""
    last: dict[int, tuple[float, object]] = {}
    out = []
    for t, records in frames:
        carried = []
        for r in records:
            seen = last.get(r.track_id)
            if r.track_id is None or seen is None or t - seen[0] >= 1.0 / rate - 1e-3:
                last[r.track_id] = (t, r.probs)
            else:
                r = replace(r, probs=seen[1])
            carried.append(r)
        out.append((t, carried))
    return out


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
    at_runtime = {name: (at_rate(f, rate), labels, dt) for name, (f, labels, dt) in runs.items()}
    rows = []
    for values in itertools.product(*GRID.values()):
        settings = dict(zip(GRID, values))
        rows.append((*score(at_runtime, settings), settings))
    head = f"{'met':>4} {'talking':>7} {'pooled':>7} {'worst':>6} {'max sw/s':>8}  settings"
    print(f"each face classified {rate:g} times a second, as at run time")
    print(head)
    line = "{:4d} {:7.3f} {:7.3f} {:6.2f} {:8.2f}  {}"
    print(line.format(*score(at_runtime, defaults), defaults) + "  (defaults)")
    for row in sorted(rows, key=lambda r: (-r[0], -r[1] - r[2]))[: args.top]:
        print(line.format(*row))
    print(
        f"met: of {len(runs)} labelled clips, those with >= {RIGHT} of their labelled frames "
        f"right and (steady or talking) <= {CALM} switches/s; {len(rows)} settings tried"
    )
    print("the defaults, each face classified at most RATE times a second:")
    for rate in (float(r) for r in args.rates.split(",")):
        slower = {name: (at_rate(f, rate), labels, dt) for name, (f, labels, dt) in runs.items()}
        print(line.format(*score(slower, defaults), f"rate {rate:g}/s"))


if __name__ == "__main__":
    main()
