"""Normalizing the values the mock monitor receives into plain, manifest-shaped data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulumi.output import Unknown as SdkUnknown
from pulumi.runtime import rpc

REDACTED = "[secret]"
UNKNOWN_TEXT = "<unknown>"


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret. Rendered as ``[secret]`` unless asked otherwise."""

    value: Any

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"


@dataclass(frozen=True)
class Unknown:
    """A value only known after a real deployment."""

    def __repr__(self) -> str:
        return UNKNOWN_TEXT


def normalize(value: Any) -> Any:
    """Integral floats back to ints (the wire has only doubles), secrets and unknowns marked."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        return Unknown() if value == rpc.UNKNOWN else value
    if isinstance(value, SdkUnknown):  # what deserializing with keep_unknowns gives
        return Unknown()
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(normalize(value.get("value")))
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(item) for item in value]
    return value


def plain(value: Any, *, reveal_secrets: bool = False) -> Any:
    """The value with secrets redacted (or revealed) and unknowns spelled out, ready to dump."""
    if isinstance(value, Secret):
        return plain(value.value, reveal_secrets=True) if reveal_secrets else REDACTED
    if isinstance(value, Unknown):
        return UNKNOWN_TEXT
    if isinstance(value, dict):
        return {key: plain(item, reveal_secrets=reveal_secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item, reveal_secrets=reveal_secrets) for item in value]
    return value


def contains_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_secret(item) for item in value)
    return False
