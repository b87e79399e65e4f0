"""fervision's light stages: the trackers, the smoothers and the CSV sink.

Each is imported when first built, so listing them (``fervision plugins -v``) stays fast.
"""

from fervision import hookimpl


@hookimpl
def register_stages(registry):
    add = registry.add
    add(
        "tracker",
        "bytetrack",
        f"{__name__}.bytetrack:ByteTracker",
        help="Kalman boxes, two-stage matching, stable ids",
    )
    add("tracker", "iou", f"{__name__}.tracker:IouTracker", help="IoU + motion, scene-cut reset")
    add("tracker", "none", f"{__name__}.tracker:NoTracker", help="no tracking: faces get no id")
    add("smoother", "ema", f"{__name__}.smoothers:EmaSmoother", help="per-track EMA, calm label")
    add("smoother", "vote", f"{__name__}.smoothers:VoteSmoother", help="per-track majority vote")
    add("smoother", "none", f"{__name__}.smoothers:PassThroughSmoother", help="raw probabilities")
    add("sink", "csv", f"{__name__}.csv_sink:CsvSink", help="long-format emotion CSV (csv:PATH)")
