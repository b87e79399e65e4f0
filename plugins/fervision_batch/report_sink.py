"""The ``report`` sink: an HTML report of the run (see :mod:`.html_report`), written at the end.

It keeps every face's smoothed probabilities (as the CSV would, in compact arrays:
:mod:`.report_rows`) and a few face pictures for each of the ``THUMBNAIL_TRACKS`` tracks
seen longest so far, taken from the overlay when there is one, spread over the time the
track is seen. Over photos it keeps each photo's picture (the first ``PHOTO_PICTURES``)
and faces instead.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fervision.errors import FervisionError
from fervision.outputs import check_not_input, check_writable
from fervision.types import Frame, SourceInfo

from .html_report import Photo, Thumbnail, render_html, render_photos_html
from .outputs import write_atomic
from .report import UNTRACKED, EmotionTable
from .report_rows import FaceRows

THUMBNAILS = 4  # per track
#: Tracks that keep pictures: the report shows those of the longest seen (html_report's
#: MAX_SECTIONS); a track seen longer than one of these later takes its place.
THUMBNAIL_TRACKS = 16
THUMB_HEIGHT = 120
PHOTO_PICTURES = 100  # photos shown in the report (every photo's faces are listed)
PHOTO_WIDTH = 720


class ReportSink:
    """Write ``path`` (HTML) when the run ends, interrupted or not.

    Args:
        path: the ``.html`` file.
        title: the page's heading (default: the source's name).
        settings: what to list under Run (detector, model...), name -> value.
        csv: the run's emotion CSV (its ``csv`` sink listed before this one): the report's
            participants come from its ``participant`` column, its segments from its rows.
        participants: who is who, as the ``csv`` sink was given it (names listed even unseen).
        events: an events CSV (onset, offset, label[, participant]): segments on the
            timelines and their table.
    """

    def __init__(
        self,
        path=None,
        *,
        title: str | None = None,
        settings: dict | None = None,
        csv=None,
        participants: str = "",
        events: str = "",
    ):
        from fervision.participants import parse_participants

        from .tables import read_events

        self.path = check_writable(path, "report")
        self.title = title
        self.settings = dict(settings or {})
        self.csv = Path(csv) if csv else None
        names = parse_participants(participants).names if participants else ()
        self.names = names
        self.events = read_events(events, names) if events else []
        if (names or self.events) and self.csv is None:
            raise FervisionError(
                "the report's participants and events need the run's CSV (csv=PATH)"
            )
        self.pipeline = None
        self._reset((), None)

    def _reset(self, labels, info) -> None:
        self.labels = tuple(labels)
        self.info = info
        self._rows = FaceRows(len(self.labels))
        self._seen: Counter = Counter()  # frames of each track
        self._thumbs: dict[int, list[Thumbnail]] = {}
        self._thumb_every: dict[int, float] = {}
        self._photos: list[Photo] = []

    def bind(self, pipeline) -> None:
        """The pipeline whose summary gives the processing speed."""
        self.pipeline = pipeline

    def open(self, info: SourceInfo, labels=()) -> None:
        check_not_input(self.path, info.source_id, "report")
        self._reset(labels, info)

    def write(self, frame: Frame) -> None:
        if not self.labels and frame.labels:
            self.labels = tuple(frame.labels)
            if not self._rows.frames:
                self._rows = FaceRows(len(self.labels))
        if self.info is not None and self.info.stills:
            self._keep_photo(frame)
            return
        self._rows.add_frame(frame.index, frame.timestamp)
        for face in frame.faces:
            probs = face.smoothed if face.smoothed is not None else face.probs
            fid = face.track_id if face.track_id is not None else UNTRACKED
            self._rows.add_face(frame.index, frame.timestamp, fid, face.label or "", probs)
            if fid != UNTRACKED:
                self._seen[fid] += 1
                if self._has_room(fid):
                    self._keep_thumbnail(frame, face, fid)

    def _has_room(self, fid: int) -> bool:
        """Whether track ``fid`` keeps pictures: one of the THUMBNAIL_TRACKS seen longest
        (it takes the place, and drops the pictures, of one seen less)."""
        if fid in self._thumbs or len(self._thumbs) < THUMBNAIL_TRACKS:
            return True
        least = min(self._thumbs, key=self._seen.__getitem__)
        if self._seen[least] >= self._seen[fid]:
            return False
        del self._thumbs[least]
        self._thumb_every.pop(least, None)
        return True

    def _keep_photo(self, frame: Frame) -> None:
        name = Path(frame.source_id).name if frame.source_id else f"frame {frame.index + 1}"
        picture = _picture(frame, PHOTO_WIDTH) if len(self._photos) < PHOTO_PICTURES else None
        self._photos.append(Photo(name, picture, [face.label or "" for face in frame.faces]))

    def _keep_thumbnail(self, frame: Frame, face, fid: int) -> None:
        """Keep at most 2x THUMBNAILS pictures, spaced in time; thin them out as time goes."""
        kept = self._thumbs.setdefault(fid, [])
        every = self._thumb_every.setdefault(fid, 0.5)
        if kept and frame.timestamp - kept[-1].time_s < every:
            return
        jpeg = _face_picture(frame, face.box)
        if jpeg is None:
            return
        caption = f"{face.label} {face.confidence:.0%}" if face.label and face.confidence else ""
        kept.append(Thumbnail(jpeg, frame.timestamp, caption))
        if len(kept) > 2 * THUMBNAILS:
            del kept[1::2]
            self._thumb_every[fid] = every * 2

    def _table(self) -> EmotionTable:
        return self._rows.table(self.labels)  # no labels in a run without a classifier

    def _study(self):
        """The table and its participants and segments: from the run's CSV when it names
        them, else from the frames kept (valence by track)."""
        from .report import read_emotion_csv
        from .report_study import StudyView, study_view
        from .tables import Run

        if self.csv is None or not (self.csv.is_file() and (self.names or self.events)):
            return self._table(), StudyView()
        table = read_emotion_csv(self.csv)
        return table, study_view(table, Run(self.csv, listed=self.names), self.events)

    def close(self) -> None:
        """Write the report (safe to call twice: only the first call after open writes);
        a run that got no frame (stopped at once) leaves an earlier report as it was."""
        if self.info is None:
            return
        info, self.info = self.info, None
        if not (self._rows.frames or self._photos):
            return
        run, notice = None, None
        if self.pipeline is not None:
            s = self.pipeline.summary
            run = {"frames": s.frames, "seconds": s.seconds, "fps": s.fps}
            if s.interrupted:
                run["interrupted"] = "yes: the frames before it are reported"
                done = len(self._photos) if info.stills else self._rows.frames
                notice = _interrupted_notice(info, done, self._rows)
            elif s.error:
                notice = (
                    f"The run ended with an error after {s.frames} frame"
                    f"{'s' if s.frames != 1 else ''} ({s.error}): this report covers only those."
                )
            elif s.ended_early:
                decoded, expected = s.ended_early
                notice = (
                    f"The video ended after {decoded} of its {expected} frames (the file may "
                    "be truncated or damaged): this report covers only those."
                )
        title = self.title or (Path(info.source_id).name if not info.live else info.source_id)
        if info.stills:
            skipped = getattr(getattr(self.pipeline, "source", None), "skipped", None) or []
            page = render_photos_html(
                self._photos,
                self.labels,
                title=title,
                settings=self.settings,
                run=run,
                skipped=[_relative(path, info.source_id) for path in skipped],
                notice=notice,
            )
        else:
            thumbs = {fid: _spread(kept, THUMBNAILS) for fid, kept in self._thumbs.items()}
            table, study = self._study()
            page = render_html(
                table, title=title, settings=self.settings, run=run, thumbnails=thumbs,
                study=study, notice=notice,
            )  # fmt: skip
        write_atomic(self.path, page.encode("utf-8"))


def _interrupted_notice(info: SourceInfo, done: int, rows: FaceRows) -> str:
    """What an interrupted run covered: time and frames (or photos) of the source's."""
    unit = "photos" if info.stills else "frames"
    of = f" of {info.frame_count}" if info.frame_count else ""
    share = f", {done / info.frame_count:.0%}" if info.frame_count else ""
    covered = f"{done}{of} {unit}{share}"
    if rows.frames and not info.stills:
        step = 1 / info.fps if info.fps and info.fps > 0 else 0.0
        seconds = rows.last_time() - rows.first_time() + step
        total = f" of the {info.frame_count * step:.1f} s source" if of and step else ""
        covered = f"{seconds:.1f} s{total} ({covered})"
    return f"Interrupted: this report covers only {covered}; the rest was not analysed."


