"""The CrossGuard pack: the same policies, wired through pulumi_policy's own argument types."""

from __future__ import annotations

import copy
import runpy
from typing import Any

import pulumi_policy
import pytest
from pulumi_policy.policy import PolicyResource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from prodstack import policy_pack
from prodstack.policies import ALL_POLICIES, crossguard
from prodstack.policies.crossguard import all_policies, context
from prodstack.synth.values import Unknown
from tests.support.stacks import ROOT
from tests.test_policies import hpa, rollout, with_container


def by_name() -> dict[str, Any]:
    return {policy.name: policy for policy in all_policies()}


def test_the_pack_holds_every_policy_once() -> None:
    assert sorted(by_name()) == sorted(p.name for p in ALL_POLICIES)


def test_resource_policy_reports_through_crossguard() -> None:
    subject = rollout(with_container(image="registry.example.com/app:1.2.3"))
    args = pulumi_policy.ResourceValidationArgs(
        resource_type=subject.type,
        props=subject.props,
        urn=subject.urn,
        name=subject.name,
        opts=None,  # type: ignore[arg-type]
        provider=None,
        config={"environment": "production"},
    )
    reported: list[tuple[str, Any]] = []
    by_name()["images-pinned"].validate(
        args, lambda message, urn=None: reported.append((message, urn))
    )
    assert len(reported) == 1 and "pinned by digest" in reported[0][0]


def test_stack_policy_reports_through_crossguard() -> None:
    target, scaler = rollout(replicas=3), hpa()
    resources = [
        PolicyResource(
            resource_type=s.type,
            props=s.props,
            urn=s.urn,
            name=s.name,
            opts=None,  # type: ignore[arg-type]
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for s in (target, scaler)
    ]
    args = pulumi_policy.StackValidationArgs(resources=resources, config={})
    reported: list[tuple[str, Any]] = []
    by_name()["no-replicas-under-hpa"].validate(
        args, lambda message, urn=None: reported.append((message, urn))
    )
    assert reported and reported[0][1] == target.urn


def test_environment_from_config_or_stack_tag() -> None:
    assert context({"environment": "production"}, {}).production
    assert context({}, {"environment": "production"}).production
    assert context({}, {}).environment is None


def test_policy_main_builds_the_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    def capture(name: str, policies: list[Any], **_: Any) -> None:
        built.update(name=name, policies=policies)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", capture)
    runpy.run_path(str(policy_pack.directory()), run_name="__main__")
    assert built["name"] == "prodstack"
    assert len(built["policies"]) == len(ALL_POLICIES)
    assert (policy_pack.directory() / "PulumiPolicy.yaml").is_file()
    assert policy_pack.directory() == ROOT / "prodstack" / "policy_pack"


def test_policies_see_crossguards_proxied_properties_as_plain_data() -> None:
    """CrossGuard hands a policy read-only proxies, not dicts; an unknown value raises when
    read. The adapter gives the policies what the offline engine gives them."""
    subject = rollout(with_container(image="registry.example.com/app:latest"))
    props = copy.deepcopy(dict(subject.props))
    props["metadata"]["uid"] = UNKNOWN_STRING_VALUE
    proxied = unknown_checking_proxy(props)
    assert not isinstance(proxied["spec"], dict)
    args = pulumi_policy.ResourceValidationArgs(
        resource_type=subject.type,
        props=proxied,
        urn=subject.urn,
        name=subject.name,
        opts=None,  # type: ignore[arg-type]
        provider=None,
        config={},
    )
    reported: list[str] = []
    by_name()["images-pinned"].validate(args, lambda message, urn=None: reported.append(message))
    assert len(reported) == 1 and "'latest'" in reported[0]
    plain = crossguard.plain(proxied)
    assert plain["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":latest")
    assert isinstance(plain["metadata"]["uid"], Unknown)
