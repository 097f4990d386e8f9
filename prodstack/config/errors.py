"""Turning validation failures into messages that name the offending key by its full path."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any, Union

import pulumi
from pydantic import BaseModel, ValidationError

from prodstack.config.base import RULE_ERROR

Path = Sequence[str | int]


class ConfigError(pulumi.RunError):
    """Stack configuration is invalid. ``problems`` holds one ``(key, message)`` per error.

    It is a ``pulumi.RunError`` so that ``pulumi up`` prints the message without a traceback.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {key}: {message}" for key, message in self.problems)
        super().__init__(f"invalid stack configuration ({len(self.problems)} problem(s)):\n{lines}")


def format_path(namespace: str, path: Path) -> str:
    """``('app', 'canary', 'steps', 2, 'weight')`` -> ``prodstack:app.canary.steps[2].weight``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return f"{namespace}:{text}" if text else namespace


def problems_from(
    error: ValidationError, namespace: str, root: type[BaseModel], prefix: Path = ()
) -> list[tuple[str, str]]:
    """One ``(key, message)`` per pydantic error, rule violations expanded to their own keys."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    items = error.errors(include_url=False)
    # A list whose items failed also reports itself "too short": the items' errors say it all.
    failed_item_parents = {
        tuple(i["loc"][:position])
        for i in items
        for position, part in enumerate(i["loc"])
        if isinstance(part, int)
    }
    for item in items:
        if item["type"] == "too_short" and tuple(item["loc"]) in failed_item_parents:
            continue
        # Union members show up as loc parts such as "function-after[...]": not keys, drop them.
        loc = tuple(prefix) + tuple(
            part for part in item["loc"] if isinstance(part, int) or "[" not in part
        )
        kind = item["type"]
        ctx = item.get("ctx") or {}
        if kind == RULE_ERROR:
            for sub_path, message in ctx["violations"]:
                problems.append((format_path(namespace, loc + tuple(sub_path)), message))
            continue
        key = format_path(namespace, loc)
        if key not in seen:  # one message per key: the first union member's is the telling one
            seen.add(key)
            problems.append((key, _message(kind, item, root, loc[len(prefix) :])))
    return problems


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""`` when none is close."""
    hint = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _message(kind: str, item: Any, root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        key = str(loc[-1])
        return f"unknown key{did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return "required key is missing"
    message = str(item["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model = _model_at(root, loc)
    if model is None:
        return []
    return sorted(field.alias or name for name, field in model.model_fields.items())


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow a location through nested models, lists, tuples and dicts to the model it names."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) in (list, tuple, dict, Sequence, typing.Mapping):
            args = [a for a in typing.get_args(current) if a is not Ellipsis]
            current = args[-1] if args else None
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated; of a union, keep the first model member."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        return models[0] if models else (members[0] if members else None)
    return annotation
