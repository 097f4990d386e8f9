"""What a service is and how its pods run: image, ports, probes, resources, shutdown, security."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.canary import CanaryConfig
from prodstack.config.types import (
    Annotations,
    CpuQuantity,
    DnsLabel,
    MemoryQuantity,
    NonNegativeInt,
    Port,
    PositiveInt,
    cpu_millicores,
    memory_bytes,
    shown,
)

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# [registry[:port]/]repository[:tag][@sha256:digest]; tags may hold upper-case letters.
_IMAGE = re.compile(
    r"^(?:[a-z0-9][a-z0-9.\-]*(?::[0-9]+)?/)?[a-z0-9]+(?:[._\-/][a-z0-9]+)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._\-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROM_LABEL = re.compile(r"^(?!__)[A-Za-z_][A-Za-z0-9_]*$")


def _check_prom_label(value: str) -> str:
    if _PROM_LABEL.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a Prometheus label name; use letters, digits and '_', not "
            "starting with a digit (names starting with '__' are reserved)"
        )
    return value


PromLabelName = Annotated[str, AfterValidator(_check_prom_label)]


def image_is_pinned(image: str) -> bool:
    """True when the image is referenced by an immutable ``@sha256:`` digest."""
    return DIGEST.search(image) is not None


ProbePath = Annotated[str, Field(pattern=r"^/[^\s]*$")]


class Probe(ConfigModel):
    """An HTTP GET probe on the app's ``http`` port."""

    path: ProbePath
    initial_delay_seconds: NonNegativeInt = 0
    period_seconds: PositiveInt = 10
    timeout_seconds: PositiveInt = 1
    failure_threshold: PositiveInt = 3


# Each probe kind keeps its own defaults, so overriding one key keeps the others.
class LivenessProbe(Probe):
    """Restarts a wedged container: patient (3 misses of a 5 s answer, every 10 s)."""

    path: ProbePath = "/health"
    timeout_seconds: PositiveInt = 5


class ReadinessProbe(Probe):
    """Takes the pod out of Services quickly when it cannot serve (2 misses, every 5 s)."""

    path: ProbePath = "/ready"
    period_seconds: PositiveInt = 5
    timeout_seconds: PositiveInt = 3
    failure_threshold: PositiveInt = 2


class StartupProbe(Probe):
    """Holds liveness and readiness off while the app starts: up to 30 x 5 s = 150 s."""

    path: ProbePath = "/health"
    period_seconds: PositiveInt = 5
    timeout_seconds: PositiveInt = 3
    failure_threshold: PositiveInt = 30


class Probes(ConfigModel):
    """Liveness restarts a wedged container; readiness takes it out of Services; startup
    holds both off until the app has started (so liveness needs no long initial delay)."""

    liveness: LivenessProbe = LivenessProbe()
    readiness: ReadinessProbe = ReadinessProbe()
    startup: StartupProbe = StartupProbe()


class ResourceAmounts(ConfigModel):
    cpu: CpuQuantity
    memory: MemoryQuantity


class Resources(ConfigModel):
    """Requests reserve capacity for scheduling; limits cap the container."""

    requests: ResourceAmounts = ResourceAmounts(cpu="500m", memory="512Mi")
    limits: ResourceAmounts = ResourceAmounts(cpu="1", memory="1Gi")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        violations = []
        if cpu_millicores(self.requests.cpu) > cpu_millicores(self.limits.cpu):
            violations.append(
                Violation(
                    ("requests", "cpu"),
                    f"{self.requests.cpu} is above limits.cpu {self.limits.cpu}",
                )
            )
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            violations.append(
                Violation(
                    ("requests", "memory"),
                    f"{self.requests.memory} is above limits.memory {self.limits.memory}",
                )
            )
        raise_violations(violations)
        return self


