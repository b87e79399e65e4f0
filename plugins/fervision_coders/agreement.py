"""How well the machine agrees with a human coder, frame by frame.

The coder's file (ELAN ``.eaf`` tier, BORIS ``.boris`` subject, or a state-log ``.csv``) is
read as segments; each frame of the run is compared at its middle (its time plus half a
frame interval), where the coder's segment and the machine's label both hold. On the frames
both cover: Cohen's kappa, the share of frames that agree, per label the precision and
recall of the machine against the coder, and the confusion matrix (rows: the coder's label,
columns: the machine's).
"""

from __future__ import annotations

import bisect
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fervision.errors import FervisionError

from .boris import read_boris_subjects
from .coding import Coding, Segment, read_run_csv
from .eaf import read_eaf_tiers
from .states import read_states


class CodedFileError(FervisionError):
    """A coder's file, or what was asked of it, that cannot be compared (a usage error)."""


@dataclass
class Agreement:
    """What :func:`agree` found (seconds are frames times the frame interval)."""

    coded: str  # the coder's tier, subject or participant
    participant: str  # the machine's participant it was compared with
    labels: list[str]
    frames: int  # frames both cover
    coder_seconds: float
    machine_seconds: float
    both_seconds: float
    agreement: float | None  # share of compared frames where the labels are equal
    kappa: float | None  # Cohen's kappa; None when it is undefined (one label only)
    precision: dict[str, float | None] = field(default_factory=dict)
    recall: dict[str, float | None] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    not_model_labels: dict[str, int] = field(default_factory=dict)  # coder's label: frames

    def to_dict(self) -> dict:
        return asdict(self)


def parse_map(text: str | None) -> dict[str, str]:
    """``"joy=happy,anger=angry"`` as {coder's label: model's label}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        coder, eq, model = (s.strip() for s in item.partition("="))
        if not (eq and coder and model):
            raise CodedFileError(f"--map: {item!r} is not CODER=MODEL, e.g. joy=happy")
        mapping[coder] = model
    return mapping


def read_coded(path, tier: str | None = None, subject: str | None = None) -> tuple[str, list]:
    """The coder's segments: ``(name, segments)`` of the tier, subject or participant."""
    path = Path(path)
    if not path.is_file():
        raise CodedFileError(f"coder's file not found: {path}")
    kind = _kind(path)
    if kind == "eaf":
        if subject:
            raise CodedFileError("--subject is for BORIS projects and state logs; use --tier")
        return _pick(read_eaf_tiers(path), tier, "tier", path)
    if tier:
        raise CodedFileError("--tier is for ELAN files; use --subject")
    table = read_boris_subjects(path) if kind == "boris" else read_states(path)
    what = "subject" if kind == "boris" else "participant"
    return _pick(table, subject, what, path)


def _kind(path: Path) -> str:
    """``eaf``, ``boris`` or ``csv``, by suffix or else by content."""
    suffix = path.suffix.lower()
    if suffix in (".eaf", ".boris", ".csv"):
        return suffix[1:]
    try:
        head = path.read_bytes()[:4096].decode("utf-8", "replace")
    except OSError as exc:
        raise CodedFileError(f"cannot read {path}: {exc.strerror}") from None
    if "<ANNOTATION_DOCUMENT" in head:
        return "eaf"
    if head.lstrip().startswith("{") and '"behaviors_conf"' in path.read_text(errors="replace"):
        return "boris"
    if head.split("\n", 1)[0].count(",") >= 2 and "onset" in head.split("\n", 1)[0]:
        return "csv"
    raise CodedFileError(
        f"{path} is not a coder's file fervision reads: an ELAN .eaf, a BORIS .boris or a "
        "state-log .csv (participant,label,onset,offset)"
    )


def _pick(table: dict[str, list], name: str | None, what: str, path) -> tuple[str, list]:
    """The ``name`` entry of ``table``; the only one when no name is given."""
    coded = {k: v for k, v in table.items() if v}
    listed = ", ".join(repr(k) for k in coded) or "none with codes"
    if name is not None:
        if name not in table:
            known = ", ".join(repr(k) for k in table) or "none"
            raise CodedFileError(f"no {what} {name!r} in {path}; its {what}s: {known}")
        return name, table[name]
    if len(coded) != 1:
        flag = "--tier" if what == "tier" else "--subject"
        raise CodedFileError(f"{path} has {len(coded)} {what}s with codes: give {flag} ({listed})")
    return next(iter(coded.items()))


def _machine(coding: Coding, coded: str, segments: list, participant: str | None) -> str:
    """The run's participant to compare with: the one asked for, the coded one's name, or
    the only one."""
    known = coding.participants
    listed = ", ".join(repr(p) for p in known) or "none"
    if participant is not None:
        if participant not in known:
            raise CodedFileError(f"no participant {participant!r} in the run; its: {listed}")
        return participant
    for name in [coded] + [s.participant for s in segments[:1]]:
        if name in known:
            return name
    if len(known) == 1:
        return known[0]
    raise CodedFileError(
        f"{coded!r} is none of the run's participants: give --participant ({listed})"
    )


def _check_times(segments: list[Segment], coding: Coding, coded: str) -> None:
    """A one-line error when the coder's codes run past the video (another video's?). A
    second of slack: a file's sound often outlasts its last frame, and ELAN and BORIS show
    the longer (the stage clip: frames to 9.18 s, the file 10.0 s)."""
    slack = max(2 * coding.frame_interval, 1.0)
    latest = max((s.offset for s in segments), default=0.0)
    if latest > coding.end + slack:
        raise CodedFileError(
            f"{coded!r} codes up to {latest:.3f} s, past the video's end at {coding.end:.3f} s "
            "(a coder's file of another video?)"
        )
    if any(s.onset < 0 for s in segments):
        raise CodedFileError(f"{coded!r} has codes before the video's start (negative times)")


