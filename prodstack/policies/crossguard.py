"""Adapters from prodstack's policies to Pulumi CrossGuard (``pulumi_policy``).

Only ``prodstack/policy_pack/__main__.py`` builds the pack; this module stays importable (and
testable) without the Pulumi CLI. Needs ``pulumi-policy`` (``pip install prodstack[policy]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from prodstack.policies import RESOURCE_POLICIES, STACK_POLICIES
from prodstack.policies.model import PolicyContext, ResourcePolicy, StackPolicy, Subject
from prodstack.synth.values import Unknown

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "description": "dev, staging or production; production requires image digests",
        }
    }
)


def context(config: Any, stack_tags: Any) -> PolicyContext:
    """The environment from the policy's config, else from an ``environment`` stack tag."""
    environment = (config or {}).get("environment") or (stack_tags or {}).get("environment")
    return PolicyContext(environment=str(environment) if environment else None)


def plain(value: Any) -> Any:
    """CrossGuard's properties as the policies see them offline: plain dicts and lists, and
    ``Unknown`` for a value only known after the update. pulumi_policy hands out read-only
    proxies (``Mapping`` and ``Sequence``, not ``dict`` and ``list``) whose unknown values raise
    ``UnknownValueError`` when read (pulumi_policy/proxy.py); the policies test for dicts."""
    if isinstance(value, Mapping):
        return {key: _item(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_item(value, index) for index in range(len(value))]
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except UnknownValueError:
        return Unknown()


def resource_policy(policy: ResourcePolicy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        subject = Subject(args.resource_type, args.urn, args.name, plain(args.props))
        for message in policy.check(subject, context(args.get_config(), args.stack_tags)):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=policy.name,
        description=policy.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=CONFIG_SCHEMA,
    )


def stack_policy(policy: StackPolicy) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        subjects = [
            Subject(
                r.resource_type,
                r.urn,
                r.name,
                plain(r.props),
                tuple(d.urn for d in r.dependencies),
            )
            for r in args.resources
        ]
        for subject, message in policy.check(subjects, context(args.get_config(), args.stack_tags)):
            report_violation(message, subject.urn if subject else None)

    return StackValidationPolicy(
        name=policy.name,
        description=policy.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=CONFIG_SCHEMA,
    )


def all_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [
        *(resource_policy(p) for p in RESOURCE_POLICIES),
        *(stack_policy(p) for p in STACK_POLICIES),
    ]
