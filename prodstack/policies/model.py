"""What a policy is, independent of where it runs: Pulumi CrossGuard (``prodstack/policy_pack``)
during ``pulumi preview``, or ``prodstack check`` on the offline graph. Both hand the same plain
data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may depend on beyond the resource: the environment (``production``
    tightens some rules). ``None`` when unknown: the stricter reading applies where it must."""

    environment: str | None = None

    @property
    def production(self) -> bool:
        return self.environment == "production"


@dataclass(frozen=True)
class Subject:
    """A resource as policies see it: type token, URN, name, inputs, and what it depends on."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return str(self.props.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.props.get("apiVersion", ""))

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:") and "kind" in self.props

    @property
    def object_name(self) -> str:
        return str((self.props.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str((self.props.get("metadata") or {}).get("namespace", ""))

    def describe(self) -> str:
        if self.is_kubernetes:
            where = f"{self.namespace}/" if self.namespace else ""
            return f"{self.kind} {where}{self.object_name}"
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Finding:
    policy: str
    subject: str
    message: str
    urn: str | None = None


ResourceCheck = Callable[[Subject, PolicyContext], Iterable[str]]
StackCheck = Callable[[Sequence[Subject], PolicyContext], Iterable[tuple[Subject | None, str]]]


@dataclass(frozen=True)
class ResourcePolicy:
    """Judges one resource at a time. Each message says what is wrong and how to fix it."""

    name: str
    description: str
    check: ResourceCheck

    def run(self, subjects: Sequence[Subject], context: PolicyContext) -> list[Finding]:
        return [
            Finding(self.name, subject.describe(), message, subject.urn)
            for subject in subjects
            for message in self.check(subject, context)
        ]


@dataclass(frozen=True)
class StackPolicy:
    """Judges resources together (an HPA beside its target, a namespace and its policies)."""

    name: str
    description: str
    check: StackCheck
    tags: tuple[str, ...] = field(default=())

    def run(self, subjects: Sequence[Subject], context: PolicyContext) -> list[Finding]:
        return [
            Finding(
                self.name,
                subject.describe() if subject else "stack",
                message,
                subject.urn if subject else None,
            )
            for subject, message in self.check(subjects, context)
        ]
