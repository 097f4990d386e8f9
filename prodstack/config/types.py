"""Value types shared by the configuration models: durations, Kubernetes names and quantities."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, Field

_DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h)$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_PERCENT = re.compile(r"^([0-9]{1,3})%$")


def duration_seconds(value: str) -> int:
    """Seconds in a duration written as ``30s``, ``2m`` or ``1h``."""
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a duration; write a whole number of s, m or h (e.g. 2m)"
        )
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _check_duration(value: str) -> str:
    duration_seconds(value)
    return value


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or _DNS_LABEL.match(value) is None:
        raise ValueError(
            f"{value!r} is not a DNS label; use at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def cpu_millicores(value: str) -> int:
    """Millicores in a CPU quantity (``500m``, ``1``, ``1.5``)."""
    if _CPU.match(value) is None:
        raise ValueError(
            f"{value!r} is not a CPU quantity; write millicores (500m) or cores (1, 1.5)"
        )
    if value.endswith("m"):
        return int(value[:-1])
    try:
        return int(Decimal(value) * 1000)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{value!r} is not a CPU quantity") from exc


def memory_bytes(value: str) -> int:
    """Bytes in a memory quantity (``512Mi``, ``1Gi``, ``1000000``)."""
    match = _MEMORY.match(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a memory quantity; "
            "write a whole number with Ki, Mi, Gi, Ti, k, M, G or T"
        )
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2)]


def _check_cpu(value: str) -> str:
    if cpu_millicores(value) <= 0:
        raise ValueError("must be more than 0")
    return value


def _check_memory(value: str) -> str:
    if memory_bytes(value) <= 0:
        raise ValueError("must be more than 0")
    return value


def _check_int_or_percent(value: int | str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must be 0 or more")
        return value
    match = _PERCENT.match(value)
    if match is None or int(match.group(1)) > 100:
        raise ValueError(f"{value!r} must be a whole number or a percentage from 0% to 100%")
    return value


def is_zero(value: int | str) -> bool:
    """True for ``0`` and ``"0%"``."""
    return value in (0, "0%")


Duration = Annotated[str, AfterValidator(_check_duration)]
DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]
IntOrPercent = Annotated[int | str, AfterValidator(_check_int_or_percent)]
Port = Annotated[int, Field(ge=1, le=65535)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
