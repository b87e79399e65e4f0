"""One self-contained HTML page about a run: the whole video's shares; the settings, model
and speed; a table of face tracks and, for the ``MAX_SECTIONS`` seen longest, a timeline
plot, the share of each emotion and a few thumbnails (a crowded video's hundreds of short
tracks stay in the table, its shortest merged into one line past ``MAX_TABLE_ROWS``). A
run over photos gets a page of its own: each photo, annotated, with its faces' emotions.

Everything is inline (images as base64 data, CSS in the page), so the file opens offline
and can be mailed or attached as it is.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass

import numpy as np

from fervision.pipeline import counted

from .report import (
    UNCLASSIFIED,
    UNTRACKED,
    EmotionTable,
    label_colours,
    plot_track,
    summarize,
    untracked_note,
)

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 980px;
       color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #666; margin-bottom: 16px; }
table { border-collapse: collapse; } td, th { padding: 3px 12px 3px 0; text-align: left; }
th { color: #555; font-weight: 600; }
.shares { display: flex; height: 18px; border-radius: 3px; overflow: hidden; width: 100%;
          background: #ddd; }
.shares div { height: 100%; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
            border-radius: 2px; }
.track { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 12px 14px;
         margin: 12px 0; }
.track h3 { font-size: 15px; margin: 0 0 6px; }
.thumbs { display: flex; gap: 8px; margin-top: 8px; flex-wrap: wrap; }
.thumbs figure { margin: 0; font-size: 11px; color: #555; text-align: center; }
.thumbs img { height: 110px; border-radius: 4px; display: block; }
img.plot { width: 100%; }
.sub, table td { font-variant-numeric: tabular-nums; }
img.photo { max-width: 100%; border-radius: 4px; display: block; margin: 6px 0; }
.notice { background: #fff3cd; border: 1px solid #e0c36a; border-radius: 6px;
          padding: 8px 12px; margin: 0 0 16px; font-weight: 600; }
.note { color: #666; font-size: 12px; }
"""


PERSON_THUMBNAILS = 6  # a participant's, over all its tracks
#: Tracks with a section of their own (timeline, thumbnails): the longest seen.
MAX_SECTIONS = 8
#: Tracks listed one a row; the shorter rest share one row.
MAX_TABLE_ROWS = 50
#: Which column the shares and "mostly" count, said under the whole video's shares.
LABEL_NOTE = (
    "Emotion shares and \u201cmostly\u201d count each face's frames by its shown label (the "
    "CSV's <code>label</code>: the smoother holds it through brief changes), not by the "
    "highest smoothed probability (<code>p_</code> columns), which may differ in some frames; "
    "the timelines plot the <code>p_</code> values."
)


@dataclass
class Thumbnail:
    """One face picture of a track: JPEG bytes and what it shows."""

    jpeg: bytes
    time_s: float
    caption: str


@dataclass
class Photo:
    """One photo of a run: its name, its annotated picture (JPEG) and each face's label."""

    name: str
    jpeg: bytes | None
    labels: list[str]  # one per face; "" when unlabelled


def _changes_text(video: dict) -> str:
    """Label changes, counted along face tracks: none to count without a tracker."""
    if video["faces"] and not video["tracks"]:
        return "not counted (no face tracks)"
    return str(video["label_changes"])


def _data_uri(data: bytes, kind: str) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _shares_bar(shares: dict[str, float], colours: dict[str, str]) -> str:
    parts = [
        f'<div style="width:{100 * v:.2f}%;background:{colours[k]}" '
        f'title="{html.escape(k)} {v:.0%}"></div>'
        for k, v in shares.items()
        if v > 0
    ]
    return f'<div class="shares">{"".join(parts)}</div>'


def _shares_text(shares: dict[str, float]) -> str:
    # largest first; equal shares in the model's order, which also picks the dominant one
    ranked = sorted(((k, v) for k, v in shares.items() if v > 0), key=lambda kv: -kv[1])
    return ", ".join(f"{html.escape(k)} {v:.0%}" for k, v in ranked) or "no label"


def _legend(labels, colours: dict[str, str]) -> str:
    return "".join(
        f'<span><i style="background:{colours[k]}"></i>{html.escape(k)}</span>' for k in labels
    )