def _relative(path, folder: str) -> str:
    """``path`` as named within ``folder`` (its name alone when it is not in it)."""
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return Path(path).name


def _spread(items: list, n: int) -> list:
    """``n`` items evenly spread over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def _face_picture(frame: Frame, box) -> bytes | None:
    """A JPEG of the face with some room around it (for its caption), from the overlay."""
    import cv2

    image = frame.annotated if frame.annotated is not None else frame.image
    x, y, w, h = box
    pad_x, pad_top, pad_bottom = round(0.35 * w), round(0.55 * h), round(0.2 * h)
    x0, y0 = max(0, x - pad_x), max(0, y - pad_top)
    x1, y1 = min(image.shape[1], x + w + pad_x), min(image.shape[0], y + h + pad_bottom)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    crop = image[y0:y1, x0:x1]
    scale = THUMB_HEIGHT / crop.shape[0]
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), THUMB_HEIGHT))
    return _jpeg(crop)


def _picture(frame: Frame, width: int) -> bytes | None:
    """A JPEG of the whole frame (the overlay when there is one), at most ``width`` wide."""
    import cv2

    image = frame.annotated if frame.annotated is not None else frame.image
    if image.shape[1] > width:
        height = max(1, round(image.shape[0] * width / image.shape[1]))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return _jpeg(image)


def _jpeg(image) -> bytes | None:
    import cv2

    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return jpeg.tobytes() if ok else None
