"""Checking a component's arguments when they are constructed, against their annotations.

Each ``*Args`` dataclass derives from ComponentArgs: at construction every field is checked
against its type (strictly: no ``True`` for a number, no string for a flag), configuration
models may be given as mappings (they are validated into the model), ``Annotated`` types apply
their validators (``DnsLabel``, ``Labels``...), and the names the component will derive are
checked against their kind's limit. Every problem is reported at once, named
``<Args>.<field>[.<key>...]``.

``pulumi.Output`` values are accepted only where the annotation says so (a service account
name, which only goes into the objects): everything else is read while the component is
built (names, labels, rules), so it must be a plain value.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

import pulumi
from pydantic import BaseModel, TypeAdapter, ValidationError

from prodstack.config.base import Violation
from prodstack.config.types import scalar_kinds, shown, strict_scalar
from prodstack.kinds import Kind

Path = tuple[str | int, ...]
Problem = tuple[Path, str]
PLAIN = (
    "must be a plain value, not a pulumi Output: the component reads it while it is "
    "constructed (it names objects, sets labels or decides what to build); resolve it in the "
    "program (from config, or a value you know)"
)


class ArgsError(ValueError):
    """A component's arguments are invalid; ``problems`` lists ``(key, message)``, each key
    ``<Args>.<field>...``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.problems))


@dataclasses.dataclass(frozen=True)
class DerivedName:
    """An object name a component derives from its arguments (``field``: the argument), what
    it names, and the longest name that may have."""

    field: str
    what: str
    name: str
    limit: int


class ComponentArgs:
    """Base of the components' argument dataclasses: checked at construction.

    A subclass's own ``__post_init__`` (its rules across fields) calls this one first; a
    ValueError it raises (``"<Args>.<field>: why"``) becomes an ArgsError too."""

    def __post_init__(self) -> None:
        check_args(self)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__post_init__")
        if own is None:
            return

        @functools.wraps(own)
        def post_init(self: ComponentArgs) -> None:
            try:
                own(self)
            except ArgsError:
                raise
            except ValueError as exc:
                raise _args_error(type(self).__name__, str(exc)) from None

        cls.__post_init__ = post_init  # type: ignore[method-assign]

    def derived_names(self) -> Iterable[DerivedName]:
        """The object names the component derives, checked against their kind's limit."""
        return ()


def _args_error(owner: str, text: str) -> ArgsError:
    key, separator, message = text.partition(": ")
    if separator and (key == owner or key.startswith(f"{owner}.")):
        return ArgsError([(key, message)])
    return ArgsError([(owner, text)])


def check_args(args: ComponentArgs) -> None:
    """Check every field of ``args`` against its annotation (converting mappings into the
    configuration models they stand for), then its derived names; raise ArgsError."""
    owner = type(args).__name__
    problems: list[Problem] = []
    for field in dataclasses.fields(args):  # type: ignore[arg-type]
        value = getattr(args, field.name)
        checked, found = _check(value, _hints(type(args))[field.name], (field.name,))
        problems += found
        if not found and checked is not value:
            object.__setattr__(args, field.name, checked)
    if not problems:
        too_long: dict[str, list[str]] = {}
        for derived in args.derived_names():
            if len(derived.name) > derived.limit:
                too_long.setdefault(derived.field, []).append(
                    f"{derived.what} {shown(derived.name, 300)} ({len(derived.name)} > "
                    f"{derived.limit})"
                )
        problems += [
            (
                (field,),
                f"derives {', '.join(names)} characters, beyond the limit of the kind; choose "
                "a shorter name",
            )
            for field, names in too_long.items()
        ]
    if problems:
        raise ArgsError([(_key(owner, path), message) for path, message in problems])


def refuse_violations(owner: str, prefix: Path, violations: Iterable[Violation]) -> None:
    """Raise one ArgsError naming every violation of a configuration's cross-field rules,
    each at ``<owner>.<prefix>.<its path>``; nothing when there is none."""
    problems = [(_key(owner, (*prefix, *v.path)), v.message) for v in violations]
    if problems:
        raise ArgsError(problems)


def _key(owner: str, path: Path) -> str:
    """``CanaryAppArgs.app.canary.steps[0]`` for ``('app', 'canary', 'steps', 0)``."""
    return owner + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return _HINTS[cls]


def _check(value: Any, annotation: Any, path: Path) -> tuple[Any, list[Problem]]:
    """``(value as the field holds it, problems)``."""
    origin = typing.get_origin(annotation)
    if isinstance(value, pulumi.Output) and not _admits_output(annotation):
        return value, [(path, PLAIN)]
    if origin is typing.Annotated:
        return _check_annotated(value, annotation, path)
    if origin in (Union, types.UnionType):
        return _check_union(value, typing.get_args(annotation), path)
    if annotation is Any:
        return value, []
    if annotation is type(None):
        return value, [] if value is None else [(path, f"must be None, not {_what(value)}")]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _check_model(value, annotation, path)
    if annotation in (str, int, float, bool):
        return _check_scalar(value, annotation, path)
    if origin in (Sequence, list, tuple) or annotation in (Sequence, list, tuple):
        return _check_sequence(value, annotation, path)
    if origin in (Mapping, dict) or annotation in (Mapping, dict):
        return _check_mapping(value, annotation, path)
    if typing.is_typeddict(annotation):
        return _check_typed_dict(value, annotation, path)
    if origin is pulumi.Output or annotation is pulumi.Output:
        ok = isinstance(value, pulumi.Output)
        return value, [] if ok else [(path, f"must be a pulumi Output, not {_what(value)}")]
    if getattr(annotation, "_is_protocol", False):
        return _check_protocol(value, annotation, path)
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return value, []
        return value, [(path, f"must be {_a(annotation.__name__)}, not {_what(value)}")]
    return value, []  # pragma: no cover - every annotation of the Args is one of the above


