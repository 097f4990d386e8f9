"""An app's non-secret settings, typed and validated before they reach its ConfigMap."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import DnsLabel, PositiveInt, shown

LogLevel = Literal["trace", "debug", "info", "warn", "error", "fatal"]

_TIMEOUT = re.compile(r"^([1-9][0-9]*)(ms|s|m|h)$")
_TIMEOUT_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_FLAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def timeout_milliseconds(value: str) -> int:
    """Milliseconds in a timeout written as ``500ms``, ``30s``, ``2m`` or ``1h``."""
    match = _TIMEOUT.match(value)
    if match is None:
        raise ValueError(
            f"{shown(value)} is not a duration; write a whole number of ms, s, m or h (e.g. 30s)"
        )
    return int(match.group(1)) * _TIMEOUT_UNITS_MS[match.group(2)]


def _check_timeout(value: str) -> str:
    timeout_milliseconds(value)
    return value


def _check_flag_name(value: str) -> str:
    if _FLAG_NAME.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a flag name; start with a letter, then letters, digits, '_', "
            "'.' or '-' (at most 63)"
        )
    return value


def _check_https_origin(value: str) -> str:
    """A CORS origin is exactly ``https://host[:port]``: browsers send nothing else."""
    if value.strip() != value or "*" in value:
        raise ValueError(f"{shown(value)}: write one exact origin, without spaces or wildcards")
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError(f"{shown(value)} must use https (https://host[:port])")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{shown(value)} must not carry credentials")
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(
            f"{shown(value)} has a path, query or trailing '/'; "
            "an origin is https://host[:port] only"
        )
    if parts.netloc != parts.netloc.lower():
        raise ValueError(f"{shown(value)}: write the host in lower case, as browsers send it")
    host = parts.hostname or ""
    if not host or any(_HOST_LABEL.match(label) is None for label in host.split(".")):
        raise ValueError(f"{shown(value)} has no valid lower-case host name")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{shown(value)} has an invalid port") from None
    if port == 0:
        raise ValueError(f"{shown(value)} has an invalid port")
    return value


def _strict_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not a flag value; write true or false")
    return value


def _origin_list(value: object) -> object:
    if isinstance(value, str):
        raise ValueError("write a list with one origin per item, not one string")
    return value


TimeoutDuration = Annotated[str, AfterValidator(_check_timeout)]
FlagName = Annotated[str, AfterValidator(_check_flag_name)]
HttpsOrigin = Annotated[str, AfterValidator(_check_https_origin)]


class AppSettings(ConfigModel):
    """What the app reads from its ConfigMap. Every value is typed here, so a typo fails at
    ``pulumi preview`` instead of in a crash-looping pod."""

    environment_name: DnsLabel
    log_level: LogLevel = "info"
    max_connections: PositiveInt = 100
    timeout: TimeoutDuration = "30s"
    feature_flags: dict[FlagName, Annotated[bool, BeforeValidator(_strict_flag)]] = Field(
        default_factory=dict
    )
    cors_origins: Annotated[tuple[HttpsOrigin, ...], BeforeValidator(_origin_list)] = ()

    @model_validator(mode="after")
    def _rules(self) -> AppSettings:
        seen: dict[str, int] = {}
        violations = []
        for index, origin in enumerate(self.cors_origins):
            if origin in seen:
                violations.append(
                    Violation(
                        ("corsOrigins", index),
                        f"{origin!r} repeats corsOrigins[{seen[origin]}]; list each origin once",
                    )
                )
            seen.setdefault(origin, index)
        raise_violations(violations)
        return self
