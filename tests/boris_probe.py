"""Run in BORIS's own environment (boris-behav-obs): open a project with BORIS's code, check
its integrity and compute its time budget; print both as JSON.

Usage: QT_QPA_PLATFORM=offscreen BORIS_PYTHON boris_probe.py PROJECT.boris
"""

import json
import sys
from decimal import Decimal

try:  # BORIS's dialogs need an application object: PySide6 from BORIS 9 on, PyQt5 before
    from PySide6.QtWidgets import QApplication
except ImportError:
    from PyQt5.QtWidgets import QApplication

try:
    from boris import config as cfg
    from boris import db_functions, project_functions, time_budget_functions
except ImportError as exc:  # pragma: no cover - a broken BORIS install
    sys.exit(f"cannot import BORIS: {exc}")


def main(path: str) -> None:
    app = QApplication.instance() or QApplication([])  # noqa: F841 - kept alive
    _, _, pj, message = project_functions.open_project_json(path)
    if "error" in pj:
        print(json.dumps({"error": pj["error"]}))
        return
    integrity = project_functions.check_project_integrity(pj, cfg.HHMMSS, path)
    observations = list(pj[cfg.OBSERVATIONS])
    subjects = [s["name"] for s in pj[cfg.SUBJECTS].values()]
    behaviors = [b[cfg.BEHAVIOR_CODE] for b in pj[cfg.ETHOGRAM].values()]
    cursor = db_functions.load_events_in_db(pj, subjects, observations, behaviors)
    lengths = [
        value
        for o in pj[cfg.OBSERVATIONS].values()
        for value in o.get(cfg.MEDIA_INFO, {}).get(cfg.LENGTH, {}).values()
    ]
    length = Decimal(str(max(lengths, default=0)))
    parameters = {
        cfg.SELECTED_SUBJECTS: subjects,
        cfg.SELECTED_BEHAVIORS: behaviors,
        cfg.INCLUDE_MODIFIERS: False,
        cfg.EXCLUDE_BEHAVIORS: True,
        cfg.EXCLUDED_BEHAVIORS: [],
        cfg.TIME_INTERVAL: cfg.TIME_FULL_OBS,
        cfg.START_TIME: Decimal("0"),
        cfg.END_TIME: length,
    }
    rows, _ = time_budget_functions.time_budget_analysis(
        pj[cfg.ETHOGRAM], cursor, observations, parameters
    )
    budget = {}
    for row in rows:
        duration = row["duration"]
        if isinstance(duration, (int, float, Decimal)):
            budget.setdefault(row["subject"], {})[row["behavior"]] = float(duration)
    print(json.dumps({"integrity": integrity, "message": message, "time_budget": budget}))


if __name__ == "__main__":
    main(sys.argv[1])