def _rows(pairs) -> str:
    return "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in pairs
        if v not in (None, "")
    )


def _header(title: str, line: str, notice: str | None = None) -> list[str]:
    """The page's head, title and summary line (``notice``: a run cut short, said first)."""
    return [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)} - fervision report</title><style>{STYLE}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *([f'<div class="notice">{html.escape(notice)}</div>'] if notice else []),
        f'<div class="sub">fervision report, {time.strftime("%Y-%m-%d %H:%M")}: {line}</div>',
    ]


def _run_table(settings: dict | None, run: dict | None, unit: str = "frames") -> list[str]:
    if not (run or settings):
        return []
    speed = []
    if run:
        speed = [
            (f"{unit} processed", run.get("frames")),
            ("processing time", f"{run['seconds']:.1f} s" if run.get("seconds") else None),
            ("speed", f"{run['fps']:.1f} {unit}/s" if run.get("fps") else None),
            ("interrupted", run.get("interrupted")),
        ]
    shown = [
        (k, v) for k, v in (settings or {}).items() if (k, v) != ("detect every", "1 frame(s)")
    ]
    return ["<h2>Run</h2><table>", _rows(shown + speed), "</table>"]


def _track_table(tracks: list[dict]) -> str:
    """A row a track (longest seen first); past MAX_TABLE_ROWS one row for the rest."""
    head = "<tr><th>face</th><th>seen</th><th>visible</th><th>mostly</th><th>emotions</th></tr>"
    rest = tracks[MAX_TABLE_ROWS:]
    tracks = tracks[:MAX_TABLE_ROWS]
    rows = "".join(
        f"<tr><td>{t['face_id']}</td><td>{t['first_s']:.1f} - {t['last_s']:.1f} s</td>"
        f"<td>{t['seconds_visible']:.1f} s</td>"
        f"<td>{html.escape(t['dominant_emotion'] or '-')}</td>"
        f"<td>{_shares_text(t['emotion_share'])}</td></tr>"
        for t in tracks
    )
    if rest:
        longest = max(t["seconds_visible"] for t in rest)
        total = sum(t["seconds_visible"] for t in rest)
        rows += (
            f"<tr><td>{len(rest)} more</td><td>each seen {longest:.1f} s or less</td>"
            f"<td>{total:.1f} s in all</td><td></td><td></td></tr>"
        )
    return f"<table>{head}{rows}</table>"


def _thumbs(fid, thumbs: list[Thumbnail]) -> list[str]:
    out = ['<div class="thumbs">']
    for thumb in thumbs:
        src = _data_uri(thumb.jpeg, "image/jpeg")
        out.append(
            f'<figure><img alt="{html.escape(str(fid))} at {thumb.time_s:.1f} s" src="{src}">'
            f"<figcaption>{thumb.time_s:.1f} s {html.escape(thumb.caption)}</figcaption></figure>"
        )
    return out + ["</div>"]


def _signed(value) -> str:
    return f"{value:+.2f}" if value not in ("", None) else "-"


