"""Values the API server or AWS would refuse later are refused at config time, at their key:
strict numbers and booleans, int32, bounds, CIDR blocks, label and annotation keys and values,
durations, time zones."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import prodstack.config as config_package
from prodstack.config.base import ConfigModel
from prodstack.config.types import INT32_MAX, scalar_kinds
from tests.support.stacks import API, key, problems, service_config, svc

Change = Callable[[dict[str, Any]], None]


def setting(path: str, value: object, service: str = API) -> Change:
    """A change that sets ``path`` (dotted, below the service) to ``value``."""

    def change(raw: dict[str, Any]) -> None:
        section = svc(raw, service)
        *parents, last = path.split(".")
        for part in parents:
            section = section.setdefault(part, {})
        section[last] = value

    return change


# --- numbers and booleans are what they say -------------------------------------------------

NUMBERS = [
    ("app.replicas", True, "true is a boolean, not a number"),
    ("app.replicas", "3", "'3' is a string; write the number without quotes"),
    ("app.replicas", 2.5, "2.5 is not a whole number"),
    ("app.replicas", 2.0, "2.0 is not a whole number"),
    ("app.replicas", 2**31, f"2147483648 is beyond {INT32_MAX}"),
    ("app.port", 1e20, "1e+20 is not a whole number"),
    ("app.probes.liveness.periodSeconds", 2**40, "32-bit integer"),
    ("app.shutdown.drainSeconds", False, "false is a boolean"),
    ("app.security.runAsUser", 2**31, "32-bit integer"),
    ("app.revisionHistoryLimit", "5", "is a string"),
    ("dbBackup.backup.backoffLimit", 1.5, "not a whole number"),
    ("dbBackup.backup.successfulJobsHistoryLimit", 2**31, "32-bit integer"),
    ("dbBackup.backup.startingDeadlineSeconds", 10**30, "32-bit integer"),
    ("dbBackup.bucket.retentionDays", 1e20, "not a whole number"),
    ("dbBackup.bucket.retentionDays", 10**6, "1000000 is above 36500, a century"),
    ("dbBackup.backup.suspend", 1, "1 is a number; write true or false"),
    ("dbBackup.bucket.protect", "yes", "'yes' is a string; write true or false"),
    ("observability.alerts.highErrorRate.threshold", True, "true is a boolean, not a number"),
    ("observability.alerts.highErrorRate.threshold", "0.5", "is a string"),
    ("observability.alerts.highLatency.thresholdSeconds", float("inf"), "not a finite number"),
    ("observability.alerts.podCrashLooping.restarts", 3.5, "not a whole number"),
]


@pytest.mark.parametrize(("path", "value", "message"), NUMBERS)
def test_numbers_and_booleans_are_strict(path: str, value: object, message: str) -> None:
    found = problems("staging", setting(path, value))
    assert message in found[key(path)], found


def test_whole_numbers_still_work_for_fractions_and_json_numbers() -> None:
    latency = service_config(
        "staging", setting("observability.alerts.highLatency.thresholdSeconds", 2)
    )
    assert latency.observability is not None
    assert latency.observability.alerts.high_latency.threshold_seconds == 2
    assert service_config("staging", setting("app.replicas", 3)).app.replicas == 3
    period = service_config("staging", setting("app.probes.liveness.periodSeconds", INT32_MAX))
    assert period.app.probes.liveness.period_seconds == INT32_MAX


def _config_models() -> Iterator[type[ConfigModel]]:
    seen: set[type[ConfigModel]] = set()
    pending = [
        obj
        for _, obj in inspect.getmembers(config_package, inspect.isclass)
        if issubclass(obj, ConfigModel)
    ]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        yield model
        for field in model.model_fields.values():
            pending.extend(_models_in(field.annotation))


def _models_in(annotation: Any) -> list[type[ConfigModel]]:
    if isinstance(annotation, type) and issubclass(annotation, ConfigModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _fields() -> list[tuple[type[BaseModel], str, frozenset[str]]]:
    return sorted(
        (
            (model, name, frozenset(scalar_kinds(field.annotation)))
            for model in _config_models()
            for name, field in model.model_fields.items()
            if scalar_kinds(field.annotation) & {"bool", "int", "float"}
            and "other" not in scalar_kinds(field.annotation)
        ),
        key=lambda item: (item[0].__name__, item[1]),
    )


FIELDS = _fields()


def test_every_number_and_flag_of_the_configuration_is_checked() -> None:
    # Every model is reached from the package's exports; this guards new fields too.
    assert len(FIELDS) > 60
    assert {"replicas", "suspend", "threshold"} <= {name for _, name, _ in FIELDS}


@pytest.mark.parametrize(
    ("model", "name", "kinds"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n, _ in FIELDS]
)
def test_no_field_coerces_a_scalar_of_another_kind(
    model: type[BaseModel], name: str, kinds: frozenset[str]
) -> None:
    field = model.model_fields[name]
    wrong: list[object] = []
    if "bool" not in kinds:
        wrong += [True, "true"]
    if "int" in kinds and "float" not in kinds:
        wrong += [2.5, "2"]
    if "bool" in kinds and not kinds & {"int", "float"}:
        wrong += [1, "yes"]
    validator = model.__pydantic_validator__
    for value in wrong:
        with pytest.raises(ValidationError) as caught:
            validator.validate_assignment(model.model_construct(), name, value)
        assert any(tuple(e["loc"])[:1] == (name,) for e in caught.value.errors()), (field, value)


# --- CIDR blocks ----------------------------------------------------------------------------

CIDRS = [
    ("10.0.0.1", "has no prefix length; write a CIDR block such as 10.0.0.1/32"),
    ("10.40.0.1/16", "has host bits set; the block is 10.40.0.0/16"),
    ("10.40.0.0/016", "is not in canonical form; write 10.40.0.0/16"),
    ("10.40.0.0/33", "is not a CIDR block"),
    ("fe80::%eth0/64", "has an IPv6 zone"),
    ("10.40.0.0/16 ", "is not a CIDR block"),
]


@pytest.mark.parametrize(("cidr", "message"), CIDRS)
@pytest.mark.parametrize(
    "path",
    [
        "security.network.loadBalancerSources",
        "security.network.database.cidrs",
        "security.network.https.exclude",
        "loadBalancer.sourceRanges",
    ],
)
def test_cidr_blocks_have_a_prefix_and_no_host_bits(path: str, cidr: str, message: str) -> None:
    found = problems("staging", setting(path, [cidr]))
    assert message in found[key(f"{path}[0]")], found


# --- labels and annotations wherever they reach a manifest ----------------------------------


def _platform(path: str, value: object) -> Change:
    def change(raw: dict[str, Any]) -> None:
        section = raw["observability"]
        *parents, last = path.split(".")
        for part in parents:
            section = section.setdefault(part, {})
        section[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            setting("app.annotations", {"bad key!": "x"}),
            key("app.annotations"),
            "'bad key!' is not a Kubernetes label or annotation key",
        ),
        (
            setting("app.annotations", {"Example.com/x": "x"}),
            key("app.annotations"),
            "is not a Kubernetes label or annotation key",
        ),
        (
            setting("app.annotations", {"big": "x" * 300_000}),
            key("app.annotations"),
            "Kubernetes allows 262144 (256 KiB) in total",
        ),
        (
            setting(
                "security.network.peers",
                [{"namespace": "monitoring", "podLabels": {"app": "-x-"}}],
            ),
            key("security.network.peers[0].podLabels"),
            "'-x-' (label 'app') is not a Kubernetes label value",
        ),
        (
            _platform("prometheusLabels", {"release": "x" * 64}),
            "prodstack:observability.prometheusLabels",
            "is not a Kubernetes label value",
        ),
        (
            _platform("dashboard.labels", {"a/b/c": "1"}),
            "prodstack:observability.dashboard.labels",
            "is not a Kubernetes label or annotation key",
        ),
        (
            setting("app.version", "2.4.1-"),
            key("app.version"),
            "should match pattern",
        ),
    ],
)
def test_labels_and_annotations_are_valid(change: Change, where: str, message: str) -> None:
    found = problems("staging", change)
    assert message in found[where], found
    assert len(found[where]) < 400  # a huge value is not echoed whole


# --- durations and time zones ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "app.canary.analysis.interval",
        "observability.alerts.highErrorRate.for",
        "dbBackup.restoreCheck.maxBackupAge",
        "vaultSecrets.refreshInterval",
    ],
)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8761h", "is longer than a year (8760h)"),
        ("99999999999999999999s", "is not a duration"),
    ],
)
def test_durations_are_bounded(path: str, value: str, message: str) -> None:
    found = problems("staging", setting(path, value))
    assert message in found[key(path)], found


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("A" * 300, "is not an IANA time zone"),  # zoneinfo would raise 'File name too long'
        ("Europe/" + "B" * 15, "is not an IANA time zone"),
        ("Local", "Kubernetes refuses Local"),
        ("../etc/passwd", "is not an IANA time zone"),
        ("Mars/Olympus", "is not an IANA time zone"),
    ],
)
def test_time_zones_are_checked_as_kubernetes_does(zone: str, message: str) -> None:
    found = problems("staging", setting("dbBackup.backup.timeZone", zone))
    text = found[key("dbBackup.backup.timeZone")]
    assert message in text
    assert len(text) < 200


def test_a_real_time_zone_is_accepted() -> None:
    zone = "America/Argentina/Buenos_Aires"
    backup = service_config("staging", setting("dbBackup.backup.timeZone", zone)).db_backup
    assert backup is not None and backup.backup.time_zone == zone


def test_scalar_kinds_reads_unions_literals_and_annotations() -> None:
    assert scalar_kinds(int | None) == {"int", "none"}
    assert scalar_kinds(typing.Literal["a", 1]) == {"literal", "int"}
    assert scalar_kinds(typing.Annotated[float, "x"]) == {"float"}
    assert scalar_kinds(types.NoneType) == {"none"}
    assert scalar_kinds(tuple[int, ...]) == {"other"}
    assert TypeAdapter(int).validate_python(True) == 1  # what pydantic alone would do
