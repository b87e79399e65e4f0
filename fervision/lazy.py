"""Stage factories named ``"package.module:Name"``: imported when first built, described from
their source without importing it (so listing options never loads OpenCV or a model)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from functools import cache
from pathlib import Path

P = inspect.Parameter


class LazyFactory:
    """Calls ``package.module:Name`` (a class or function), importing it on the first call."""

    def __init__(self, ref: str) -> None:
        module, _, name = ref.partition(":")
        if not module or not name:
            raise ValueError(f"a lazy factory is 'package.module:Name', not {ref!r}")
        self.ref, self.module, self.name = ref, module, name

    def __call__(self, *args, **options):
        return self.target()(*args, **options)

    def __repr__(self) -> str:
        return f"LazyFactory({self.ref!r})"

    def target(self):
        """The class or function itself (imported now)."""
        return getattr(importlib.import_module(self.module), self.name)

    def describe(self) -> tuple[inspect.Signature, str]:
        """The factory's signature and docstring, read from its source when it has one."""
        found = _from_source(self.module, self.name)
        return found if found is not None else describe(self.target())


def describe(factory) -> tuple[inspect.Signature, str]:
    """Any factory's signature and docstring (a class's together with its ``__init__``'s)."""
    if isinstance(factory, LazyFactory):
        return factory.describe()
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without one: it takes whatever it is given
        signature = inspect.Signature([P("options", P.VAR_KEYWORD)])
    doc = inspect.getdoc(factory) or ""
    if inspect.isclass(factory) and "__init__" in vars(factory):
        doc += "\n" + inspect.cleandoc(vars(factory)["__init__"].__doc__ or "")
    return signature, doc


@cache
def _from_source(module: str, name: str) -> tuple[inspect.Signature, str] | None:
    """``name``'s signature and docstring from ``module``'s file; None if it is not a plain
    top-level function, or a class defining its own ``__init__`` (or none, without bases)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    node = next(
        (n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == name),
        None,
    )
    constants = _constants(tree)
    if isinstance(node, ast.FunctionDef):
        return _signature(node.args, False, constants), ast.get_docstring(node) or ""
    if not isinstance(node, ast.ClassDef):
        return None
    methods = (n for n in node.body if isinstance(n, ast.FunctionDef))
    init = next((n for n in methods if n.name == "__init__"), None)
    doc = ast.get_docstring(node) or ""
    if init is None:
        return (inspect.Signature(), doc) if not node.bases else None
    return _signature(init.args, True, constants), f"{doc}\n{ast.get_docstring(init) or ''}"


def _constants(tree: ast.Module) -> dict[str, object]:
    """The module's top-level ``NAME = literal`` assignments (defaults often name one)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            found[target.id] = _value(value, {})
    return found


def _signature(args: ast.arguments, skip_self: bool, constants: dict) -> inspect.Signature:
    positional = [(a, P.POSITIONAL_ONLY) for a in args.posonlyargs]
    positional += [(a, P.POSITIONAL_OR_KEYWORD) for a in args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = [_parameter(a, kind, d, constants) for (a, kind), d in zip(positional, defaults)]
    params = params[1:] if skip_self else params
    if args.vararg:
        params.append(P(args.vararg.arg, P.VAR_POSITIONAL))
    keyword = zip(args.kwonlyargs, args.kw_defaults)
    params += [_parameter(a, P.KEYWORD_ONLY, d, constants) for a, d in keyword]
    if args.kwarg:
        params.append(P(args.kwarg.arg, P.VAR_KEYWORD))
    return inspect.Signature(params)


def _parameter(arg: ast.arg, kind, default: ast.expr | None, constants: dict) -> inspect.Parameter:
    annotation = ast.unparse(arg.annotation) if arg.annotation is not None else P.empty
    return P(arg.arg, kind, default=_value(default, constants), annotation=annotation)


def _value(node: ast.expr | None, constants: dict):
    """A default as its value when it is a literal or names a module constant, else as its
    source text."""
    if node is None:
        return P.empty
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError):
        return _Source(ast.unparse(node))


class _Source(str):
    """A default that is not a literal (``DEFAULT_FPS``): shown as it is written."""

    def __repr__(self) -> str:
        return str(self)
