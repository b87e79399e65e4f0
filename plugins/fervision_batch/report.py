"""From an emotion CSV to a summary (JSON-ready dict) and a timeline plot (PNG bytes).

Used by ``fervision report`` on any CSV that ``run`` wrote, and by ``batch`` for every
video. Labels are the CSV's ``p_<label>`` columns, in order. A CSV of a run over photos
(with a ``file`` column) gets the emotions of each photo's faces instead of tracks in time.

Definitions (each track is one ``face_id``; faces with an empty ``face_id``, not yet
confirmed by the tracker or from a run without one, count only for the whole video):

- ``frame_interval_s``: the mean time between frames, from the first and last frame's
  ``timestamp_s`` and frame numbers (1/30 s when the CSV has a single frame).
- ``seconds_visible``: frames the track appears in times ``frame_interval_s``; for the
  whole video, frames with at least one face times ``frame_interval_s``.
- ``first_s`` / ``last_s``: timestamps of the first and last frame the track (or, for
  the video, any face) appears in.
- ``emotion_share``: fraction of the track's labelled rows with each label (every label
  listed, in the model's order); for the video, over every labelled face row.
- ``dominant_emotion``: the label with the largest share (the model's order breaks ties);
  ``null`` when nothing was labelled.
- ``label_changes``: how often the (smoothed) label differs from the track's previous
  labelled frame; for the video, the sum over tracks.
- ``mean_p``: the mean smoothed probability of each label over the track's rows.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fervision.colours import emotion_colour
from fervision.errors import FervisionError
from fervision.run_csv import frame_rows, not_a_run_csv, open_run_csv

REQUIRED_COLUMNS = ("frame", "timestamp_s", "face_id", "x", "label")
UNTRACKED = -1  # face_id of a face the tracker gave no id
DEFAULT_FRAME_INTERVAL = 1 / 30
MAX_PANELS = 4
MAX_PHOTO_BARS = 60
#: Points a timeline line keeps at most (a long video's are thinned evenly to these).
MAX_POINTS = 2000


@dataclass
class EmotionTable:
    """The face rows of an emotion CSV as arrays, plus every frame's timestamp."""

    labels: tuple[str, ...]
    frame_index: np.ndarray  # (frames,) every frame in the CSV, ascending
    frame_time: np.ndarray  # (frames,) its timestamp in seconds
    face_frame: np.ndarray  # (faces,) the frame of each face row
    face_time: np.ndarray  # (faces,)
    face_id: np.ndarray  # (faces,) int
    face_label: list[str]  # (faces,) "" where the row has no label
    face_p: np.ndarray  # (faces, labels) smoothed probabilities, NaN where empty
    frame_file: dict[int, str] | None = None  # a run over photos: each frame's photo

    @property
    def frames(self) -> int:
        return len(self.frame_index)

    @property
    def frame_interval(self) -> float:
        if len(self.frame_index) < 2:
            return DEFAULT_FRAME_INTERVAL
        span = self.frame_time[-1] - self.frame_time[0]
        steps = self.frame_index[-1] - self.frame_index[0]
        return float(span / steps) if span > 0 and steps > 0 else DEFAULT_FRAME_INTERVAL


def read_emotion_csv(path) -> EmotionTable:
    """Read a CSV written by the ``csv`` sink; a one-line error if it is not one."""
    path = Path(path)
    with open_run_csv(path) as reader:
        return _parse(reader, path)


#: What reports say of emotions in a run without a classifier (faces and ids only).
UNCLASSIFIED = "not classified (a run without a classifier)"