def _admits_output(annotation: Any) -> bool:
    if annotation is pulumi.Output or typing.get_origin(annotation) is pulumi.Output:
        return True
    return any(_admits_output(a) for a in typing.get_args(annotation))


def _a(name: str) -> str:
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def _what(value: Any) -> str:
    """A value, shortly: its type and (for a scalar) the value."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return shown(value)
    return _a(type(value).__name__)


def _check_annotated(value: Any, annotation: Any, path: Path) -> tuple[Any, list[Problem]]:
    base = typing.get_args(annotation)[0]
    checked, found = _check(value, base, path)
    if found:
        return checked, found
    try:
        return _adapter(annotation).validate_python(checked), []
    except ValidationError as exc:
        return checked, _from_validation(exc, path)


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    """One TypeAdapter per annotation (building one takes a millisecond)."""
    cached = _ADAPTERS.get(id(annotation))
    if cached is None or cached[0] is not annotation:
        cached = (annotation, TypeAdapter(annotation))
        _ADAPTERS[id(annotation)] = cached
    return cached[1]


def _check_union(value: Any, members: Sequence[Any], path: Path) -> tuple[Any, list[Problem]]:
    if value is None and type(None) in members:
        return value, []
    candidates = [m for m in members if m is not type(None)]
    attempts = [_check(value, member, path) for member in candidates]
    for checked, found in attempts:
        if not found:
            return checked, []
    # The member the value is meant for (a model given as a mapping, a string for a checked
    # string type) says most.
    for member, (checked, found) in zip(candidates, attempts, strict=True):
        base = _base(member)
        is_model = isinstance(base, type) and issubclass(base, BaseModel)
        if (is_model and isinstance(value, Mapping)) or (
            base in (str, int, float) and type(value) is base
        ):
            return checked, found
    names = " or ".join(_describe(m) for m in members)
    if len(attempts) == 1:
        return attempts[0]
    return value, [(path, f"must be {names}, not {_what(value)}")]


def _base(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return _base(typing.get_args(annotation)[0])
    return annotation


def _describe(annotation: Any) -> str:
    if annotation is type(None):
        return "None"
    if typing.get_origin(annotation) is typing.Annotated:
        return _describe(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation) or annotation
    return getattr(origin, "__name__", str(origin))


def _check_model(value: Any, model: type[BaseModel], path: Path) -> tuple[Any, list[Problem]]:
    if isinstance(value, model):
        return value, []
    if not isinstance(value, Mapping):
        return value, [
            (path, f"must be {_a(model.__name__)} (or a mapping of its keys), not {_what(value)}")
        ]
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        return value, _from_validation(exc, path)


def _from_validation(error: ValidationError, path: Path) -> list[Problem]:
    from prodstack.config.base import RULE_ERROR

    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = path + tuple(p for p in item["loc"] if isinstance(p, int) or "[" not in p)
        if item["type"] == RULE_ERROR:
            ctx = item.get("ctx") or {}
            problems += [(loc + tuple(sub), message) for sub, message in ctx["violations"]]
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append((loc, message))
    return problems


def _check_scalar(value: Any, annotation: type, path: Path) -> tuple[Any, list[Problem]]:
    try:
        strict_scalar(value, scalar_kinds(annotation))
    except ValueError as exc:
        return value, [(path, str(exc))]
    ok = isinstance(value, annotation) or (annotation is float and isinstance(value, int))
    if not ok or (annotation is not bool and isinstance(value, bool)):
        return value, [(path, f"must be {_a(annotation.__name__)}, not {_what(value)}")]
    return value, []


def _check_sequence(value: Any, annotation: Any, path: Path) -> tuple[Any, list[Problem]]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        return value, [(path, f"must be a list or tuple, not {_what(value)}")]
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    if not args:
        return value, []
    items: list[Any] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        checked, found = _check(item, args[0], (*path, index))
        items.append(checked)
        problems += found
    if problems or all(a is b for a, b in zip(items, value, strict=True)):
        return value, problems
    return tuple(items), []


def _check_mapping(value: Any, annotation: Any, path: Path) -> tuple[Any, list[Problem]]:
    if not isinstance(value, Mapping):
        return value, [(path, f"must be a mapping, not {_what(value)}")]
    args = typing.get_args(annotation)
    problems: list[Problem] = []
    for key, item in value.items() if args else ():
        problems += _check(key, args[0], (*path, str(key)))[1]
        problems += _check(item, args[1], (*path, str(key)))[1]
    return value, problems


def _check_typed_dict(value: Any, annotation: Any, path: Path) -> tuple[Any, list[Problem]]:
    if not isinstance(value, Mapping):
        return value, [(path, f"must be a mapping, not {_what(value)}")]
    allowed = set(typing.get_type_hints(annotation))
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        return value, [(path, f"unknown keys {unknown} (allowed: {', '.join(sorted(allowed))})")]
    return value, []


def _check_protocol(value: Any, protocol: type, path: Path) -> tuple[Any, list[Problem]]:
    members = [name for name in vars(protocol) if not name.startswith("_")]
    missing = [name for name in members if not hasattr(value, name)]
    if missing:
        return value, [
            (
                path,
                f"must be {_a(protocol.__name__)} (it has no {', '.join(missing)}), "
                f"not {_what(value)}",
            )
        ]
    return value, []


def names_of(field: str, items: Iterable[tuple[Kind, str]]) -> Iterator[DerivedName]:
    """``DerivedName`` for each ``(kind, name)`` that ``field`` makes."""
    for kind, name in items:
        yield DerivedName(field, kind.kind, name, kind.name_limit)
