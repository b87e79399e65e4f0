"""Write your own stage: a plain object passed to the pipeline, or registered by name.

python examples/custom_stage.py
"""

from fervision import Pipeline, hookimpl, register_plugin


class HappinessAlarm:
    """A sink that prints whenever someone has been happy with high confidence."""

    def __init__(self, threshold="0.8"):
        self.threshold = float(threshold)

    def open(self, info, labels):
        print(f"watching {info.source_id} ({info.width}x{info.height} at {info.fps:.0f} fps)")

    def write(self, frame):
        for face in frame.faces:
            if face.label == "happy" and face.confidence >= self.threshold:
                print(f"{frame.timestamp:5.2f}s: face #{face.track_id} is happy")

    def close(self):
        print("done")


# 1. Pass the object directly.
Pipeline("sample", sinks=[HappinessAlarm(0.5)]).run(max_frames=30)


# 2. Or register it under a name, as an installed plugin would through its entry point.
class MyPlugin:
    @hookimpl
    def register_stages(self, registry):
        registry.add("sink", "happy-alarm", HappinessAlarm)


register_plugin(MyPlugin(), name="my-plugin")
Pipeline("sample", sinks=["happy-alarm:0.5"]).run(max_frames=30)