def coder_labels_at(segments: list[Segment], times: list[float]) -> list[str]:
    """The coder's label at each time ("" where no segment holds)."""
    ordered = sorted(segments, key=lambda s: s.onset)
    onsets = [s.onset for s in ordered]
    out = []
    for t in times:
        i = bisect.bisect_right(onsets, t) - 1
        hits = [s for s in ordered[max(0, i - 8) : i + 1] if s.onset <= t < s.offset]
        out.append(hits[-1].label if hits else "")
    return out


def frame_middles(coding: Coding) -> list[float]:
    """Each frame's middle: where its label is compared."""
    half = coding.frame_interval / 2
    return [t + half for t in coding.times]


def cohen_kappa(confusion: list[list[int]]) -> float | None:
    """Cohen's kappa of a square confusion matrix; None when chance agreement is total."""
    n = sum(map(sum, confusion))
    if not n:
        return None
    observed = sum(confusion[i][i] for i in range(len(confusion))) / n
    rows = [sum(r) for r in confusion]
    cols = [sum(c) for c in zip(*confusion)]
    expected = sum(r * c for r, c in zip(rows, cols)) / (n * n)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def compare(
    segments: list[Segment],
    coding: Coding,
    participant: str,
    mapping: dict[str, str] | None = None,
    coded: str = "",
) -> Agreement:
    """The agreement of ``segments`` (a coder's) with ``participant``'s labels in ``coding``."""
    _check_times(segments, coding, coded or participant)
    mapping = mapping or {}
    coder = [mapping.get(x, x) for x in coder_labels_at(segments, frame_middles(coding))]
    machine = coding.labels[participant]
    pairs = [(c, m) for c, m in zip(coder, machine) if c and m]
    labels = list(coding.label_names)
    for c, m in pairs:
        labels += [x for x in (c, m) if x not in labels]
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for c, m in pairs:
        confusion[index[c]][index[m]] += 1
    rows = [sum(r) for r in confusion]
    cols = [sum(c) for c in zip(*confusion)] if labels else []
    dt = coding.frame_interval
    unknown: dict[str, int] = {}
    for c in coder:
        if c and coding.label_names and c not in coding.label_names:
            unknown[c] = unknown.get(c, 0) + 1
    return Agreement(
        coded=coded,
        participant=participant,
        labels=labels,
        frames=len(pairs),
        coder_seconds=round(sum(1 for c in coder if c) * dt, 3),
        machine_seconds=round(sum(1 for m in machine if m) * dt, 3),
        both_seconds=round(len(pairs) * dt, 3),
        agreement=sum(c == m for c, m in pairs) / len(pairs) if pairs else None,
        kappa=cohen_kappa(confusion),
        precision={x: confusion[i][i] / cols[i] if cols[i] else None for x, i in index.items()},
        recall={x: confusion[i][i] / rows[i] if rows[i] else None for x, i in index.items()},
        confusion=confusion,
        not_model_labels=unknown,
    )


def agree(
    coded_file,
    run_csv,
    *,
    tier: str | None = None,
    subject: str | None = None,
    participant: str | None = None,
    mapping: dict[str, str] | str | None = None,
) -> Agreement:
    """Compare a coder's file with a run's per-frame CSV (see the module docstring)."""
    if isinstance(mapping, str):
        mapping = parse_map(mapping)
    name, segments = read_coded(coded_file, tier=tier, subject=subject)
    coding = read_run_csv(run_csv)
    who = _machine(coding, name, segments, participant)
    return compare(segments, coding, who, mapping, coded=name)


def _number(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def format_agreement(a: Agreement) -> str:
    """The agreement as a few lines of text: totals, per-label table, confusion matrix."""
    lines = [
        f"coder {a.coded!r} vs machine {a.participant!r}: {a.frames} frames both cover "
        f"({a.both_seconds:.1f} s; coder {a.coder_seconds:.1f} s, machine "
        f"{a.machine_seconds:.1f} s)",
        f"Cohen's kappa {_number(a.kappa)}, agreement "
        + ("-" if a.agreement is None else f"{a.agreement:.1%}"),
    ]
    used = [
        i for i in range(len(a.labels)) if sum(a.confusion[i]) or sum(row[i] for row in a.confusion)
    ]
    width = max([len(a.labels[i]) for i in used] + [5])
    lines.append(f"{'label':<{width}}  precision  recall  coder  machine")
    for i in used:
        x = a.labels[i]
        coder, machine = sum(a.confusion[i]), sum(row[i] for row in a.confusion)
        lines.append(
            f"{x:<{width}}  {_number(a.precision[x]):>9}  {_number(a.recall[x]):>6}  "
            f"{coder:>5}  {machine:>7}"
        )
    if used:
        lines.append("confusion (rows: coder, columns: machine; frames)")
        cell = max(width, *(len(a.labels[i]) for i in used), 5)
        lines.append(" " * cell + "".join(f"  {a.labels[j]:>{cell}}" for j in used))
        for i in used:
            row = "".join(f"  {a.confusion[i][j]:>{cell}}" for j in used)
            lines.append(f"{a.labels[i]:<{cell}}{row}")
    if a.not_model_labels:
        listed = ", ".join(f"{k} ({v} frames)" for k, v in a.not_model_labels.items())
        lines.append(
            f"coder's labels that are not the model's: {listed}; map them with --map CODER=MODEL"
        )
    return "\n".join(lines)


def agreement_json(a: Agreement) -> str:
    return json.dumps(a.to_dict(), indent=2)
