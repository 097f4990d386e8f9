"""Deep-merging ``prodstack:defaults`` under a service, and telling where a merged value came
from (so an error in a default is reported at the default's key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Origin = Literal["service", "defaults"]


def deep_merge(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``defaults``: mappings merge key by key, anything else (lists,
    scalars, ``None``) replaces. A ``None`` override therefore removes a default section."""
    merged: dict[str, Any] = dict(defaults)
    for key, value in overrides.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(base, value)
        else:
            merged[key] = value
    return merged


def origin(
    path: Sequence[str | int], service: Mapping[str, Any], defaults: Mapping[str, Any]
) -> Origin:
    """Which side set the value at ``path`` of the merge: the service wherever it set the
    value or a container that replaced the default's (a list, a scalar, ``None``); the
    defaults only where the service left the whole path to them."""
    here: Any = service
    there: Any = defaults
    for part in path:
        if not isinstance(here, Mapping) or not isinstance(part, str):
            return "service"
        if part in here:
            if not isinstance(here[part], Mapping):
                return "service"
            here = here[part]
            there = there.get(part) if isinstance(there, Mapping) else None
            continue
        if isinstance(there, Mapping) and part in there:
            return "defaults"
        return "service"
    return "service"
