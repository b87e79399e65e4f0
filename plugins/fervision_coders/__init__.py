"""fervision's round trip with the coders' tools: ELAN and BORIS files out, agreement back in.

Sinks ``eaf``, ``boris`` and ``states`` (``fervision run --eaf/--boris/--states``) write the
run's smoothed labels as an ELAN file, a BORIS project or a state log; ``fervision agree``
compares a coder's corrected file with the run. From Python::

    from fervision_coders import agree, read_run_csv, write_eaf
    write_eaf(read_run_csv("run.csv"), "run.eaf")
    print(agree("coded.eaf", "run.csv", tier="coder").kappa)
"""

import importlib

from fervision import hookimpl

#: The Python API: each name and the module it comes from, imported on first use.
_NAMES = {
    "Agreement": "agreement",
    "agree": "agreement",
    "compare": "agreement",
    "format_agreement": "agreement",
    "write_boris": "boris",
    "Coding": "coding",
    "Segment": "coding",
    "read_events": "coding",
    "read_run_csv": "coding",
    "write_eaf": "eaf",
    "write_states": "states",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)


@hookimpl
def register_stages(registry):
    add = registry.add
    add("sink", "eaf", f"{__name__}.sinks:EafSink", help="an ELAN file (eaf:OUT.eaf)")
    add("sink", "boris", f"{__name__}.sinks:BorisSink", help="a BORIS project (boris:OUT.boris)")
    add("sink", "states", f"{__name__}.sinks:StatesSink", help="a state log (states:OUT.csv)")


@hookimpl
def register_commands(cli):
    from .commands import agree as agree_command

    cli.add_command(agree_command)
