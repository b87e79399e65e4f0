"""BORIS ``.boris`` projects (JSON, project format 7.0): write a run's, read a coder's.

The ethogram holds the labels as state behaviours (category ``expression``; ``--events``
labels in category ``event``), the subjects are the participants, and one media observation
of the video holds each segment as a START/STOP pair of its state event.
"""

from __future__ import annotations

import json
import string
from datetime import datetime
from pathlib import Path

from fervision.errors import FervisionError
from fervision.outputs import write_atomic
from fervision.run_csv import natural_key

from .coding import Coding, Segment
from .files import media_facts, relative_to

FORMAT_VERSION = "7.0"
EXPRESSION, EVENT = "expression", "event"
STATE = "State event"
BEHAVIOUR_KEYS = string.ascii_lowercase + string.ascii_uppercase
SUBJECT_KEYS = string.digits


def _merged(events: list[Segment]) -> list[Segment]:
    """Events of one subject and label that overlap or touch, joined (a state is on or off)."""
    out: list[Segment] = []
    for seg in sorted(events, key=lambda s: (s.participant, s.label, s.onset)):
        last = out[-1] if out else None
        if last and (last.participant, last.label) == (seg.participant, seg.label):
            if seg.onset <= last.offset:
                out[-1] = Segment(
                    last.participant, last.label, last.onset, max(last.offset, seg.offset)
                )
                continue
        out.append(seg)
    return out


def boris_project(coding: Coding, path, events: list[Segment] = ()) -> dict:
    """The BORIS project of ``coding`` (to be written at ``path``; the video is named
    relative to it when it sits beside it)."""
    if not coding.media:
        raise FervisionError(
            "a BORIS project needs the video: give --media VIDEO (BORIS codes on the video)"
        )
    events = _merged(list(events))
    labels = coding.all_labels()
    event_labels = [e for e in dict.fromkeys(s.label for s in events) if e not in labels]
    ethogram = {}
    for n, (label, category) in enumerate(
        [(x, EXPRESSION) for x in labels] + [(x, EVENT) for x in event_labels]
    ):
        ethogram[str(n)] = {
            "type": STATE,
            "key": BEHAVIOUR_KEYS[n] if n < len(BEHAVIOUR_KEYS) else "",
            "code": label,
            "description": f"{category} (fervision)",
            "color": "",
            "category": category,
            "modifiers": {},
            "excluded": "",
            "coding map": "",
        }
    names = coding.participants + sorted(
        {e.participant for e in events if e.participant} - set(coding.participants),
        key=natural_key,
    )
    subjects = {
        str(n): {
            "key": SUBJECT_KEYS[n] if n < len(SUBJECT_KEYS) else "",
            "name": who,
            "description": "",
        }
        for n, who in enumerate(names)
    }
    media = relative_to(coding.media, path) or str(Path(coding.media).absolute())
    media = media.removeprefix("./")
    facts = media_facts(coding.media)
    fps = facts.get("fps") or coding.fps or 1 / coding.frame_interval
    length = max(facts.get("length") or 0.0, coding.end)
    observation = {
        "file": {"1": [media], **{str(p): [] for p in range(2, 9)}},
        "type": "MEDIA",
        "date": datetime.now().isoformat(timespec="seconds"),
        "description": "coded by fervision: correct the codes, then run fervision agree",
        "time offset": 0.0,
        "events": _events(coding.segments() + events, fps),
        "observation time interval": [0, 0],
        "independent_variables": {},
        "visualize_spectrogram": False,
        "visualize_waveform": False,
        "media_creation_date_as_offset": False,
        "media_scan_sampling_duration": 0,
        "image_display_duration": 1,
        "close_behaviors_between_videos": False,
        "media_info": {
            "length": {media: round(length, 3)},
            "fps": {media: round(fps, 3)},
            "hasVideo": {media: True},
            "hasAudio": {media: bool(facts.get("audio", False))},
            "offset": {"1": 0.0},
        },
    }
    return {
        "time_format": "hh:mm:ss",
        "project_date": datetime.now().isoformat(timespec="seconds"),
        "project_name": Path(path).stem,
        "project_description": "facial expressions coded by fervision",
        "project_format_version": FORMAT_VERSION,
        "subjects_conf": subjects,
        "behaviors_conf": ethogram,
        "observations": {Path(coding.media).stem or "video": observation},
        "behavioral_categories": [EXPRESSION] + ([EVENT] if event_labels else []),
        "independent_variables": {},
        "coding_map": {},
        "behaviors_coding_map": [],
        "converters": {},
    }


def _events(segments: list[Segment], fps: float) -> list[list]:
    """Each segment as a START and a STOP event: [time, subject, code, modifier, comment,
    frame index], in time order, a STOP before a START at the same time."""
    rows = []
    for seg in segments:
        for time, stop in ((seg.onset, False), (seg.offset, True)):
            t = round(time, 3)
            rows.append(
                (t, 0 if stop else 1, [t, seg.participant, seg.label, "", "", round(t * fps)])
            )
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def write_boris(coding: Coding, path, events: list[Segment] = ()) -> Path:
    """Write ``coding`` (and ``events``) as a BORIS project at ``path``; return the path."""
    path = Path(path)
    project = boris_project(coding, path, events)
    write_atomic(path, (json.dumps(project, indent=1) + "\n").encode("utf-8"))
    return path


def read_boris_subjects(path) -> dict[str, list[Segment]]:
    """Each subject's state events in a BORIS project, paired into segments (seconds);
    point events are left out. The first observation with state events is read."""
    try:
        project = json.loads(Path(path).read_text(encoding="utf-8"))
        ethogram = project["behaviors_conf"]
        observations = project["observations"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise FervisionError(f"{path} is not a readable BORIS project: {exc}") from None
    states = {b.get("code") for b in ethogram.values() if "state" in str(b.get("type")).lower()}
    names = [s.get("name", "") for s in project.get("subjects_conf", {}).values()]
    subjects: dict[str, list[Segment]] = {name: [] for name in names}
    if not observations:
        return subjects
    with_states = [
        o for o in observations.values() if any(e[2] in states for e in o.get("events", []))
    ]
    events = (with_states or list(observations.values()))[0].get("events", [])
    open_at: dict[tuple[str, str, str], float] = {}
    for event in sorted(events, key=lambda e: float(e[0])):
        time, subject, code, modifier = float(event[0]), event[1], event[2], event[3]
        if code not in states:
            continue
        key = (subject, code, modifier)
        if key in open_at:
            onset = open_at.pop(key)
            if time > onset:
                subjects.setdefault(subject, []).append(Segment(subject, code, onset, time))
        else:
            open_at[key] = time
    if open_at:
        subject, code, _ = next(iter(open_at))
        raise FervisionError(
            f"{path}: state event {code!r} of {subject or 'no subject'!r} is started but not "
            "stopped (BORIS: Tools > Check state events)"
        )
    return subjects