def _parse(reader, path: Path) -> EmotionTable:
    header = next(reader, None)
    if not header:
        raise FervisionError(f"{path} is empty, not an emotion CSV")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    labels = tuple(c[2:] for c in header if c.startswith("p_"))
    if missing:  # p_ columns alone may be missing: a run without a classifier has none
        raise not_a_run_csv(path, missing + ([] if labels else ["p_<label>"]))
    col = {name: i for i, name in enumerate(header)}
    p_cols = [col[f"p_{label}"] for label in labels]
    file_col = col.get("file")
    frame_files: dict[int, str] = {}
    frame_times: dict[int, float] = {}
    face_frame, face_time, face_id, face_label, face_p = [], [], [], [], []
    for line, frame, time, row in frame_rows(reader, col, path):
        frame_times.setdefault(frame, time)
        if file_col is not None and len(row) > file_col:
            frame_files.setdefault(frame, row[file_col])
        fid = row[col["face_id"]] if len(row) > col["face_id"] else ""
        if fid == "" and (len(row) <= col["x"] or row[col["x"]] == ""):
            continue  # a frame without faces
        try:
            face_id.append(int(fid) if fid != "" else UNTRACKED)
            face_p.append([float(row[i]) if row[i] != "" else math.nan for i in p_cols])
        except (ValueError, IndexError):
            raise FervisionError(f"{path} line {line}: unreadable face_id or p_ value") from None
        face_frame.append(frame)
        face_time.append(time)
        face_label.append(row[col["label"]])
    frames = np.array(sorted(frame_times), dtype=np.int64)
    return EmotionTable(
        labels=labels,
        frame_index=frames,
        frame_time=np.array([frame_times[f] for f in frames], dtype=np.float64),
        face_frame=np.array(face_frame, dtype=np.int64),
        face_time=np.array(face_time, dtype=np.float64),
        face_id=np.array(face_id, dtype=np.int64),
        face_label=face_label,
        face_p=np.array(face_p, dtype=np.float64).reshape(len(face_id), len(labels)),
        frame_file=frame_files if file_col is not None else None,
    )


def _emotions(labels, rows: list[str]) -> tuple[dict[str, float], str | None]:
    labelled = [r for r in rows if r]
    if not labelled:
        return {label: 0.0 for label in labels}, None
    share = {label: round(labelled.count(label) / len(labelled), 4) for label in labels}
    counts = [labelled.count(label) for label in labels]
    if not max(counts):  # labels the model does not list: the most frequent one
        return share, max(sorted(set(labelled)), key=labelled.count)
    return share, labels[int(np.argmax(counts))]


def _changes(rows: list[str]) -> int:
    labelled = [r for r in rows if r]
    return sum(a != b for a, b in zip(labelled, labelled[1:]))


def _r(value: float) -> float:
    return round(float(value), 3)


def summarize(table: EmotionTable) -> dict:
    """Per-track and whole-video numbers (see the module docstring for definitions)."""
    dt = table.frame_interval
    labels = table.labels
    tracks = []
    changes_total = 0
    for fid in sorted(set(table.face_id.tolist()) - {UNTRACKED}):
        rows = np.flatnonzero(table.face_id == fid)
        rows = rows[np.argsort(table.face_frame[rows], kind="stable")]
        row_labels = [table.face_label[i] for i in rows]
        share, dominant = _emotions(labels, row_labels)
        changes = _changes(row_labels)
        changes_total += changes
        frames = len(set(table.face_frame[rows].tolist()))
        p = table.face_p[rows]
        mean_p = {
            label: (_r(np.nanmean(p[:, j])) if np.isfinite(p[:, j]).any() else None)
            for j, label in enumerate(labels)
        }
        tracks.append(
            {
                "face_id": int(fid),
                "first_s": _r(table.face_time[rows].min()),
                "last_s": _r(table.face_time[rows].max()),
                "frames": frames,
                "seconds_visible": _r(frames * dt),
                "emotion_share": share,
                "dominant_emotion": dominant,
                "label_changes": changes,
                "mean_p": mean_p,
            }
        )
    tracks.sort(key=lambda t: (-t["frames"], t["face_id"]))
    share, dominant = _emotions(labels, table.face_label)
    frames_with_faces = len(set(table.face_frame.tolist()))
    has_faces = len(table.face_id) > 0
    return {
        "labels": list(labels),
        "frames": table.frames,
        "frame_interval_s": round(dt, 6),
        "duration_s": _r(table.frames * dt),
        "video": {
            "first_s": _r(table.face_time.min()) if has_faces else None,
            "last_s": _r(table.face_time.max()) if has_faces else None,
            "frames_with_faces": frames_with_faces,
            "faces": int(len(table.face_id)),
            "tracks": len(tracks),
            "seconds_visible": _r(frames_with_faces * dt),
            "emotion_share": share,
            "dominant_emotion": dominant,
            "label_changes": changes_total,
        },
        "tracks": tracks,
    }