def _segment_table(rows: list[dict]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("segment", "who", "time", "seen", "mostly", "valence", "changes", "emotions")
    )
    body = "".join(
        f"<tr><td>{html.escape(r['segment'] or '(whole video)')}</td>"
        f"<td>{html.escape(r['participant'] or 'face ' + str(r['face_id']))}</td>"
        f"<td>{r['onset']:.1f} - {r['offset']:.1f} s</td><td>{r['seconds_seen']:.1f} s</td>"
        f"<td>{html.escape(r['dominant'] or '-')}</td>"
        f"<td>{_signed(r['valence'])}</td>"
        f"<td>{r['label_changes']}</td>"
        f"<td>{_shares_text({k[6:]: v for k, v in r.items() if k.startswith('share_') and v})}"
        "</td></tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _study_sections(table, study, thumbnails, end, legend, colours) -> list[str]:
    """Valence over time, the per-segment table and the participants' cards."""
    from .report_study import MAX_VALENCE_LINES, plot_rows, plot_valence

    out = []
    lines = [(p.name, p.rows) for p in study.people]
    left_out = 0
    if not lines:  # by track, the longest seen first
        ids = list(set(table.face_id.tolist()) - {UNTRACKED})
        counts = np.bincount(table.face_id[table.face_id >= 0])  # rows of each track
        ids.sort(key=lambda i: (-counts[i], i))
        left_out = max(len(ids) - MAX_VALENCE_LINES, 0)
        lines = [(f"face {i}", np.flatnonzero(table.face_id == i)) for i in ids[:MAX_VALENCE_LINES]]
    plot = plot_valence(table, lines, end, study.events)
    if plot is not None:
        src = _data_uri(plot, "image/png")
        out += ["<h2>Valence over time</h2>", f'<img class="plot" alt="valence" src="{src}">']
        if left_out:
            out.append(
                f'<p class="note">The {len(lines)} faces seen longest; '
                f"{counted(left_out, 'other face')} not drawn (see the track table).</p>"
            )
    if study.segment_rows:
        out += [f"<h2>Segments ({len(study.events)})</h2>", _segment_table(study.segment_rows)]
    if not study.people:
        return out
    out.append(f"<h2>Participants ({len(study.people)})</h2>")
    for person in study.people:
        ids = ", ".join(str(i) for i in person.face_ids) or "none"
        valence = f", valence {person.valence:+.2f}" if person.valence is not None else ""
        plot = _data_uri(plot_rows(table, person.rows, end, study.events), "image/png")
        pictures = sorted(
            (t for i in person.face_ids for t in thumbnails.get(i, [])), key=lambda t: t.time_s
        )
        out += [
            '<div class="track">',
            f"<h3>{html.escape(person.name)}: {person.seconds_visible:.1f} s visible "
            f"({person.first_s:.1f} - {person.last_s:.1f} s), mostly "
            f"{html.escape(person.dominant or 'no label')}{valence}</h3>",
            f"<div>face tracks {ids} merged; {_shares_text(person.emotion_share)}; "
            f"{person.label_changes} label changes</div>",
            _shares_bar(person.emotion_share, colours),
            f'<div class="legend">{legend}</div>',
            f'<img class="plot" alt="timeline of {html.escape(person.name)}" src="{plot}">',
        ]
        if pictures:
            out += _thumbs(person.name, _spread(pictures, PERSON_THUMBNAILS))
        out.append("</div>")
    return out


def _spread(items: list, n: int) -> list:
    """``n`` items evenly spread over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def render_html(
    table: EmotionTable,
    *,
    title: str,
    settings: dict | None = None,
    run: dict | None = None,
    thumbnails: dict[int, list[Thumbnail]] | None = None,
    study=None,
    notice: str | None = None,
) -> str:
    """The report page for ``table`` (``run``: frames, seconds, fps of the processing;
    ``study``: a :class:`~.report_study.StudyView`, its participants, segments and valence;
    ``notice``: said at the top, as an interrupted run's coverage)."""
    summary = summarize(table)
    colours = label_colours(table.labels)
    video = summary["video"]
    thumbnails = thumbnails or {}
    end = max(summary["duration_s"], float(table.frame_time.max()) if table.frames else 0.0)
    legend = _legend(table.labels, colours)
    out = _header(
        title,
        f"{summary['frames']} frames, {summary['duration_s']:.1f} s, "
        + counted(video["tracks"], "face track"),
        notice,
    )
    classified = bool(table.labels)  # a run without a classifier: faces and ids only
    mostly = video["dominant_emotion"] or ("no label" if video["faces"] else "no face")
    rows = [
        ("emotions", _shares_text(video["emotion_share"])),
        ("mostly", mostly),
        ("with a face", f"{video['seconds_visible']:.1f} of {summary['duration_s']:.1f} s"),
        ("face detections", f"{video['faces']} in {summary['frames']} frames"),
        ("label changes", _changes_text(video)),
    ]
    if not classified:
        rows = [("emotions", UNCLASSIFIED), *rows[2:4]]
    out.append("<h2>Whole video</h2>")
    if classified:
        out += [_shares_bar(video["emotion_share"], colours), f'<div class="legend">{legend}</div>']
        out.append(f'<p class="note">{LABEL_NOTE}</p>')
    out += ["<table>", _rows(rows), "</table>"]
    out += _run_table(settings, run)
    tracks = summary["tracks"]
    if study is not None and classified:
        out += _study_sections(table, study, thumbnails, end, legend, colours)
        merged = {i for person in study.people for i in person.face_ids}
        tracks = [t for t in tracks if t["face_id"] not in merged]
    other = "Other face tracks" if len(tracks) < len(summary["tracks"]) else "Face tracks"
    if tracks or not summary["tracks"]:  # none left when every track is a participant's
        out.append(f"<h2>{other} ({len(tracks)})</h2>")
    if not summary["tracks"]:
        out.append(f"<p>{untracked_note(video)}</p>")
    elif tracks:
        if len(tracks) > MAX_SECTIONS:
            out.append(
                f'<p class="note">The {MAX_SECTIONS} seen longest have a section below; the '
                "table lists them all, longest seen first.</p>"
            )
        out.append(_track_table(tracks))
    for track in tracks[:MAX_SECTIONS]:
        fid = track["face_id"]
        heading = (
            f"face {fid}: {track['first_s']:.1f} - {track['last_s']:.1f} s, "
            f"{track['seconds_visible']:.1f} s visible"
        )
        if not classified:
            out += ['<div class="track">', f"<h3>{heading}</h3>"]
        else:
            if study is not None:  # the segments marked on it
                from .report_study import plot_rows

                rows = np.flatnonzero(table.face_id == fid)
                png = plot_rows(table, rows, end, study.events)
            else:
                png = plot_track(table, track, end)
            plot = _data_uri(png, "image/png")
            out += [
                '<div class="track">',
                f"<h3>{heading}, mostly "
                f"{html.escape(track['dominant_emotion'] or 'no label')}</h3>",
                _shares_bar(track["emotion_share"], colours),
                f"<div>{_shares_text(track['emotion_share'])}; "
                f"{track['label_changes']} label changes</div>",
                f'<div class="legend">{legend}</div>',
                f'<img class="plot" alt="timeline of face {fid}" src="{plot}">',
            ]
        if thumbnails.get(fid):
            out += _thumbs(f"face {fid}", thumbnails[fid])
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def render_photos_html(
    photos: list[Photo],
    labels,
    *,
    title: str,
    settings: dict | None = None,
    run: dict | None = None,
    skipped: list[str] = (),
    notice: str | None = None,
) -> str:
    """The report page for a run over photos: the emotions of all faces, then each photo
    (and the ``skipped`` ones no decoder could read)."""
    colours = label_colours(labels)
    faces = [label for photo in photos for label in photo.labels]
    shares = {k: faces.count(k) / len(faces) if faces else 0.0 for k in labels}
    legend = _legend(labels, colours)
    heading = f"{counted(len(photos), 'photo')}, {counted(len(faces), 'face')}"
    emotions = _shares_text(shares) if labels else UNCLASSIFIED
    if skipped:
        heading += f", {len(skipped)} skipped (not readable)"
    out = _header(title, heading, notice)
    out += [
        "<h2>All photos</h2>",
        _shares_bar(shares, colours),
        f'<div class="legend">{legend}</div>',
        f"<table>{_rows([('emotions', emotions), ('faces', len(faces))])}</table>",
    ]
    out += _run_table(settings, run, unit="photos")
    out.append(f"<h2>Photos ({len(photos)})</h2>")
    for photo in photos:
        named = [label for label in photo.labels if label]
        counts = {k: named.count(k) for k in labels}
        out += [
            '<div class="track">',
            f"<h3>{html.escape(photo.name)}: {counted(len(photo.labels), 'face')}</h3>",
        ]
        if photo.jpeg:
            src = _data_uri(photo.jpeg, "image/jpeg")
            out.append(f'<img class="photo" alt="{html.escape(photo.name)}" src="{src}">')
        if named:
            out.append(f"<div>{_shares_text({k: n / len(named) for k, n in counts.items()})}</div>")
        out.append("</div>")
    if skipped:
        out.append(f"<h2>Skipped: not readable ({len(skipped)})</h2>")
        out.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in skipped) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)