class Shutdown(ConfigModel):
    """Graceful shutdown: a pre-stop drain (endpoints and load balancers stop sending traffic),
    then SIGTERM and up to ``appShutdownSeconds`` for in-flight requests, all within
    ``terminationGracePeriodSeconds`` (derived as drain + shutdown + 5 s when not set)."""

    drain_seconds: NonNegativeInt = 15
    app_shutdown_seconds: PositiveInt = 20
    termination_grace_period_seconds: PositiveInt | None = None

    @property
    def grace_period_seconds(self) -> int:
        if self.termination_grace_period_seconds is not None:
            return self.termination_grace_period_seconds
        return self.drain_seconds + self.app_shutdown_seconds + 5

    @model_validator(mode="after")
    def _fits_grace_period(self) -> Shutdown:
        budget = self.drain_seconds + self.app_shutdown_seconds
        if (
            self.termination_grace_period_seconds is not None
            and budget >= self.grace_period_seconds
        ):
            raise_violations(
                [
                    Violation(
                        ("terminationGracePeriodSeconds",),
                        f"must be above drainSeconds + appShutdownSeconds = {budget}, "
                        "or the kubelet kills the app mid-shutdown; raise it, or leave it out "
                        "to derive it",
                    )
                ]
            )
        return self


class PodSecurity(ConfigModel):
    """The restricted Pod Security profile; the uid/gid must match the image's user."""

    run_as_user: Annotated[int, Field(ge=1)] = 10001
    run_as_group: Annotated[int, Field(ge=1)] = 10001
    fs_group: Annotated[int, Field(ge=1)] = 10001
    tmp_size_limit: MemoryQuantity = "64Mi"


_APP_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def check_app_name(value: str) -> str:
    """A DNS-1035 label (it names Services); how long it may be depends on the objects derived
    from it, which the environment (and each component) checks."""
    if _APP_NAME.match(value) is None or len(value) > 63:
        raise ValueError(
            f"{shown(value)} is not a usable name: start with a letter, then lower-case letters, "
            "digits and '-', ending with a letter or digit (objects are named <name>-<suffix>)"
        )
    return value


AppName = Annotated[str, AfterValidator(check_app_name)]


class AppConfig(ConfigModel):
    """A service run as an Argo Rollout with canary delivery."""

    name: AppName
    image: Annotated[str, Field(min_length=1)]
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    # The app.kubernetes.io/version label's value.
    version: Annotated[str, Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9._\-]{0,61}[A-Za-z0-9])?$")]
    part_of: DnsLabel | None = None
    team: DnsLabel = "backend"
    port: Port = 8080
    metrics_port: Port = 9090
    metrics_status_label: PromLabelName = "status"
    replicas: PositiveInt = 2
    revision_history_limit: NonNegativeInt = 5
    env: dict[str, str] = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    probes: Probes = Probes()
    resources: Resources = Resources()
    shutdown: Shutdown = Shutdown()
    security: PodSecurity = PodSecurity()
    canary: CanaryConfig

    @field_validator("image")
    @classmethod
    def _check_image(cls, image: str, info: ValidationInfo) -> str:
        validate_image(image)
        if (info.context or {}).get("environment") == "production" and not image_is_pinned(image):
            raise ValueError(
                "production images must be pinned by digest (name@sha256:<64 hex>); "
                "a tag can be moved to other content after review"
            )
        return image

    @model_validator(mode="after")
    def _rules(self) -> AppConfig:
        violations = []
        if self.port == self.metrics_port:
            violations.append(
                Violation(
                    ("metricsPort",),
                    f"must differ from port ({self.port}): the container exposes them as "
                    "separate named ports (http and metrics)",
                )
            )
        violations.extend(
            Violation(("env", key), "not a valid environment variable name")
            for key in self.env
            if _ENV_NAME.match(key) is None
        )
        raise_violations(violations)
        return self


def means_latest(image: str) -> bool:
    """True for ``name:latest`` and for a name with neither tag nor digest (which is latest)."""
    last = image.rsplit("/", 1)[-1]
    return image.endswith(":latest") or (":" not in last and "@" not in last)


def validate_image(image: str) -> str:
    """An image reference with a tag or digest; raises ValueError for anything else."""
    if _IMAGE.match(image) is None:
        raise ValueError(
            f"{shown(image)} is not an image reference (registry/name:tag or name@sha256:digest)"
        )
    if means_latest(image):
        raise ValueError(
            "name a tag or a digest; an implicit or explicit 'latest' is not reproducible"
        )
    return image
