"""The restricted-profile checker itself: it must refuse what the profile refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from prodstack.pod_security import pod_templates, restricted_violations

GOOD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
    ],
    "volumes": [{"name": "tmp", "emptyDir": {}}],
}


def with_change(path: list[Any], value: Any) -> dict[str, Any]:
    pod = copy.deepcopy(GOOD)
    target = pod
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return pod


def test_a_compliant_pod_passes() -> None:
    assert restricted_violations(GOOD) == []


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (["hostNetwork"], True, "hostNetwork"),
        (["securityContext", "runAsNonRoot"], False, "non-root"),
        (["securityContext", "seccompProfile"], {"type": "Unconfined"}, "Unconfined"),
        (["containers", 0, "securityContext", "privileged"], True, "privileged"),
        (
            ["containers", 0, "securityContext", "allowPrivilegeEscalation"],
            True,
            "allowPrivilegeEscalation",
        ),
        (["containers", 0, "securityContext", "capabilities"], {"drop": ["NET_RAW"]}, "drop ALL"),
        (
            ["containers", 0, "securityContext", "capabilities"],
            {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
            "adds",
        ),
        (["containers", 0, "securityContext", "runAsUser"], 0, "uid 0"),
        (["containers", 0, "ports"], [{"containerPort": 80, "hostPort": 80}], "hostPort"),
        (["volumes"], [{"name": "host", "hostPath": {"path": "/"}}], "allowed set"),
    ],
)
def test_each_breach_is_named(path: list[Any], value: Any, reason: str) -> None:
    problems = restricted_violations(with_change(path, value))
    assert any(reason in problem for problem in problems), problems


def test_init_containers_are_checked_too() -> None:
    pod = copy.deepcopy(GOOD)
    pod["initContainers"] = [{"name": "init", "securityContext": {}}]
    assert any("'init'" in problem for problem in restricted_violations(pod))


def test_pod_templates_are_found_in_workloads_and_cronjobs() -> None:
    cronjob = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": GOOD}}}}}
    rollout = {"kind": "Rollout", "spec": {"template": {"spec": GOOD}}}
    pod = {"kind": "Pod", "spec": GOOD}
    service = {"kind": "Service", "spec": {"selector": {}}}
    assert [len(list(pod_templates(d))) for d in (cronjob, rollout, pod, service)] == [1, 1, 1, 0]
