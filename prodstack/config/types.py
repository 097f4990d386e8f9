"""Value types shared by the configuration models: numbers as Kubernetes stores them,
durations, Kubernetes names, labels, CIDR blocks and quantities."""

from __future__ import annotations

import ipaddress
import math
import re
import types
import typing
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field

from prodstack.kinds import LABEL_VALUE_LIMIT

# Kubernetes stores replicas, ports, probe and history fields as int32 (and the int64 ones,
# such as uids and deadlines, it bounds to the same range); a larger number is refused by the
# API server, so it is refused here.
INT32_MAX = 2**31 - 1
# The longest duration any setting needs (a pause, a window, a maximum backup age): a year.
# Argo Rollouts reads pause durations into int32 seconds, and Go durations end at ~292 years.
MAX_DURATION_SECONDS = 365 * 24 * 3600
# What Kubernetes can count (resource.Quantity values are int64).
INT64_MAX = 2**63 - 1
# Kubernetes refuses an object whose annotations (keys and values) exceed 256 KiB in total
# (apimachinery's TotalAnnotationSizeLimitB).
ANNOTATIONS_SIZE_LIMIT = 256 * 1024
SHOWN_CHARACTERS = 60


def shown(value: object, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a message never echoes a huge value."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


_DURATION = re.compile(r"^([1-9][0-9]{0,9})(s|m|h)$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CPU = re.compile(r"^([0-9]{1,19}m|[0-9]{1,16}(\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^([0-9]{1,19})(Ki|Mi|Gi|Ti|k|M|G|T)?$")
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
            f"{shown(value)} is not a duration; write a whole number of s, m or h (e.g. 2m)"
        )
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _check_duration(value: str) -> str:
    if duration_seconds(value) > MAX_DURATION_SECONDS:
        raise ValueError(
            f"{shown(value)} is longer than a year (8760h), the longest duration prodstack "
            "accepts; write a shorter one"
        )
    return value


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _check_object_name(value: str) -> str:
    if len(value) > 253 or _DNS_SUBDOMAIN.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a Kubernetes object name; use at most 253 lower-case "
            "letters, digits, '-' and '.', starting and ending with a letter or digit"
        )
    return value


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or _DNS_LABEL.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a DNS label; use at most 63 lower-case letters, digits and "
            "'-', starting and ending with a letter or digit"
        )
    return value


def cpu_millicores(value: str) -> int:
    """Millicores in a CPU quantity (``500m``, ``1``, ``1.5``)."""
    if _CPU.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a CPU quantity; write millicores (500m) or cores (1, 1.5)"
        )
    if value.endswith("m"):
        return int(value[:-1])
    try:
        return int(Decimal(value) * 1000)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{shown(value)} is not a CPU quantity") from exc


def memory_bytes(value: str) -> int:
    """Bytes in a memory quantity (``512Mi``, ``1Gi``, ``1000000``)."""
    match = _MEMORY.match(value)
    if match is None:
        raise ValueError(
            f"{shown(value)} is not a memory quantity; "
            "write a whole number with Ki, Mi, Gi, Ti, k, M, G or T"
        )
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2)]


def _check_cpu(value: str) -> str:
    if cpu_millicores(value) <= 0:
        raise ValueError("must be more than 0")
    if cpu_millicores(value) > INT64_MAX:
        raise ValueError(f"{shown(value)} is more CPU than Kubernetes can count")
    return value


def _check_memory(value: str) -> str:
    if memory_bytes(value) <= 0:
        raise ValueError("must be more than 0")
    if memory_bytes(value) > INT64_MAX:
        raise ValueError(f"{shown(value)} is more memory than Kubernetes can count (8Ei)")
    return value


