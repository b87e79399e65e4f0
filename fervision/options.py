"""A stage's options: its factory's keyword parameters, with their annotations, defaults and
a line of help from the docstring; and values (such as command-line text) converted to them."""

from __future__ import annotations

import ast
import inspect
import math
import numbers
import os
import re
from dataclasses import dataclass
from typing import Any

from .errors import FervisionError

NO_DEFAULT = inspect.Parameter.empty
#: Docstring sections that describe parameters (Google and NumPy style).
_SECTIONS = ("Args:", "Arguments:", "Parameters:", "Options:")
_ENTRY = re.compile(r"([\w, ]+?)\s*(?:\([^)]*\))?:(?:\s+(.*))?$")
_SPHINX = re.compile(r":param\s+(?:[\w.\[\], |]+\s+)?(\w+):\s*(.*)")
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)\.(\s|$)")


class OptionError(FervisionError):
    """An option a stage does not accept, or a value that does not convert to its type."""


@dataclass(frozen=True)
class StageOption:
    """One keyword parameter of a stage's factory."""

    name: str
    type: str = ""  # the annotation as written ("int | None"); "" when there is none
    default: Any = NO_DEFAULT
    help: str = ""

    def describe(self) -> str:
        """``name: type = default``, as far as they are known."""
        text = f"{self.name}: {self.type}" if self.type else self.name
        return text if self.default is NO_DEFAULT else f"{text} = {self.default!r}"

    def types(self) -> list[str]:
        """The type names a value may take: from the annotation, else from the default."""
        if self.type:
            text = re.sub(r"^Optional\[(.*)\]$", r"\1 | None", self.type.replace("typing.", ""))
            return [part.strip() for part in text.split("|")]
        if type(self.default) in (bool, int, float, str):
            return [type(self.default).__name__]
        return []

    def convert(self, value):
        """``value`` as this option's type: text is parsed; a number, bool or None must fit
        a plain annotation (``float``, ``int | None``...); anything else is left as it is.

        Raises ValueError when the value fits none of the types the option names.
        """
        choices = self.choices()
        if choices is not None:  # Literal["fast", "slow"]: one of them, as text or itself
            for candidate in (value, guess(value)):
                if candidate in choices:
                    return candidate
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, choices))}")
        if not isinstance(value, str):
            return self._checked(value)
        types = self.types()
        if "None" in types and value.strip().lower() in ("", "none"):
            return None
        known = [name for name in _CONVERTERS if name in types]
        known += [name for name in types if _tuple_items(name) or _list_items(name)]
        if not types or not known:
            if self.text_problem():
                raise ValueError(f"{self.type} cannot be given as text")
            return value
        for name in known:
            try:
                return _convert(name, value)
            except ValueError:
                continue
        raise ValueError(f"{value!r} is not {self.type or known[0]}")

    def choices(self) -> tuple | None:
        """The values a ``Literal[...]`` annotation allows; None for any other."""
        found = re.fullmatch(r"(?:typing\.)?Literal\[(.*)\]", self.type.strip())
        if found is None:
            return None
        try:
            return ast.literal_eval(f"({found[1]},)")
        except (ValueError, SyntaxError):
            return None

    def text_problem(self) -> str | None:
        """Why text (``-O``) cannot give this option: a collection of items it cannot convert
        (``list[dict]``); None when text converts or is taken as it is."""
        types = self.types()
        if any(name in _CONVERTERS or _tuple_items(name) or _list_items(name) for name in types):
            return None
        bad = [name for name in types if re.match(_COLLECTION, name)]
        return f"{bad[0]} cannot be given as text (-O)" if bad else None

    def default_problem(self) -> str | None:
        """Why the default does not fit the option's plain annotation (``flag: bool = "no"``
        runs with a true flag), or None when it fits or is not checked."""
        if self.default is NO_DEFAULT or not self.type:
            return None
        types = set(self.types())
        if not types <= {"bool", "int", "float", "str", "None"}:
            return None
        if isinstance(self.default, str):
            fits = "str" in types
        else:
            try:
                fits = self._checked(self.default) == self.default or self.default is None
            except ValueError:
                fits = False
        return None if fits else f"its default {self.default!r} is not {self.type}"

    def _checked(self, value):
        """A value given as itself (from Python): checked against a plain annotation."""
        types = set(self.types())
        if not types or not types <= {"bool", "int", "float", "str", "None"}:
            return value  # an annotation we do not check (a path, a tuple, an object)
        if value is None and "None" in types:
            return value
        if isinstance(value, bool):
            if "bool" in types:
                return value
        elif isinstance(value, numbers.Integral):
            if "int" in types:
                return int(value)
            if "float" in types:
                return float(value)
        elif isinstance(value, numbers.Real):
            if "float" in types:
                return float(value)
            if "int" in types and float(value).is_integer():
                return int(value)
        raise ValueError(f"{value!r} is not {self.type or ' | '.join(sorted(types))}")


@dataclass(frozen=True)
class OptionSet:
    """Everything a factory accepts: its named options, and whether it takes others too."""

    options: tuple[StageOption, ...]
    takes_any: bool = False  # a ``**kwargs`` factory passes unknown options on

    def convert(self, values: dict, stage: str) -> dict:
        """``values`` checked and converted; a one-line OptionError naming ``stage`` if not."""
        by_name = {option.name: option for option in self.options}
        converted = {}
        for name, value in values.items():
            option = by_name.get(name)
            if option is None and not self.takes_any:
                raise OptionError(f"{stage} has no option {name!r}; {self.accepted()}")
            try:
                converted[name] = option.convert(value) if option else guess(value)
            except ValueError as exc:
                raise OptionError(f"{stage} option {name}: {exc}; {self.accepted()}") from None
        return converted

    def accepted(self) -> str:
        """``it accepts: a: int = 1, b: str = 'x'`` (or that it accepts none)."""
        if not self.options:
            return "it accepts any option" if self.takes_any else "it accepts no options"
        listed = ", ".join(option.describe() for option in self.options)
        return f"it accepts: {listed}" + (", and others" if self.takes_any else "")


