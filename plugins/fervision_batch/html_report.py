"""One self-contained HTML page about a run: per track a timeline plot, the share of each
emotion and a few thumbnails; the whole video's shares; the settings, model and speed. A
run over photos gets a page of its own: each photo, annotated, with its faces' emotions.

Everything is inline (images as base64 data, CSS in the page), so the file opens offline
and can be mailed or attached as it is.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass

from fervision.pipeline import counted

from .report import (
    UNCLASSIFIED,
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
img.photo { max-width: 100%; border-radius: 4px; display: block; margin: 6px 0; }
"""


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


def _header(title: str, line: str) -> list[str]:
    return [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)} - fervision report</title><style>{STYLE}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
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
    head = "<tr><th>face</th><th>seen</th><th>visible</th><th>mostly</th><th>emotions</th></tr>"
    rows = "".join(
        f"<tr><td>{t['face_id']}</td><td>{t['first_s']:.1f} - {t['last_s']:.1f} s</td>"
        f"<td>{t['seconds_visible']:.1f} s</td>"
        f"<td>{html.escape(t['dominant_emotion'] or '-')}</td>"
        f"<td>{_shares_text(t['emotion_share'])}</td></tr>"
        for t in tracks
    )
    return f"<table>{head}{rows}</table>"


def render_html(
    table: EmotionTable,
    *,
    title: str,
    settings: dict | None = None,
    run: dict | None = None,
    thumbnails: dict[int, list[Thumbnail]] | None = None,
) -> str:
    """The report page for ``table`` (``run``: frames, seconds, fps of the processing)."""
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
    )
    classified = bool(table.labels)  # a run without a classifier: faces and ids only
    mostly = video["dominant_emotion"] or ("no label" if video["faces"] else "no face")
    rows = [
        ("emotions", _shares_text(video["emotion_share"])),
        ("mostly", mostly),
        ("with a face", f"{video['seconds_visible']:.1f} of {summary['duration_s']:.1f} s"),
        ("faces seen", video["faces"]),
        ("label changes", _changes_text(video)),
    ]
    if not classified:
        rows = [("emotions", UNCLASSIFIED), *rows[2:4]]
    out.append("<h2>Whole video</h2>")
    if classified:
        out += [_shares_bar(video["emotion_share"], colours), f'<div class="legend">{legend}</div>']
    out += ["<table>", _rows(rows), "</table>"]
    out += _run_table(settings, run)
    out.append(f"<h2>Face tracks ({len(summary['tracks'])})</h2>")
    if not summary["tracks"]:
        out.append(f"<p>{untracked_note(video)}</p>")
    else:
        out.append(_track_table(summary["tracks"]))
    for track in summary["tracks"]:
        fid = track["face_id"]
        heading = (
            f"face {fid}: {track['first_s']:.1f} - {track['last_s']:.1f} s, "
            f"{track['seconds_visible']:.1f} s visible"
        )
        if not classified:
            out += ['<div class="track">', f"<h3>{heading}</h3>"]
        else:
            plot = _data_uri(plot_track(table, track, end), "image/png")
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
            out.append('<div class="thumbs">')
            for thumb in thumbnails[fid]:
                src = _data_uri(thumb.jpeg, "image/jpeg")
                out.append(
                    f'<figure><img alt="face {fid} at {thumb.time_s:.1f} s" src="{src}">'
                    f"<figcaption>{thumb.time_s:.1f} s {html.escape(thumb.caption)}"
                    "</figcaption></figure>"
                )
            out.append("</div>")
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
    out = _header(title, heading)
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
