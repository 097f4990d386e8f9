"""The base of every configuration model, and the way cross-field rules report their keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

RULE_ERROR = "prodstack_rule"


class ConfigModel(BaseModel):
    """Frozen, strict about unknown keys, camelCase in YAML and snake_case in Python."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


def _dotted(path: Sequence[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@dataclass(frozen=True)
class Violation:
    """A broken cross-field rule: the key path below the model that checks it, and why."""

    path: Sequence[str | int]
    message: str


def raise_violations(violations: Iterable[Violation]) -> None:
    """Report every violation at once; the loader expands them into one error per key."""
    found = list(violations)
    if found:
        raise PydanticCustomError(
            RULE_ERROR,
            "{summary}",
            {
                "summary": "; ".join(f"{_dotted(v.path)}: {v.message}" for v in found),
                "violations": [(tuple(v.path), v.message) for v in found],
            },
        )
