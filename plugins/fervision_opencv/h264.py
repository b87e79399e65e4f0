"""H.264 video through PyAV (FFmpeg): yuv420p, fast start, and the source's sound.

Browsers, chat and slide tools play H.264 in yuv420p; OpenCV's ``mp4v`` (MPEG-4 Part 2)
they do not. The audio of the source file, when it has some, is copied packet by packet
(re-encoded to AAC when the container cannot hold its codec), interleaved with the video
up to the last frame written, so a run stopped early keeps picture and sound in step.
A timed writer puts each frame at its source time (a phone's variable frame rate, a camera's
frames as they come), so the sound stays with the picture.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np

from fervision.marks import MARK_KEY, mark_text

#: A timed writer's clock ticks this many times per nominal frame (under 1 ms at 1 frame/s
#: and more; a constant-rate source's frames land on whole frames).
TICKS_PER_FRAME = 1000
#: Audio codecs an MP4/MOV/MKV file can hold as they are.
COPYABLE_AUDIO = frozenset({"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"})


def frame_rate(fps: float) -> Fraction:
    """``fps`` as the small fraction it usually is (29.97 -> 2997/100, 22.13 -> 1350/61)."""
    return Fraction(fps).limit_denominator(1001)


class AudioCopy:
    """The audio track of ``path`` fed into ``output`` up to a given time.

    Raises ``av.FFmpegError`` or ``LookupError`` (no audio) when built.
    """

    def __init__(self, path: str, output) -> None:
        self.input = av.open(path)
        try:
            if not self.input.streams.audio:
                raise LookupError(f"{path} has no audio")
            self.source = self.input.streams.audio[0]
            video = self.input.streams.video
            start = video[0].start_time if video and video[0].start_time else 0
            start_s = float(start * video[0].time_base) if start else 0.0
            self.offset = round(start_s / self.source.time_base) if start_s else 0
            if self.source.codec_context.name in COPYABLE_AUDIO:
                self.encoder = None
                self.stream = output.add_stream_from_template(self.source)
            else:
                self.encoder = output.add_stream("aac", rate=self.source.codec_context.rate)
                self.stream = self.encoder
            self._packets = self.input.demux(self.source)
            self._pending = None
            self.done = False
        except BaseException:
            self.input.close()
            raise

    def _next(self):
        """The next audio packet with a time, or None at the end."""
        if self._pending is not None:
            packet, self._pending = self._pending, None
            return packet
        for packet in self._packets:
            if packet.pts is not None and packet.size:
                return packet
        return None

    def feed(self, output, until: float) -> None:
        """Mux the packets that start before ``until`` seconds of the output."""
        while not self.done:
            packet = self._next()
            if packet is None:
                self.done = True
                break
            pts = packet.pts - self.offset
            if float(pts * self.source.time_base) >= until:
                self._pending = packet
                return
            if self.encoder is None:
                packet.pts = pts
                packet.dts = packet.dts - self.offset if packet.dts is not None else None
                packet.stream = self.stream
                output.mux(packet)
            else:
                for frame in packet.decode():
                    frame.pts = None  # the encoder counts samples from zero
                    output.mux(self.encoder.encode(frame))

    def finish(self, output) -> None:
        if self.encoder is not None:
            output.mux(self.encoder.encode(None))

    def close(self) -> None:
        self.input.close()


class H264Writer:
    """Write BGR frames of ``size`` to ``path`` at ``fps``, with ``audio_from``'s sound.

    Args:
        path: ``.mp4``, ``.m4v``, ``.mov`` or ``.mkv``.
        size: (width, height); an odd side gets one more column or row, a copy of its last
            (yuv420p needs even sides): every pixel of the picture is kept.
        fps: frames per second (nominal when ``timed``).
        audio_from: a media file whose audio track matches these frames in time.
        timed: each frame is shown at the time :meth:`write` gives it (a file's own clock,
            variable frame rate included; a camera's or stream's frames as they come), not
            one ``fps`` period after the last.
        crf, preset: x264's quality (lower is better) and speed.
    """

    def __init__(
        self,
        path,
        size: tuple[int, int],
        fps: float,
        *,
        audio_from: str | None = None,
        timed: bool = False,
        crf: int = 23,
        preset: str = "ultrafast",
    ) -> None:
        self.width, self.height = (max(2, size[0] + size[0] % 2), max(2, size[1] + size[1] % 2))
        self.rate = frame_rate(fps)
        self.output = av.open(
            str(path), "w", container_options={"movflags": "+faststart"} if _is_mp4(path) else {}
        )
        self.output.metadata[MARK_KEY] = mark_text()  # batch leaves such videos out
        self.audio: AudioCopy | None = None
        self.frames = 0
        self._tick = 1 / (self.rate * TICKS_PER_FRAME)  # a timed frame's time unit
        self._last_tick = -1 if timed else None  # timed: the last frame's time in ticks
        self._shown = Fraction(0)  # seconds into the output the frames written so far reach
        try:
            self.stream = self.output.add_stream("libx264", rate=self.rate)
            self.stream.width, self.stream.height = self.width, self.height
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = {"crf": str(crf), "preset": preset}
            if timed:
                self.stream.codec_context.time_base = self._tick
            if audio_from:
                try:
                    self.audio = AudioCopy(audio_from, self.output)
                except (LookupError, av.FFmpegError, ValueError):
                    self.audio = None  # no usable sound: the picture alone
        except BaseException:
            self.output.close()
            raise

    def write(self, image: np.ndarray, seconds: float | None = None) -> None:
        """Encode one BGR image (already of ``size``); when ``timed``, shown ``seconds`` into
        the video."""
        image = np.ascontiguousarray(image[: self.height, : self.width])
        right, below = self.width - image.shape[1], self.height - image.shape[0]
        if right or below:  # an odd side: its last column or row once more
            image = cv2.copyMakeBorder(image, 0, below, 0, right, cv2.BORDER_REPLICATE)
        # OpenCV's BT.601 conversion is ~10x faster than FFmpeg's swscale here
        planes = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        if self._last_tick is None:
            frame.pts, frame.time_base = self.frames, 1 / self.rate
            self._shown = (self.frames + 1) / self.rate
        else:  # in ticks, each frame after the last
            wanted = round(seconds / self._tick) if seconds is not None else self._last_tick + 1
            frame.pts = self._last_tick = max(wanted, self._last_tick + 1)
            frame.time_base = self._tick
            self._shown = frame.pts * self._tick  # the sound up to this frame's start
        self.output.mux(self.stream.encode(frame))
        self.frames += 1
        if self.audio is not None:
            self.audio.feed(self.output, float(self._shown))

    def close(self) -> None:
        """Flush the encoder and finish the file (moov atom first)."""
        try:
            if self.frames:
                self.output.mux(self.stream.encode(None))
            if self.audio is not None and self.frames:  # and the last frame's duration
                end = self._shown + (1 / self.rate if self._last_tick is not None else 0)
                self.audio.feed(self.output, float(end))
                self.audio.finish(self.output)
        finally:
            if self.audio is not None:
                self.audio.close()
            self.output.close()


def _is_mp4(path) -> bool:
    return str(path).lower().endswith((".mp4", ".m4v", ".mov"))
