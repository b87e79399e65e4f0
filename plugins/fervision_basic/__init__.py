"""fervision's light stages: the trackers, the smoothers and the CSV sink."""

from fervision import hookimpl


@hookimpl
def register_stages(registry):
    from .bytetrack import ByteTracker
    from .csv_sink import CsvSink
    from .smoothers import EmaSmoother, PassThroughSmoother, VoteSmoother
    from .tracker import IouTracker

    registry.add(
        "tracker", "bytetrack", ByteTracker, help="Kalman boxes, two-stage matching, stable ids"
    )
    registry.add("tracker", "iou", IouTracker, help="IoU + motion tracker with scene-cut reset")
    registry.add("smoother", "ema", EmaSmoother, help="per-track EMA with label hysteresis")
    registry.add("smoother", "vote", VoteSmoother, help="per-track window majority vote")
    registry.add("smoother", "none", PassThroughSmoother, help="raw classifier output")
    registry.add("sink", "csv", CsvSink, help="long-format emotion CSV (csv:PATH)")
