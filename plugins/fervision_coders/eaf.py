"""ELAN ``.eaf`` (EAF 3.0): write a run's segments as tiers, read a coder's tier back.

One tier per participant (its id the participant's name) holds the smoothed label as
annotations, with the model's labels as a controlled vocabulary; ``--events`` segments go on
``events`` tiers (a second one where events overlap). The video is linked (with a relative
path when it sits beside the file); with the per-frame CSV, each participant's probabilities
and valence are linked for ELAN's time-series viewer, their tracks configured
(:mod:`.timeseries`: ``NAME.PARTICIPANT.timeseries.csv`` and ``NAME_tsconf.xml``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from fervision.errors import FervisionError
from fervision.outputs import write_atomic

from .coding import Coding, Segment, by_name, lanes, ms
from .files import mime_type, relative_to
from .timeseries import write_time_series

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
EMOTION_TYPE, EVENT_TYPE, CV_ID = "emotion", "event", "emotions"
LANGUAGE = ("und", "http://cdb.iso.org/lg/CDB-00130975-001", "undetermined (und)")
CONSTRAINTS = {
    "Time_Subdivision": "Time subdivision of parent annotation's time interval, no time gaps "
    "allowed within this interval",
    "Symbolic_Subdivision": "Symbolic subdivision of a parent annotation. Annotations refering "
    "to the same parent are ordered",
    "Symbolic_Association": "1-1 association with a parent annotation",
    "Included_In": "Time alignable annotations within the parent annotation's time interval, "
    "gaps are allowed",
}


def eaf_tree(coding: Coding, path, events: list[Segment] = (), linked=()) -> ET.ElementTree:
    """The EAF document of ``coding`` (to be written at ``path``, which relative links use),
    linking the files ``linked`` (time series, their ``_tsconf.xml`` configuration)."""
    root = ET.Element(
        "ANNOTATION_DOCUMENT",
        {
            "AUTHOR": "fervision",
            "DATE": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
            "FORMAT": "3.0",
            "VERSION": "3.0",
            f"{{{XSI}}}noNamespaceSchemaLocation": SCHEMA,
        },
    )
    header = ET.SubElement(root, "HEADER", MEDIA_FILE="", TIME_UNITS="milliseconds")
    if coding.media:
        _link(header, "MEDIA_DESCRIPTOR", "MEDIA", coding.media, path, mime_type(coding.media))
    for target in linked:
        mime = "text/xml" if str(target).endswith(".xml") else "text/plain"
        _link(header, "LINKED_FILE_DESCRIPTOR", "LINK", target, path, mime)
    order = ET.SubElement(root, "TIME_ORDER")
    slots: dict[int, str] = {}
    ids = iter(range(1, 1 << 62))
    tiers = _tiers(coding, events)
    for tier_id, (kind, participant, segments) in tiers.items():
        attrs = {"LINGUISTIC_TYPE_REF": kind, "TIER_ID": tier_id}
        if participant:
            attrs["PARTICIPANT"] = participant
        tier = ET.SubElement(root, "TIER", attrs)
        for seg in segments:
            start, end = ms(seg.onset), ms(seg.offset)
            if end <= start:  # shorter than half a millisecond: nothing to show
                continue
            refs = [slots.setdefault(t, f"ts{len(slots) + 1}") for t in (start, end)]
            a = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION")
            a.attrib.update(
                ANNOTATION_ID=f"a{next(ids)}", TIME_SLOT_REF1=refs[0], TIME_SLOT_REF2=refs[1]
            )
            ET.SubElement(a, "ANNOTATION_VALUE").text = seg.label
    for t, slot in sorted(slots.items()):
        ET.SubElement(order, "TIME_SLOT", TIME_SLOT_ID=slot, TIME_VALUE=str(t))
    last = ET.SubElement(header, "PROPERTY", NAME="lastUsedAnnotationId")
    last.text = str(next(ids) - 1)
    _types(root, coding.all_labels())
    return ET.ElementTree(root)


def _link(header, element: str, prefix: str, target, path, mime: str) -> None:
    """A MEDIA_ or LINKED_FILE_DESCRIPTOR: an absolute file URL, and a relative one beside."""
    attrs = {f"{prefix}_URL": Path(target).absolute().as_uri(), "MIME_TYPE": mime}
    relative = relative_to(target, path)
    if relative:
        attrs[f"RELATIVE_{prefix}_URL"] = relative
    ET.SubElement(header, element, attrs)


def _tiers(coding: Coding, events) -> dict[str, tuple[str, str, list[Segment]]]:
    """Tier id -> (linguistic type, participant, segments)."""
    tiers = {who: (EMOTION_TYPE, who, []) for who in coding.participants}
    for seg in coding.segments():
        tiers[seg.participant][2].append(seg)
    by_who: dict[str, list[Segment]] = {}
    for event in events:
        by_who.setdefault(event.participant, []).append(event)
    for who, segs in sorted(by_who.items(), key=by_name):
        base = f"events {who}" if who else "events"
        for n, lane in enumerate(lanes(segs), start=1):
            tiers[base if n == 1 else f"{base} {n}"] = (EVENT_TYPE, who, lane)
    return tiers


def _types(root, labels) -> None:
    """Linguistic types, the language, ELAN's constraints and the labels' vocabulary."""
    ET.SubElement(
        root,
        "LINGUISTIC_TYPE",
        CONTROLLED_VOCABULARY_REF=CV_ID,
        GRAPHIC_REFERENCES="false",
        LINGUISTIC_TYPE_ID=EMOTION_TYPE,
        TIME_ALIGNABLE="true",
    )
    ET.SubElement(
        root,
        "LINGUISTIC_TYPE",
        GRAPHIC_REFERENCES="false",
        LINGUISTIC_TYPE_ID=EVENT_TYPE,
        TIME_ALIGNABLE="true",
    )
    lang_id, lang_def, lang_label = LANGUAGE
    ET.SubElement(root, "LANGUAGE", LANG_DEF=lang_def, LANG_ID=lang_id, LANG_LABEL=lang_label)
    for stereotype, description in CONSTRAINTS.items():
        ET.SubElement(root, "CONSTRAINT", DESCRIPTION=description, STEREOTYPE=stereotype)
    cv = ET.SubElement(root, "CONTROLLED_VOCABULARY", CV_ID=CV_ID)
    ET.SubElement(cv, "DESCRIPTION", LANG_REF=LANGUAGE[0]).text = "facial expression"
    for n, label in enumerate(labels):
        entry = ET.SubElement(cv, "CV_ENTRY_ML", CVE_ID=f"cveid{n}")
        ET.SubElement(entry, "CVE_VALUE", LANG_REF=LANGUAGE[0]).text = label


def write_eaf(coding: Coding, path, events: list[Segment] = ()) -> Path:
    """Write ``coding`` (and ``events``) as an ELAN file at ``path``, with the time series of
    its per-frame CSV beside it; return the path."""
    path = Path(path)
    linked = write_time_series(coding.csv, path) if coding.csv else []
    tree = eaf_tree(coding, path, events, linked)
    ET.indent(tree, space="    ")
    data = ET.tostring(tree.getroot(), encoding="UTF-8", xml_declaration=True)
    write_atomic(path, data + b"\n")
    return path


def read_eaf_tiers(path) -> dict[str, list[Segment]]:
    """Each time-aligned tier of an ELAN file: its annotations as segments (seconds)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise FervisionError(f"{path} is not a readable ELAN file: {exc}") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise FervisionError(f"{path} is not an ELAN file (no ANNOTATION_DOCUMENT)")
    slots = {}
    for slot in root.iter("TIME_SLOT"):
        if slot.get("TIME_VALUE") is not None:
            slots[slot.get("TIME_SLOT_ID")] = int(slot.get("TIME_VALUE")) / 1000
    tiers: dict[str, list[Segment]] = {}
    for tier in root.iter("TIER"):
        name = tier.get("TIER_ID", "")
        segments = []
        for a in tier.iter("ALIGNABLE_ANNOTATION"):
            onset, offset = slots.get(a.get("TIME_SLOT_REF1")), slots.get(a.get("TIME_SLOT_REF2"))
            value = (a.findtext("ANNOTATION_VALUE") or "").strip()
            if onset is not None and offset is not None and offset > onset and value:
                segments.append(Segment(tier.get("PARTICIPANT") or name, value, onset, offset))
        if segments:
            tiers[name] = sorted(segments, key=lambda s: s.onset)
    return tiers