def summarize_photos(table: EmotionTable) -> dict:
    """A run over photos: the emotions of all faces, and each photo's faces and labels."""
    photos = []
    for frame in table.frame_index.tolist():
        rows = np.flatnonzero(table.face_frame == frame)
        labels = [table.face_label[i] for i in rows]
        share, dominant = _emotions(table.labels, labels)
        photos.append(
            {
                "file": table.frame_file.get(frame, str(frame)),
                "faces": len(rows),
                "labels": labels,
                "emotion_share": share,
                "dominant_emotion": dominant,
            }
        )
    share, dominant = _emotions(table.labels, table.face_label)
    return {
        "labels": list(table.labels),
        "photos": table.frames,
        "photos_with_faces": sum(p["faces"] > 0 for p in photos),
        "faces": int(len(table.face_id)),
        "emotion_share": share,
        "dominant_emotion": dominant,
        "per_photo": photos,
    }


def plot_photos(table: EmotionTable, summary: dict, title: str = "") -> bytes:
    """A PNG: each photo's faces as a bar split by emotion (the first ``MAX_PHOTO_BARS``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    photos = summary["per_photo"][:MAX_PHOTO_BARS]
    colours = label_colours(table.labels)
    fig = Figure(figsize=(11, 1.4 + 0.32 * max(1, len(photos))), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    rows = np.arange(len(photos))
    left = np.zeros(len(photos))
    for label in table.labels:
        counts = np.array([p["labels"].count(label) for p in photos], dtype=float)
        ax.barh(rows, counts, left=left, color=colours[label], label=label, height=0.7)
        left += counts
    ax.set_yticks(rows, [p["file"] for p in photos], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("faces")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, axis="x", alpha=0.3)
    if table.labels:  # none in a run without a classifier
        fig.legend(loc="outside lower center", ncol=len(table.labels), frameon=False, fontsize=10)
    heading = title or "emotions per photo"
    heading += f"  -  {summary['photos']} photos, {summary['faces']} faces"
    if summary["dominant_emotion"]:
        heading += f", mostly {summary['dominant_emotion']}"
    if summary["photos"] > len(photos):
        heading += f"  -  the first {len(photos)} photos shown"
    fig.suptitle(heading, x=0.01, ha="left", fontsize=11)
    return _png(fig)


def untracked_note(video: dict) -> str:
    """Why a video has no face tracks: no face, or faces from a run without a tracker."""
    if video["faces"]:
        return (
            f"{video['faces']} faces were found but none tracked (a run without a tracker): "
            "timelines and label changes follow face tracks"
        )
    return "No face was found in this video."


def label_colours(labels) -> dict[str, str]:
    """Each label's colour, as every output gives it (``fervision.colours``)."""
    return {label: emotion_colour(label) for label in labels}


def _track_series(table: EmotionTable, fid: int):
    """Times and probabilities of one track, NaN-separated where it was out of view."""
    rows = np.flatnonzero(table.face_id == fid)
    rows = rows[np.argsort(table.face_frame[rows], kind="stable")]
    frames, times, p = table.face_frame[rows], table.face_time[rows], table.face_p[rows]
    breaks = np.flatnonzero(np.diff(frames) > 1) + 1
    if len(breaks):
        times = np.insert(times, breaks, np.nan)
        p = np.insert(p, breaks, np.nan, axis=0)
    return thinned(times, p)


