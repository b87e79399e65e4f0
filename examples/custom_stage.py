"""Write your own stage: a plain object passed to the pipeline, or registered by name.

python examples/custom_stage.py
"""

from fervision import Pipeline, hookimpl, register_plugin


class EmotionChanges:
    """A sink that prints each face's emotion when it first shows and whenever it changes.

    Args:
        min_confidence: least confidence (0 to 1) of a label worth printing.
    """

    def __init__(self, min_confidence: float = 0.0):
        self.min_confidence = min_confidence
        self.shown = {}  # face id -> label printed last

    def open(self, info, labels):
        print(f"watching {info.source_id} ({info.width}x{info.height} at {info.fps:.0f} fps)")

    def write(self, frame):
        for face in frame.faces:
            if face.track_id is None or face.label is None:
                continue
            if (
                face.confidence >= self.min_confidence
                and self.shown.get(face.track_id) != face.label
            ):
                self.shown[face.track_id] = face.label
                print(
                    f"{frame.timestamp:5.2f}s: face #{face.track_id} {face.label} "
                    f"{face.confidence:.0%}"
                )

    def close(self):
        print(f"done: {len(self.shown)} face(s) seen")


# 1. Pass the object directly.
Pipeline("sample", sinks=[EmotionChanges()]).run(max_frames=60)


# 2. Or register it under a name, as an installed plugin would through its entry point.
class MyPlugin:
    @hookimpl
    def register_stages(self, registry):
        registry.add("sink", "emotion-changes", EmotionChanges)


register_plugin(MyPlugin(), name="my-plugin")
Pipeline("sample", sinks=["emotion-changes:0.5"]).run(max_frames=60)
