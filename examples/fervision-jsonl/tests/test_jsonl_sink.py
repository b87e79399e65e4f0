"""The jsonl sink passes fervision's conformance kit and writes one JSON object per frame."""

import json

from fervision.plugins import get_registry
from fervision.testing import check_sink


def test_jsonl_sink_passes_the_kit_and_writes_a_line_per_frame(tmp_path):
    path = tmp_path / "faces.jsonl"
    frames = check_sink(get_registry().build("sink", "jsonl", path=str(path)))
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["frame"] for r in records] == [f.index for f in frames]
    assert records[0]["faces"][0]["label"] == "happy" and records[2]["faces"] == []
    assert records[0]["faces"][0]["box"] == list(frames[0].faces[0].box)