def thinned(times: np.ndarray, values: np.ndarray, most: int = MAX_POINTS):
    """``times`` and ``values`` with at most about ``most`` points, evenly spaced; the NaN
    breaks (a face out of view) and the last point stay."""
    if len(times) <= most:
        return times, values
    keep = np.zeros(len(times), dtype=bool)
    keep[:: -(-len(times) // most)] = True
    keep[-1] = True
    keep |= np.isnan(times)
    return times[keep], values[keep]


def plot_timeline(table: EmotionTable, summary: dict, title: str = "") -> bytes:
    """A PNG: each emotion's smoothed probability over time, one panel per main track.

    Main tracks are those visible longest (up to four); every panel spans the whole
    video, so panels line up in time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tracks = summary["tracks"][:MAX_PANELS]
    colours = label_colours(table.labels)
    panels = max(1, len(tracks))
    fig = Figure(figsize=(11, 1.1 + 2.2 * panels), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    end = max(summary["duration_s"], float(table.frame_time.max()) if table.frames else 0.0)
    for ax, track in zip(axes, tracks):
        times, p = _track_series(table, track["face_id"])
        for j, label in enumerate(table.labels):
            ax.plot(times, p[:, j], color=colours[label], linewidth=1.6, label=label)
        dominant = track["dominant_emotion"]
        share = track["emotion_share"].get(dominant, 0.0)
        mostly = f"mostly {dominant} ({share:.0%})" if dominant else "no label"
        if not table.labels:
            mostly = UNCLASSIFIED
        ax.set_title(
            f"face {track['face_id']}: {track['seconds_visible']:.1f} s visible, {mostly}, "
            f"{track['label_changes']} label changes",
            loc="left",
            fontsize=10,
        )
        ax.axvspan(track["first_s"], track["last_s"], color="#000000", alpha=0.04, linewidth=0)
    for ax in axes:
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, end if end > 0 else 1)
        ax.set_ylabel("probability")
        ax.grid(True, alpha=0.3)
    if not tracks:
        axes[0].text(
            0.5,
            0.5,
            untracked_note(summary["video"]).replace(": ", ":\n"),
            ha="center",
            va="center",
            transform=axes[0].transAxes,
            fontsize=14,
            color="#555555",
        )
    axes[-1].set_xlabel("time (s)")
    handles = [
        axes[0].plot([], [], color=colours[label], linewidth=2.5, label=label)[0]
        for label in table.labels
    ]
    if handles:  # none in a run without a classifier
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=len(handles),
            frameon=False,
            fontsize=10,
        )
    video = summary["video"]
    heading = title or "emotion timeline"
    if video["dominant_emotion"]:
        heading += (
            f"  -  {video['seconds_visible']:.1f} of {summary['duration_s']:.1f} s with a face, "
            f"mostly {video['dominant_emotion']}"
        )
    if len(summary["tracks"]) > len(tracks):
        heading += f"  -  {len(tracks)} of {len(summary['tracks'])} faces shown (longest visible)"
    fig.suptitle(heading, x=0.01, ha="left", fontsize=11)
    return _png(fig)


def _png(fig) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def summary_json(summary: dict) -> bytes:
    import json

    return (json.dumps(summary, indent=2) + "\n").encode("utf-8")


def build_report(csv_path, title: str = "") -> tuple[dict, bytes]:
    """The summary and the timeline PNG of one emotion CSV (of a photo run: the per-photo
    summary and chart)."""
    return report_of(read_emotion_csv(csv_path), csv_path, title)


def report_of(table: EmotionTable, csv_path, title: str = "") -> tuple[dict, bytes]:
    """:func:`build_report` of a table already read."""
    unknown = sorted(set(table.face_label) - set(table.labels) - {""})
    if unknown:
        count = sum(label in unknown for label in table.face_label)
        logging.getLogger("fervision").warning(
            "warning: %s has %d rows labelled %s, which its p_ columns do not name: they "
            "count in no emotion's share",
            csv_path,
            count,
            ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else ""),
        )
    if table.frame_file is not None:
        summary = summarize_photos(table)
        return summary, plot_photos(table, summary, title=title)
    summary = summarize(table)
    return summary, plot_timeline(table, summary, title=title)


def plot_track(table: EmotionTable, track: dict, end: float) -> bytes:
    """A small PNG: one track's smoothed probability of each emotion over the whole video."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    colours = label_colours(table.labels)
    fig = Figure(figsize=(8, 1.9), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    times, p = _track_series(table, track["face_id"])
    for j, label in enumerate(table.labels):
        ax.plot(times, p[:, j], color=colours[label], linewidth=1.4, label=label)
    ax.axvspan(track["first_s"], track["last_s"], color="#000000", alpha=0.04, linewidth=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, end if end > 0 else 1)
    ax.set_ylabel("probability", fontsize=8)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    return _png(fig)
