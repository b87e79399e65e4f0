"""Participants, segments and valence in the HTML report: who each face row is (read through
:class:`~.tables.Run`), each participant's tracks merged, the per-segment table, and plots of
probability and valence over time with the segments marked on them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fervision.valence import valence_index

from .report import (
    UNTRACKED,
    EmotionTable,
    _changes,
    _emotions,
    _png,
    _r,
    label_colours,
    thinned,
)
from .tables import Event, Run, segments

SEGMENT_SHADES = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#e45756")
MAX_VALENCE_LINES = 6
PERSON_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf")


@dataclass
class Person:
    """One participant: the face rows of all its tracks, and what they show."""

    name: str
    face_ids: list[int]
    rows: np.ndarray  # indices of its face rows in the EmotionTable, by frame
    first_s: float
    last_s: float
    seconds_visible: float
    emotion_share: dict[str, float]
    dominant: str | None
    label_changes: int
    valence: float | None


@dataclass
class StudyView:
    """What the report shows beyond the tracks: participants, segments, valence."""

    people: list[Person] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    segment_rows: list[dict] = field(default_factory=list)  # tables.segments, with events
    participant: list[str] = field(default_factory=list)  # each face row's participant


def study_view(table: EmotionTable, run: Run, events=()) -> StudyView:
    """The participants of ``table`` (the CSV ``run`` reads, its rows in the same order) and,
    with ``events``, the per-segment table."""
    names = [face.participant for _, _, faces in run.frames() for face in faces]
    if len(names) != len(table.face_id):  # not the CSV the table was read from
        names = [""] * len(table.face_id)
    view = StudyView(events=list(events), participant=names)
    view.segment_rows = segments(run, events) if events else []
    listed = list(run.names) + sorted(set(names) - set(run.names) - {""})
    for name in listed:
        rows = np.flatnonzero(np.array([n == name for n in names], dtype=bool))
        if len(rows):
            view.people.append(_person(table, name, rows))
    return view


def _person(table: EmotionTable, name: str, rows: np.ndarray) -> Person:
    rows = rows[np.argsort(table.face_frame[rows], kind="stable")]
    labels = [table.face_label[i] for i in rows]
    share, dominant = _emotions(table.labels, labels)
    frames = len(set(table.face_frame[rows].tolist()))
    values = valences(table, rows)
    finite = values[np.isfinite(values)] if values is not None else np.array([])
    ids = sorted(set(table.face_id[rows].tolist()) - {UNTRACKED})
    return Person(
        name,
        ids,
        rows,
        _r(table.face_time[rows].min()),
        _r(table.face_time[rows].max()),
        _r(frames * table.frame_interval),
        share,
        dominant,
        _changes(labels),
        _r(finite.mean()) if len(finite) else None,
    )


def valences(table: EmotionTable, rows: np.ndarray) -> np.ndarray | None:
    """The valence of each of ``rows`` (NaN where unknown); None for a model without it."""
    index = valence_index(table.labels)
    if index is None:
        return None
    happy, negatives = index
    p = table.face_p[rows]
    return np.clip(p[:, happy] - p[:, negatives].max(axis=1), -1.0, 1.0)


def _series(table: EmotionTable, rows: np.ndarray, values: np.ndarray):
    """Times and values of ``rows`` (by frame), NaN-separated where the face was out of view."""
    order = np.argsort(table.face_frame[rows], kind="stable")
    rows, values = rows[order], values[order]
    frames, times = table.face_frame[rows], table.face_time[rows]
    breaks = np.flatnonzero(np.diff(frames) > 1) + 1
    if len(breaks):
        times = np.insert(times, breaks, np.nan)
        values = np.insert(values, breaks, np.nan, axis=0)
    return thinned(times, values)


def shade_segments(ax, events, labelled: bool = True) -> None:
    """Mark each segment on ``ax`` as a band, its label at the top (overlapping ones stacked)."""
    for i, event in enumerate(events):
        colour = SEGMENT_SHADES[i % len(SEGMENT_SHADES)]
        end = event.offset if math.isfinite(event.offset) else ax.get_xlim()[1]
        ax.axvspan(event.onset, end, color=colour, alpha=0.10, linewidth=0)
        ax.axvline(event.onset, color=colour, alpha=0.6, linewidth=0.8)
        if labelled:
            y = 0.97 - 0.11 * (i % 3)
            ax.text(event.onset, y, f" {event.label}", transform=ax.get_xaxis_transform(),
                    fontsize=8, color=colour, va="top", clip_on=True)  # fmt: skip


def plot_rows(table: EmotionTable, rows: np.ndarray, end: float, events) -> bytes:
    """A small PNG: the smoothed probability of each emotion in ``rows`` (a participant's,
    its tracks merged, or a track's) over the whole video, with the segments marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    colours = label_colours(table.labels)
    fig = Figure(figsize=(8, 1.9), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    times, p = _series(table, rows, table.face_p[rows])
    for j, label in enumerate(table.labels):
        ax.plot(times, p[:, j], color=colours[label], linewidth=1.4, label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, end if end > 0 else 1)
    shade_segments(ax, events)
    ax.set_ylabel("probability", fontsize=8)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    return _png(fig)


def plot_valence(table: EmotionTable, lines: list[tuple[str, np.ndarray]], end: float, events):
    """A PNG: valence over time, a line per participant (or track), segments marked; None
    for a model without valence."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if valence_index(table.labels) is None:
        return None
    fig = Figure(figsize=(11, 2.6), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_xlim(0, end if end > 0 else 1)
    ax.set_ylim(-1.05, 1.05)
    shade_segments(ax, events)
    ax.axhline(0, color="#888888", linewidth=0.8)
    for i, (name, rows) in enumerate(lines[:MAX_VALENCE_LINES]):
        times, v = _series(table, rows, valences(table, rows))
        colour = PERSON_COLOURS[i % len(PERSON_COLOURS)]
        ax.plot(times, v, color=colour, linewidth=1.5, label=name)
    ax.set_ylabel("valence", fontsize=9)
    ax.set_xlabel("time (s)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    if lines:
        ax.legend(loc="lower right", fontsize=8, ncol=min(len(lines), MAX_VALENCE_LINES))
    return _png(fig)