def _check_int_or_percent(value: int | str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must be 0 or more")
        return value
    match = _PERCENT.match(value)
    if match is None or int(match.group(1)) > 100:
        raise ValueError(f"{shown(value)} must be a whole number or a percentage from 0% to 100%")
    return value


Scalar = Literal["bool", "int", "float", "str", "literal", "none", "other"]


def scalar_kinds(annotation: Any) -> frozenset[Scalar]:
    """Which kinds of scalar a field's annotation admits (``other``: anything else, such as a
    model, a list or a network)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return scalar_kinds(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return frozenset().union(*(scalar_kinds(a) for a in typing.get_args(annotation)))
    if origin is Literal:
        # A literal string is a name, not free text: "literal" (a number written as a string
        # still must not become one of the union's numbers).
        literal: frozenset[Scalar] = frozenset({"literal"})
        return frozenset().union(
            *(
                literal if isinstance(a, str) else scalar_kinds(type(a))
                for a in typing.get_args(annotation)
            )
        )
    simple: dict[Any, Scalar] = {
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        type(None): "none",
    }
    return frozenset({simple.get(annotation, "other")})


def strict_scalar(value: Any, kinds: frozenset[Scalar]) -> Any:
    """Refuse a scalar that pydantic's lax mode would coerce into the field's type: a boolean
    or a string taken as a number, a fraction cut to a whole number, a number taken as a
    boolean (YAML 1.1 and hand-written JSON are full of these). Whole numbers are bounded to
    what Kubernetes stores (int32); fractions must be finite. Returns ``value`` unchanged."""
    if "other" in kinds:
        return value
    numbers = kinds & {"int", "float"}
    if isinstance(value, bool):
        if "bool" not in kinds and numbers:
            raise ValueError(
                f"{str(value).lower()} is a boolean, not a number; write a "
                f"{'whole ' if 'float' not in kinds else ''}number (YAML 1.1 reads yes, no, "
                "on and off as booleans)"
            )
    elif isinstance(value, int):
        if "int" in kinds and not -INT32_MAX - 1 <= value <= INT32_MAX:
            raise ValueError(
                f"{shown(value)} is beyond {INT32_MAX}, the largest number Kubernetes stores "
                "here (a 32-bit integer); write a smaller one"
            )
        if not numbers and "bool" in kinds:
            raise ValueError(f"{shown(value)} is a number; write true or false")
    elif isinstance(value, float):
        if "float" not in kinds and "int" in kinds:
            raise ValueError(
                f"{shown(value)} is not a whole number; write an integer (Kubernetes stores it "
                "as one)"
            )
        if "float" in kinds and not math.isfinite(value):
            raise ValueError(f"{shown(value)} is not a finite number")
        if not numbers and "bool" in kinds:
            raise ValueError(f"{shown(value)} is a number; write true or false")
    elif isinstance(value, str) and "str" not in kinds:
        if numbers and (not kinds & {"literal"} or _numeric(value)):
            raise ValueError(f"{shown(value)} is a string; write the number without quotes")
        if "bool" in kinds:
            raise ValueError(f"{shown(value)} is a string; write true or false without quotes")
    return value


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def bounded(minimum: int, maximum: int, why: str) -> AfterValidator:
    """A whole number from ``minimum`` to ``maximum``; ``why`` says where the upper bound comes
    from (it ends the message for a number above it)."""

    def check(value: int) -> int:
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if value > maximum:
            raise ValueError(f"{shown(value)} is above {maximum}, {why}")
        return value

    return AfterValidator(check)


def matching(pattern: re.Pattern[str], hint: str) -> AfterValidator:
    """A string ``pattern`` matches; otherwise the (cut) value followed by ``hint``."""

    def check(value: str) -> str:
        if pattern.match(value) is None:
            raise ValueError(f"{shown(value)} {hint}")
        return value

    return AfterValidator(check)


# Kubernetes label and annotation keys are qualified names ([DNS subdomain prefix/]name);
# label values are at most 63 characters (apimachinery's validation.IsQualifiedName and
# IsValidLabelValue).
_QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_KEY_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def check_key(key: str) -> str:
    """A Kubernetes label or annotation key; raises ValueError naming the fix."""
    prefix, slash, name = key.rpartition("/")
    if (
        len(name) > 63
        or _QUALIFIED_NAME.match(name) is None
        or (slash and (len(prefix) > 253 or _KEY_PREFIX.match(prefix) is None))
    ):
        raise ValueError(
            f"{shown(key)} is not a Kubernetes label or annotation key; write [prefix/]name: a "
            "name of at most 63 letters, digits, '-', '_' or '.' that starts and ends with a "
            "letter or digit, after an optional lower-case DNS prefix and '/'"
        )
    return key


def check_label_value(value: str, key: str | None = None) -> str:
    """A Kubernetes label value; raises ValueError naming the fix."""
    if len(value) > LABEL_VALUE_LIMIT or _LABEL_VALUE.match(value) is None:
        label = f" (label {shown(key)})" if key is not None else ""
        raise ValueError(
            f"{shown(value)}{label} is not a Kubernetes label value; use at most 63 letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return value


def check_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    """Label keys and values (on objects and in selectors)."""
    for key, value in labels.items():
        check_key(key)
        check_label_value(value, key)
    return labels


def check_annotations(annotations: Mapping[str, str]) -> Mapping[str, str]:
    """Annotation keys, and the total size Kubernetes allows."""
    for key in annotations:
        check_key(key)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_SIZE_LIMIT:
        raise ValueError(
            f"annotations take {size} bytes; Kubernetes allows {ANNOTATIONS_SIZE_LIMIT} "
            "(256 KiB) in total: move large values to a ConfigMap"
        )
    return annotations


def check_cidr(value: str) -> str:
    """A CIDR block written as Kubernetes and AWS want it: an address, a prefix length, no host
    bits, in canonical form (``10.0.0.0/8``, ``2001:db8::/32``)."""
    if "/" not in value:
        raise ValueError(
            f"{shown(value)} has no prefix length; write a CIDR block such as {value}/32 "
            "(a single address) or 10.0.0.0/16"
            if _is_address(value)
            else f"{shown(value)} is not a CIDR block (e.g. 10.0.0.0/16)"
        )
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{shown(value)} is not a CIDR block (e.g. 10.0.0.0/16)") from None
    if "%" in value:
        raise ValueError(f"{shown(value)} has an IPv6 zone; write the block without '%...'")
    if network.network_address != ipaddress.ip_interface(value).ip:
        raise ValueError(
            f"{shown(value)} has host bits set; the block is {network} (or give the address "
            f"alone as {value.partition('/')[0]}/{network.max_prefixlen})"
        )
    if str(network) != value:
        raise ValueError(f"{shown(value)} is not in canonical form; write {network}")
    return value


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_zero(value: int | str) -> bool:
    """True for ``0`` and ``"0%"``."""
    return value in (0, "0%")


Duration = Annotated[str, AfterValidator(_check_duration)]
DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
ObjectName = Annotated[str, AfterValidator(_check_object_name)]
CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]
IntOrPercent = Annotated[int | str, AfterValidator(_check_int_or_percent)]
Port = Annotated[int, Field(ge=1, le=65535)]
PositiveInt = Annotated[int, Field(ge=1, le=INT32_MAX)]
NonNegativeInt = Annotated[int, Field(ge=0, le=INT32_MAX)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]
Labels = Annotated[dict[str, str], AfterValidator(check_labels)]
LabelMap = Annotated[Mapping[str, str], AfterValidator(check_labels)]
Annotations = Annotated[dict[str, str], AfterValidator(check_annotations)]
Cidr = Annotated[str, AfterValidator(check_cidr)]


def _cidr_text(value: object) -> object:
    return check_cidr(value) if isinstance(value, str) else value


# An ipaddress network (IPvAnyNetwork) that was written as a canonical CIDR block.
CidrText = BeforeValidator(_cidr_text)