def option_set(signature: inspect.Signature, doc: str | None, defaults: dict) -> OptionSet:
    """The options in ``signature`` (keyword parameters), ``defaults`` replacing its own."""
    helps = param_help(doc or "")
    options, takes_any = [], False
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            takes_any = True
        elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            annotation = param.annotation
            if annotation is NO_DEFAULT:
                annotation = ""
            elif not isinstance(annotation, str):
                annotation = inspect.formatannotation(annotation)
            default = defaults.get(param.name, param.default)
            options.append(StageOption(param.name, annotation, default, helps.get(param.name, "")))
    return OptionSet(tuple(options), takes_any)


def param_help(doc: str) -> dict[str, str]:
    """The first sentence describing each parameter in ``doc`` (``Args:`` or ``:param x:``)."""
    found: dict[str, str] = {}
    in_section, indent, last = False, None, []
    for line in doc.splitlines():
        text = line.strip()
        sphinx = _SPHINX.match(text)
        if sphinx:
            found[sphinx[1]] = sphinx[2]
            continue
        if text in _SECTIONS:
            in_section, indent, last = True, None, []
            continue
        if not in_section:
            continue
        margin = len(line) - len(line.lstrip())
        indent = margin if indent is None else indent
        entry = _ENTRY.match(text) if margin == indent else None
        if not text or margin < indent or (margin == indent and entry is None):
            in_section = False
        elif entry:
            last = [name.strip() for name in entry[1].split(",")]
            found.update({name: entry[2] or "" for name in last})
        else:
            found.update({name: f"{found[name]} {text}".strip() for name in last})
    return {name: _first_sentence(text) for name, text in found.items()}


def guess(value):
    """Text as the Python literal it spells (``5``, ``0.5``, ``True``, ``None``), else as text."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def _first_sentence(text: str) -> str:
    end = _SENTENCE_END.search(text)
    return text[: end.start() + 1] if end else text


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _path(text: str) -> str:
    """An absolute path, so a worker in another folder (a Ray actor) finds the same file."""
    return os.path.abspath(os.path.expanduser(text))


#: How text becomes each type an annotation may name, in the order they are tried.
_CONVERTERS = {
    "bool": _bool,
    "int": int,
    "float": float,
    "os.PathLike": _path,
    "PathLike": _path,
    "Path": _path,
    "str": str,
}


def _tuple_items(name: str) -> list[str] | None:
    """The item types of ``tuple[int, int]`` (a fixed-length tuple of known types), else None."""
    match = re.fullmatch(r"(?:tuple|Tuple)\[(.+)\]", name)
    items = [item.strip() for item in match[1].split(",")] if match else []
    return items if items and all(item in _CONVERTERS for item in items) else None


#: Annotations of collections: text converts only to those of one known item type.
_COLLECTION = (
    r"(?:typing\.|collections\.abc\.)?"
    r"(?:list|List|tuple|Tuple|set|Set|frozenset|Sequence|Iterable|Mapping|dict|Dict)\b"
)
_LIST = re.compile(
    r"(?:typing\.|collections\.abc\.)?(?:(?:list|List|Sequence|Iterable)\[(\w+)\]"
    r"|(?:tuple|Tuple)\[(\w+),\s*\.\.\.\])"
)


def _list_items(name: str) -> str | None:
    """The item type of ``list[str]`` or ``tuple[int, ...]`` (a known one), else None."""
    match = _LIST.fullmatch(name)
    item = match and (match[1] or match[2])
    return item if item in _CONVERTERS else None


def _convert(name: str, text: str):
    """``text`` as the type ``name``; a tuple is written ``30,30`` or ``(30, 30)`` (numbers
    also ``30x30``), a list ``a,b,c`` (or ``[a, b, c]``; nothing for none)."""
    item = _list_items(name)
    if item is not None:
        inner = text.strip().strip("()[]").strip()
        values = [_CONVERTERS[item](part) for part in re.split(r"\s*,\s*", inner)] if inner else []
        return tuple(values) if name.startswith(("tuple", "Tuple")) else values
    items = _tuple_items(name)
    if items is None:
        return _CONVERTERS[name](text)
    numbers = all(item in ("int", "float") for item in items)
    parts = re.split(r"\s*[,x]\s*" if numbers else r"\s*,\s*", text.strip().strip("()[]").strip())
    if len(parts) != len(items):
        raise ValueError(f"{text!r} is not {len(items)} values")
    return tuple(_CONVERTERS[item](part) for item, part in zip(items, parts))


def require_between(stage: str, low: float, high: float, **values: float) -> None:
    """A one-line error naming the first of ``values`` not a finite number from low to high."""
    for name, value in values.items():
        if not (math.isfinite(value) and low <= value <= high):
            limits = f"{low:g} or more" if high == math.inf else f"from {low:g} to {high:g}"
            raise OptionError(f"{stage} {name} must be a finite number, {limits}, not {value}")


def require_non_negative(stage: str, **values: float) -> None:
    """A one-line error naming the first of ``values`` that is negative or not a number."""
    require_between(stage, 0, math.inf, **values)
