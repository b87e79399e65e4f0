"""ELAN's time-series viewer: each participant's probabilities and valence, and their tracks.

The per-frame CSV has a row per face, and ELAN cannot pick a participant's rows out of it, so
each participant gets a CSV of its own beside the ``.eaf`` (``NAME.PARTICIPANT.timeseries.csv``:
the frames its face is in, a column per probability and valence), and ``NAME_tsconf.xml``
(ELAN's track configuration) plots every column as a track named ``PARTICIPANT LABEL``.
ELAN splits lines on the delimiter without quoting, skips lines starting with ``#`` (the
header is one), reads times with a decimal point as seconds, numbers columns from 0, and
finds each source by the URL the ``.eaf`` links it with.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from fervision.outputs import write_atomic
from fervision.run_csv import frame_rows, open_run_csv

from .coding import by_name, track_name

PROVIDER = "mpi.eudico.client.annotator.timeseries.csv.CSVServiceProvider"
SAMPLE_TYPE = "Discontinuous Rate"  # samples at the frames' own times, gaps where no face
#: Track colours (R,G,B) per label, as the report draws them; others cycle through the rest.
COLOURS = {
    "angry": "214,39,40",
    "disgust": "140,86,75",
    "fear": "148,103,189",
    "happy": "44,160,44",
    "sad": "31,119,180",
    "surprise": "255,127,14",
    "neutral": "127,127,127",
    "valence": "0,0,0",
}
OTHER_COLOURS = ("23,190,207", "188,189,34", "227,119,194")


def read_series(csv_path) -> tuple[list[str], dict[str, list[tuple[float, list[str]]]]]:
    """The per-frame CSV's value columns (``p_*`` and ``valence`` that hold a number) and,
    per participant, each frame's time and values (its first face in the frame)."""
    with open_run_csv(csv_path) as reader:
        header = next(reader, None) or []
        col = {name: i for i, name in enumerate(header)}
        wanted = [c for c in header if c.startswith("p_") or c == "valence"]
        series: dict[str, dict[int, tuple[float, list[str]]]] = {}
        filled = set()
        for _, frame, time, row in frame_rows(reader, col, csv_path):
            cells = dict(zip(header, row))
            who = cells.get("participant") or track_name(cells.get("face_id", ""))
            values = [cells.get(c, "").strip() for c in wanted]
            if not who or not any(values):
                continue
            filled.update(c for c, v in zip(wanted, values) if v)
            series.setdefault(who, {}).setdefault(frame, (time, values))
    keep = [i for i, c in enumerate(wanted) if c in filled]
    columns = [wanted[i] for i in keep]
    out = {
        who: [(t, [values[i] or "NaN" for i in keep]) for _, (t, values) in sorted(rows.items())]
        for who, rows in sorted(series.items(), key=by_name)
    }
    return columns, out


def series_paths(eaf_path, participants) -> dict[str, Path]:
    """Each participant's time-series CSV beside ``eaf_path`` (names made file-safe, unique)."""
    eaf_path = Path(eaf_path)
    out: dict[str, Path] = {}
    for who in participants:
        slug = re.sub(r"[^\w-]+", "_", who).strip("_") or "participant"
        path, n = eaf_path.with_name(f"{eaf_path.stem}.{slug}.timeseries.csv"), 2
        while path in out.values():
            path, n = eaf_path.with_name(f"{eaf_path.stem}.{slug}_{n}.timeseries.csv"), n + 1
        out[who] = path
    return out


def tsconf_path(eaf_path) -> Path:
    """ELAN's name for the track configuration of ``NAME.eaf``: ``NAME_tsconf.xml``."""
    eaf_path = Path(eaf_path)
    return eaf_path.with_name(f"{eaf_path.stem}_tsconf.xml")


def write_time_series(csv_path, eaf_path) -> list[Path]:
    """Write each participant's CSV and the track configuration beside ``eaf_path``; the
    files to link, the configuration last (none when the CSV has no probabilities)."""
    columns, series = read_series(csv_path)
    if not columns or not series:
        return []
    paths = series_paths(eaf_path, series)
    for who, rows in series.items():
        lines = ["#" + ",".join(["time_s", *columns])]  # ELAN skips it, people read it
        lines += [",".join([f"{t:.3f}", *values]) for t, values in rows]
        write_atomic(paths[who], ("\n".join(lines) + "\n").encode("utf-8"))
    conf = tsconf_path(eaf_path)
    tree = tsconf_tree(columns, paths)
    ET.indent(tree, space="    ")
    data = ET.tostring(tree.getroot(), encoding="UTF-8", xml_declaration=True)
    write_atomic(conf, data + b"\n")
    return [*paths.values(), conf]


def tsconf_tree(columns: list[str], paths: dict[str, Path]) -> ET.ElementTree:
    """ELAN's track configuration: a source per participant's CSV, a track per column."""
    root = ET.Element(
        "timeseries",
        date=datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        version="1.0",
    )
    for who, path in paths.items():
        source = ET.SubElement(
            root,
            "tracksource",
            {
                "sample-type": SAMPLE_TYPE,
                "source-url": Path(path).absolute().as_uri(),  # as the .eaf links it
                "time-column": "0",
            },
        )
        ET.SubElement(source, "property", key="provider", value=PROVIDER)
        for n, column in enumerate(columns, start=1):
            label = column[2:] if column.startswith("p_") else column
            track = ET.SubElement(source, "track", derivative="0", name=f"{who} {label}")
            ET.SubElement(track, "property", key="detect-range", value="false")
            position = ET.SubElement(track, "sample-position")
            ET.SubElement(position, "pos", col=str(n), row="0")
            what = "valence (-1..1)" if column == "valence" else f"probability of {label}"
            ET.SubElement(track, "description").text = f"{who}: {what}"
            ET.SubElement(track, "units")
            low = "-1.0" if column == "valence" else "0.0"
            ET.SubElement(track, "range", max="1.0", min=low)
            ET.SubElement(track, "color").text = COLOURS.get(
                label, OTHER_COLOURS[n % len(OTHER_COLOURS)]
            )
    return ET.ElementTree(root)
