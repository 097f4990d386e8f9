"""`prodstack check`: clean on every stack; catches each class of dangling reference and each
missing or extra network flow in deliberately broken variants."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prodstack.check import Problem, Report, check, subjects
from prodstack.check.flows import declared_problems, pairing_problems
from prodstack.check.references import CHECKS, Index
from prodstack.cli import main
from prodstack.policies import PolicyContext, Subject, run_all
from prodstack.synth import ResourceGraph
from tests.support.projects import broken_project
from tests.support.stacks import API, ROOT, environment


def test_every_stack_is_clean(graph: ResourceGraph) -> None:
    report = check(graph, environment(graph.stack))
    assert report.problems == ()
    assert report.checks_run == 22


def broken(
    graph: ResourceGraph,
    kind: str,
    name: str | None,
    change: Callable[[dict[str, Any]], None],
    namespace: str = "shop-production",
) -> Index:
    """The graph's subjects with one object's props changed (the first of its kind and name
    in ``namespace``)."""
    items = []
    hit = False
    for subject in subjects(graph):
        if (
            subject.kind == kind
            and (name is None or subject.object_name == name)
            and subject.namespace in (namespace, "")
            and not hit
        ):
            hit = True
            props = copy.deepcopy(dict(subject.props))
            change(props)
            items.append(
                Subject(subject.type, subject.urn, subject.name, props, subject.dependencies)
            )
            continue
        items.append(subject)
    assert hit, (kind, name)
    return Index(items)


def without(graph: ResourceGraph, kind: str, name: str) -> Index:
    return Index([s for s in subjects(graph) if not (s.kind == kind and s.object_name == name)])


def reference_problems(index: Index) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check_name, run in CHECKS:
        for _, message in run(index):
            found.setdefault(check_name, []).append(message)
    return found


def set_path(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        target = props
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


CASES = [
    (
        "hpa-target",
        lambda g: broken(
            g, "HorizontalPodAutoscaler", None, set_path(["spec", "scaleTargetRef", "name"], "gone")
        ),
    ),
    (
        "selectors-select-pods",
        lambda g: broken(
            g, "Service", "shop-api", set_path(["spec", "selector"], {"app": "nobody"})
        ),
    ),
    (
        "selectors-select-pods",
        lambda g: broken(
            g,
            "PodDisruptionBudget",
            None,
            set_path(["spec", "selector"], {"matchLabels": {"app": "nobody"}}),
        ),
    ),
    (
        "selectors-select-pods",
        lambda g: broken(
            g,
            "NetworkPolicy",
            "shop-api-allow-ingress-controller",
            set_path(["spec", "podSelector"], {"matchLabels": {"app": "nobody"}}),
        ),
    ),
    (
        "service-monitor-target",
        lambda g: broken(
            g, "ServiceMonitor", None, set_path(["spec", "endpoints", 0, "port"], "metricz")
        ),
    ),
    (
        "service-monitor-target",
        lambda g: broken(
            g,
            "ServiceMonitor",
            None,
            set_path(["spec", "selector"], {"matchLabels": {"app": "nobody"}}),
        ),
    ),
    ("rollout-references", lambda g: without(g, "Service", "shop-api-canary")),
    ("rollout-references", lambda g: without(g, "AnalysisTemplate", "shop-api-latency-gate")),
    (
        "rollout-references",
        lambda g: broken(
            g,
            "AnalysisTemplate",
            "shop-api-latency",
            set_path(["spec", "args"], [{"name": "canary-hash"}, {"name": "service"}]),
        ),
    ),
    ("secret-store", lambda g: without(g, "SecretStore", "shop-api-vault")),
    ("pod-references", lambda g: without(g, "ConfigMap", "shop-api-settings")),
    ("pod-references", lambda g: without(g, "ExternalSecret", "shop-api-secrets")),
    ("pod-references", lambda g: without(g, "ServiceAccount", "shop-api")),
]


@pytest.mark.parametrize(("check_name", "make"), CASES)
def test_each_dangling_reference_is_caught(
    production: ResourceGraph, check_name: str, make: Callable[[ResourceGraph], Index]
) -> None:
    assert check_name in reference_problems(make(production))


def test_role_binding_references_are_checked() -> None:
    role = Subject(
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "urn:role",
        "r",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "app-api", "namespace": "ns"},
        },
    )
    binding = Subject(
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "urn:binding",
        "b",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "app-api", "namespace": "ns"},
            "roleRef": {"kind": "Role", "name": "app-api"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "ns"}],
        },
    )
    found = reference_problems(Index([role, binding]))
    assert found["role-bindings"] == ["subject ServiceAccount ns/app is not in the stack"]
    assert "role-bindings" in reference_problems(Index([binding]))


def flows(graph: ResourceGraph, index: Index) -> list[str]:
    return list(declared_problems(index, environment(graph.stack)))


@pytest.mark.parametrize(
    ("policy", "flow"),
    [
        ("allow-dns", "resolves names over UDP"),
        ("allow-prometheus-scrape", "Prometheus scrapes"),
        ("shop-api-allow-ingress-controller", "ingress controller"),
        ("shop-api-allow-load-balancer", "load balancer"),
        ("shop-api-allow-database", "shop-api reaches its database"),
        ("shop-api-allow-redis", "shop-api reaches its Redis"),
        ("order-worker-allow-redis", "order-worker reaches its Redis"),
        ("shop-api-allow-backup-database", "shop-api-db-backup reaches the database"),
        ("shop-api-allow-backup-https", "shop-api-db-backup reaches S3 and STS"),
        ("shop-api-allow-https", "shop-api calls HTTPS"),
        ("shop-api-from-order-worker", "order-worker calls shop-api"),
        ("storefront-to-shop-api", "storefront calls shop-api"),
    ],
)
def test_a_missing_flow_is_caught(production: ResourceGraph, policy: str, flow: str) -> None:
    problems = flows(production, without(production, "NetworkPolicy", policy))
    assert any(p.startswith("declared flow is blocked") and flow in p for p in problems), problems


@pytest.mark.parametrize(
    ("policy", "side"),
    [("shop-api-from-order-worker", "ingress"), ("order-worker-to-shop-api", "egress")],
)
def test_half_a_call_is_caught_without_the_configuration(
    production: ResourceGraph, policy: str, side: str
) -> None:
    """The other half declares the call; the graph alone shows that it is blocked."""
    problems = list(pairing_problems(without(production, "NetworkPolicy", policy)))
    assert len(problems) == 1
    assert "order-worker calls shop-api" in problems[0]
    assert f"no {side} policy in namespace shop-production admits it" in problems[0]


def test_an_undeclared_call_is_caught(production: ResourceGraph) -> None:
    """Policies wide enough to let the storefront reach the worker, which it does not call."""

    def whole_namespace(direction: str, peers: str) -> Callable[[dict[str, Any]], None]:
        def change(props: dict[str, Any]) -> None:
            rule = props["spec"][direction][0]
            rule.pop("ports")
            if direction == "egress":
                rule[peers][0].pop("podSelector")
            else:
                props["spec"]["podSelector"] = {}

        return change

    changes = {
        "storefront-to-shop-api": whole_namespace("egress", "to"),
        "shop-api-from-storefront": whole_namespace("ingress", "from"),
    }
    items = []
    for subject in subjects(production):
        change = changes.get(subject.object_name) if subject.kind == "NetworkPolicy" else None
        if change is None:
            items.append(subject)
            continue
        props = copy.deepcopy(dict(subject.props))
        change(props)
        items.append(Subject(subject.type, subject.urn, subject.name, props, subject.dependencies))
    problems = flows(production, Index(items))
    assert any("undeclared flow is allowed: storefront calls order-worker" in p for p in problems)


def test_a_too_wide_policy_is_caught(production: ResourceGraph) -> None:
    def open_port(props: dict[str, Any]) -> None:
        props["spec"]["ingress"][0]["ports"] = []

    problems = flows(
        production, broken(production, "NetworkPolicy", "allow-prometheus-scrape", open_port)
    )
    assert any(
        f"undeclared flow is allowed: Prometheus calls {API}'s app port" in p for p in problems
    ), problems


def test_without_default_deny_the_policy_check_fails(production: ResourceGraph) -> None:
    items = [
        s for s in subjects(production)
        if not (s.kind == "NetworkPolicy" and s.object_name == "default-deny"
                and s.namespace == "shop-web")
    ]  # fmt: skip
    findings = run_all(items, PolicyContext("production"))
    assert [(f.policy, f.subject) for f in findings] == [
        ("default-deny-network", "Namespace shop-web")
    ]


def test_metadata_exclusion_is_what_keeps_imds_closed(production: ResourceGraph) -> None:
    def drop_except(props: dict[str, Any]) -> None:
        for peer in props["spec"]["egress"][0]["to"]:
            peer["ipBlock"].pop("except", None)

    problems = flows(
        production, broken(production, "NetworkPolicy", "shop-api-allow-https", drop_except)
    )
    assert any("reads instance metadata over 443" in p for p in problems)


def test_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "check", "production", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["clean"] is True and report["findings"] == []
    assert main(["--project", str(ROOT), "check", "nope"]) == 2
    assert "unknown stack" in capsys.readouterr().err
    project = broken_project(
        tmp_path, "prodstack:podSecurityVersion: v1.33", "prodstack:podSecurityVersion: v1"
    )
    assert main(["--project", str(project), "check", "production"]) == 2
    assert "prodstack:podSecurityVersion" in capsys.readouterr().err


def test_cli_reports_findings_with_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prodstack.check

    def failing(graph: ResourceGraph, env: Any = None, versions: Any = None, **_: Any) -> Report:
        problem = Problem(
            "policy", "images-pinned", "Rollout shop-production/shop-api", "uses latest"
        )
        return Report(graph.stack, 16, (problem,))

    monkeypatch.setattr(prodstack.check, "check", failing)
    assert main(["--project", str(ROOT), "check", "production"]) == 1
    out = capsys.readouterr().out
    assert "1 finding(s)" in out and "[policy:images-pinned]" in out
