"""A complete third-party fervision plugin: the ``jsonl`` sink.

Install it (``pip install ./examples/fervision-jsonl``), then
``fervision run --source sample --sink jsonl:faces.jsonl``. ``tests/`` checks it with
fervision's conformance kit (``fervision.testing.check_sink``).
"""

import json

from fervision import hookimpl
from fervision.outputs import check_writable


class JsonLinesSink:
    """One JSON object per frame: index, timestamp and each face with its emotion.

    Args:
        path: the file to write.
    """

    def __init__(self, path="faces.jsonl"):
        self.path = check_writable(path, "JSON-lines")
        self._file = None

    def open(self, info, labels):
        self._file = open(self.path, "w", encoding="utf-8")

    def write(self, frame):
        faces = [
            {
                "id": face.track_id,
                "box": [int(v) for v in face.box],
                "label": face.label,
                "confidence": face.confidence,
                "probs": dict(zip(frame.labels, map(float, face.smoothed)))
                if face.smoothed is not None
                else None,
            }
            for face in frame.faces
        ]
        record = {"frame": frame.index, "timestamp_s": round(frame.timestamp, 3), "faces": faces}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


@hookimpl
def register_stages(registry):
    registry.add("sink", "jsonl", JsonLinesSink, help="JSON lines, one object per frame")
