"""Times as people write them: seconds (``90.5``), ``MM:SS(.s)`` or ``HH:MM:SS(.s)``."""

from __future__ import annotations

import math

from .options import OptionError

FORMS = "seconds, MM:SS(.s) or HH:MM:SS(.s)"


def seconds(value, what: str = "time") -> float:
    """``value`` (a number, or text in one of :data:`FORMS`) in seconds; a one-line
    OptionError naming ``what`` when it is none of them or negative."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        total = float(value)
    else:
        parts = str(value).strip().split(":")
        total = 0.0
        try:
            if len(parts) > 3 or any(p.strip() == "" for p in parts):
                raise ValueError(value)
            for i, part in enumerate(parts):
                number = float(part)
                if i and not 0 <= number < 60:  # minutes and seconds under 60
                    raise ValueError(value)
                total = total * 60 + number
        except ValueError:
            raise OptionError(f"{what} {value!r} is not a time ({FORMS})") from None
    if not math.isfinite(total) or total < 0:
        raise OptionError(f"{what} {value!r} is not a time ({FORMS}) from 0 on")
    return total
