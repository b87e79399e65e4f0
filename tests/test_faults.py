"""Every case of ``benchmarks/faults.py``, run for real: what the user gets from each fault.

The cases run the real command in subprocesses (a full tmpfs under the CSV, an MJPEG
server on 127.0.0.1 stopped mid-run, a batch worker killed with SIGKILL, odd images...).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import faults  # noqa: E402


@pytest.mark.parametrize("name", list(faults.CASES))
def test_fault_is_handled(name, tmp_path):
    outcome = faults.run_case(name, tmp_path)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert outcome.ok, outcome.got


def test_a_mishandled_fault_is_reported(tmp_path, monkeypatch):
    # the checks can fail: a run that exits 0 where an error line is due is caught
    monkeypatch.setitem(
        faults.CASES, "no error", lambda work: faults.error_line(faults.fervision("--version"))
    )
    outcome = faults.run_case("no error", tmp_path)
    assert not outcome.ok and "exit 0, not 1" in outcome.got
