"""CSV cells safe to open in a spreadsheet: text it would read as a formula gets a leading ``'``.

Every CSV fervision writes goes through :func:`writer` or :class:`DictWriter`; every CSV of
fervision's it reads back goes through :func:`reader` or :class:`DictReader`, which give the
original text again. A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return (OWASP's list), after any leading quotes, gets one more ``'`` in front; numbers, such
as a valence of ``-0.2500``, are left as they are. Reading takes one ``'`` off exactly those
cells, so any text comes back as it was, one that starts with ``'`` included.

Example:
    >>> safe_cell('=HYPERLINK("http:evil","x")')
    '\\'=HYPERLINK("http:evil","x")'
    >>> safe_cell("-0.25"), original("'=1+2")
    ('-0.25', '=1+2')
"""

from __future__ import annotations

import csv
import re

#: Characters a spreadsheet starts a formula (or a cell it evaluates) with.
FORMULA_STARTS = "=+-@\t\r"
_FORMULA = re.compile(r"'*[=+\-@\t\r]")  # after any leading quotes
_QUOTED = re.compile(r"'+[=+\-@\t\r]")  # what safe_cell wrote
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value):
    """``value`` as a spreadsheet shows it as text: formula-like text gets a leading ``'``."""
    if isinstance(value, str) and _FORMULA.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def original(cell: str) -> str:
    """The text :func:`safe_cell` was given for ``cell`` (read from fervision's CSV)."""
    return cell[1:] if _QUOTED.match(cell) else cell


def safe_row(row) -> list:
    """Every cell of ``row`` made safe."""
    return [safe_cell(value) for value in row]


class _Writer:
    """A :func:`csv.writer` whose rows are made safe first."""

    def __init__(self, out):
        self._out = out

    def writerow(self, row):
        return self._out.writerow(safe_row(row))

    def writerows(self, rows) -> None:
        self._out.writerows(safe_row(row) for row in rows)


def writer(f, **options) -> _Writer:
    """A CSV writer on ``f`` (as :func:`csv.writer`) that writes every cell safe."""
    return _Writer(csv.writer(f, **options))


class DictWriter(csv.DictWriter):
    """:class:`csv.DictWriter` that writes every value (and the header) safe."""

    def writerow(self, rowdict):
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts) -> None:
        for row in rowdicts:
            self.writerow(row)


def reader(f, **options) -> _Reader:
    """A CSV reader on ``f`` (as :func:`csv.reader`) giving each cell's original text."""
    return _Reader(csv.reader(f, **options))


class DictReader(csv.DictReader):
    """:class:`csv.DictReader` giving each cell's (and column name's) original text."""

    def __init__(self, f, *args, **options):
        super().__init__(f, *args, **options)
        self.reader = _Reader(self.reader)


class _Reader:
    """Wraps a :func:`csv.reader`: rows with each cell's original text; ``line_num`` kept."""

    def __init__(self, rows):
        self._rows = rows

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        return [original(cell) for cell in next(self._rows)]

    @property
    def line_num(self) -> int:
        return self._rows.line_num
