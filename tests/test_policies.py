"""Every policy, called directly, with a violating and a compliant case."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from prodstack.policies import (
    ALL_POLICIES,
    PolicyContext,
    Subject,
    api_versions,
    network,
    run_all,
    scaling,
    storage,
    workloads,
)

PRODUCTION = PolicyContext("production")
DEV = PolicyContext("dev")

POD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "image": "registry.example.com/app@sha256:" + "a" * 64,
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"memory": "256Mi"},
            },
            "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True,
            },
        }
    ],
}
LABELS = {"app.kubernetes.io/name": "app"}


def k8s(
    kind: str, name: str, spec: dict[str, Any], api_version: str = "v1", **extra: Any
) -> Subject:
    props = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns"},
        "spec": spec,
        **extra,
    }
    group = api_version.rpartition("/")[0] or "core"
    return Subject(
        f"kubernetes:{group}/{api_version.rsplit('/', maxsplit=1)[-1]}:{kind}",
        f"urn:{kind}:{name}",
        name,
        props,
    )


def rollout(pod: dict[str, Any] | None = None, **spec: Any) -> Subject:
    body = {
        "selector": {"matchLabels": LABELS},
        "template": {"metadata": {"labels": LABELS}, "spec": pod or copy.deepcopy(POD)},
        **spec,
    }
    return k8s("Rollout", "app", body, "argoproj.io/v1alpha1")


def with_container(**changes: Any) -> dict[str, Any]:
    pod = copy.deepcopy(POD)
    pod["containers"][0].update(changes)
    return pod


def messages(
    policy_name: str, subjects: list[Subject], context: PolicyContext = PRODUCTION
) -> list[str]:
    policies = {p.name: p for p in ALL_POLICIES}
    return [finding.message for finding in policies[policy_name].run(subjects, context)]


def test_every_policy_has_a_unique_name_and_a_description() -> None:
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names)) == 8
    assert all(p.description for p in ALL_POLICIES)


def test_a_compliant_rollout_passes_every_policy() -> None:
    namespace = k8s("Namespace", "ns", {})
    deny = k8s(
        "NetworkPolicy",
        "default-deny",
        {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "networking.k8s.io/v1",
    )
    assert run_all([namespace, deny, rollout(replicas=3)], PRODUCTION) == []


@pytest.mark.parametrize(
    ("image", "context", "fragment"),
    [
        ("registry.example.com/app:latest", DEV, "'latest'"),
        ("registry.example.com/app", DEV, "'latest'"),
        ("registry.example.com/app:1.2.3", PRODUCTION, "pinned by digest"),
    ],
)
def test_images_pinned(image: str, context: PolicyContext, fragment: str) -> None:
    found = messages("images-pinned", [rollout(with_container(image=image))], context)
    assert len(found) == 1 and fragment in found[0]


def test_tags_pass_outside_production() -> None:
    subject = rollout(with_container(image="registry.example.com/app:1.2.3"))
    assert messages("images-pinned", [subject], DEV) == []
    # An unknown environment is not production: a tag passes, latest still fails.
    assert list(workloads.pinned_images(subject, PolicyContext(None))) == []
    latest = rollout(with_container(image="registry.example.com/app:latest"))
    assert list(workloads.pinned_images(latest, PolicyContext(None)))


def test_resources_and_probes() -> None:
    bare = with_container(resources={}, livenessProbe=None)
    del bare["containers"][0]["livenessProbe"]
    found = messages("resources-and-probes", [rollout(bare)])
    assert any("no requests for cpu, memory" in m for m in found)
    assert any("no limits for memory" in m for m in found)
    assert any("no livenessProbe" in m for m in found)
    assert messages("resources-and-probes", [rollout()]) == []


def test_restricted_pods_inside_rollout_templates() -> None:
    privileged = with_container(securityContext={"privileged": True})
    found = messages("restricted-pods", [rollout(privileged)])
    assert any("privileged" in m for m in found)
    assert any("readOnlyRootFilesystem" in m for m in found)
    assert messages("restricted-pods", [rollout()]) == []


def test_restricted_pods_inside_cronjobs() -> None:
    cronjob = k8s(
        "CronJob",
        "backup",
        {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}}},
        "batch/v1",
    )
    assert messages("restricted-pods", [cronjob])


def test_served_api_versions() -> None:
    old = k8s("ExternalSecret", "s", {}, "external-secrets.io/v1beta1")
    new = k8s("ExternalSecret", "s", {}, "external-secrets.io/v1")
    (message,) = messages("served-api-versions", [old])
    assert "external-secrets.io/v1" in message
    assert messages("served-api-versions", [new]) == []
    assert "policy/v1beta1" in api_versions.UNSERVED


def hpa(min_replicas: int = 3, target: str = "app") -> Subject:
    return k8s(
        "HorizontalPodAutoscaler",
        "app",
        {
            "scaleTargetRef": {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "name": target,
            },
            "minReplicas": min_replicas,
            "maxReplicas": 10,
        },
        "autoscaling/v2",
    )


def test_no_replicas_under_an_hpa() -> None:
    (message,) = messages("no-replicas-under-hpa", [rollout(replicas=3), hpa()])
    assert "ExternallyScaled" in message
    assert messages("no-replicas-under-hpa", [rollout(), hpa()]) == []
    assert messages("no-replicas-under-hpa", [rollout(replicas=3), hpa(target="other")]) == []


def pdb(**spec: Any) -> Subject:
    return k8s(
        "PodDisruptionBudget", "app", {"selector": {"matchLabels": LABELS}, **spec}, "policy/v1"
    )


@pytest.mark.parametrize(
    ("budget", "replicas", "blocks"),
    [
        ({"minAvailable": 3}, 3, True),
        ({"minAvailable": "100%"}, 6, True),
        ({"maxUnavailable": 0}, 6, True),
        ({"maxUnavailable": "0%"}, 6, True),
        ({"minAvailable": 2}, 3, False),
        ({"maxUnavailable": 1}, 2, False),
        ({"maxUnavailable": "10%"}, 6, False),
    ],
)
def test_pdb_allows_disruption(budget: dict[str, Any], replicas: int, blocks: bool) -> None:
    found = messages("pdb-allows-disruption", [rollout(replicas=replicas), pdb(**budget)])
    assert bool(found) is blocks


def test_pdb_is_judged_at_the_hpa_minimum() -> None:
    found = messages("pdb-allows-disruption", [rollout(), hpa(min_replicas=4), pdb(minAvailable=4)])
    assert found and "minimum of 4" in found[0]
    assert scaling.allowed_disruptions({"minAvailable": "50%"}, 5) == 2


def test_default_deny_per_namespace() -> None:
    namespace = k8s("Namespace", "ns", {})
    (message,) = messages("default-deny-network", [namespace, rollout()])
    assert "no default-deny" in message
    only_ingress = k8s(
        "NetworkPolicy",
        "deny",
        {"podSelector": {}, "policyTypes": ["Ingress"]},
        "networking.k8s.io/v1",
    )
    assert not network.is_default_deny(only_ingress)
    assert messages("default-deny-network", [namespace, rollout(), only_ingress])


def aws(type_: str, name: str, props: dict[str, Any], depends: tuple[str, ...] = ()) -> Subject:
    return Subject(type_, f"urn:{type_}:{name}", name, props, depends)


def test_s3_buckets_protected() -> None:
    bucket = aws(storage.BUCKETS[0], "backups", {})
    settings = [
        aws(storage.ENCRYPTION[0], "enc", {}, (bucket.urn,)),
        aws(
            storage.VERSIONING[0],
            "ver",
            {"versioningConfiguration": {"status": "Enabled"}},
            (bucket.urn,),
        ),
        aws(
            storage.PUBLIC_ACCESS_BLOCK,
            "pab",
            dict.fromkeys(storage.BLOCK_FLAGS, True),
            (bucket.urn,),
        ),
    ]
    assert messages("s3-buckets-protected", [bucket, *settings]) == []
    found = messages("s3-buckets-protected", [bucket])
    assert len(found) == 3
    half_open = [
        *settings[:2],
        aws(storage.PUBLIC_ACCESS_BLOCK, "pab", {"blockPublicAcls": True}, (bucket.urn,)),
    ]
    (message,) = messages("s3-buckets-protected", [bucket, *half_open])
    assert "public" in message
    suspended = aws(
        storage.VERSIONING[0],
        "ver",
        {"versioningConfiguration": {"status": "Suspended"}},
        (bucket.urn,),
    )
    assert any(
        "versioned" in m
        for m in messages("s3-buckets-protected", [bucket, settings[0], suspended, settings[2]])
    )
