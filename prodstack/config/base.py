"""The base of every configuration model, and the way cross-field rules report their keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from prodstack.config.types import Scalar, scalar_kinds, strict_scalar

RULE_ERROR = "prodstack_rule"


class ConfigModel(BaseModel):
    """Frozen, strict about unknown keys, camelCase in YAML and snake_case in Python.

    Scalars are strict too (``prodstack.config.types.strict_scalar``): no boolean or string
    taken as a number, no fraction cut to a whole number, whole numbers within int32.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    _scalar_kinds: ClassVar[dict[tuple[type[BaseModel], str], frozenset[Scalar]]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        if name is None or isinstance(value, (dict, list, tuple, BaseModel)):
            return value
        key = (cls, name)
        kinds = ConfigModel._scalar_kinds.get(key)
        if kinds is None:
            kinds = scalar_kinds(cls.model_fields[name].annotation)
            ConfigModel._scalar_kinds[key] = kinds
        return strict_scalar(value, kinds)


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
