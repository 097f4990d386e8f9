"""The controller versions table (prodstack.check.versions): the stacks check clean at the
declared minimums, a declared older release turns exactly the fields it lacks into findings, every
field the table names is a real field, and docs/versions.md shows the table as it is."""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import pytest

from prodstack.check.schema import schema_problems
from prodstack.check.schema.catalog import shipped
from prodstack.check.schema.paths import reach, steps
from prodstack.check.schema.served import unserved_fields
from prodstack.check.schema.validate import validate_object
from prodstack.check.versions import (
    ARGO_ROLLOUTS,
    CONTROLLERS,
    DEFAULT_KUBERNETES_VERSION,
    KUBERNETES,
    MINIMUMS,
    REQUIREMENTS,
    DeclaredVersions,
    Requirement,
    VersionError,
    parse,
    requirements_of,
)
from prodstack.cli import main
from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.conftest import stack_graph
from tests.support.stacks import ROOT, STACKS, environment, svc, synthesize_environment

DOC = ROOT / "docs" / "versions.md"
SLEEP = "spec.template.spec.containers[0].lifecycle.preStop.sleep"


def below(version: str) -> str:
    """A release just older than the given one."""
    major, minor, patch = parse(version)
    if patch:
        return f"{major}.{minor}.{patch - 1}"
    return f"{major}.{minor - 1}.99" if minor else f"{major - 1}.99.99"


def declared(controller: str, version: str) -> DeclaredVersions:
    if controller == KUBERNETES:
        return DeclaredVersions(kubernetes=version)
    return DeclaredVersions(controllers={controller: version})


def rollout(production: ResourceGraph) -> dict[str, Any]:
    return copy.deepcopy(
        next(
            d
            for d in manifests(production)
            if d["kind"] == "Rollout" and d["metadata"]["name"] == "shop-api"
        )
    )


def test_the_stacks_are_clean_at_the_defaults_and_at_every_minimum(graph: ResourceGraph) -> None:
    assert schema_problems(graph) == []
    assert schema_problems(graph, DeclaredVersions(kubernetes=MINIMUMS[KUBERNETES])) == []


def test_pre_stop_sleep_under_argo_rollouts_1_6_is_a_finding(production: ResourceGraph) -> None:
    document = rollout(production)
    assert unserved_fields(document) == []
    found = unserved_fields(document, declared(ARGO_ROLLOUTS, "1.6"))
    sleep = [u for u in found if u.path == SLEEP]
    assert len(sleep) == 1
    assert sleep[0].subject == "Rollout shop-production/shop-api"
    assert sleep[0].requirement.version == "1.7.0"
    assert sleep[0].message.startswith(
        f"{SLEEP} needs Argo Rollouts 1.7.0 or later (declared 1.6): "
    )
    # The affinity terms' matchLabelKeys are pruned by v1.6's CRD as well; the spread's are not.
    assert {u.path.rsplit(".", 1)[-1] for u in found} == {"sleep", "matchLabelKeys"}
    assert not [u for u in found if "topologySpreadConstraints" in u.path]


# Prometheus Operator's minimum is the oldest release assessed: nothing below it to declare.
ABOVE_THE_FLOOR = [c.key for c in CONTROLLERS if parse(MINIMUMS[c.key]) > parse(c.assessed_from)]


def test_only_the_prometheus_operator_minimum_is_its_floor() -> None:
    assert {c.key for c in CONTROLLERS} - set(ABOVE_THE_FLOOR) == {"prometheus-operator"}


def _nlb_idle_timeout(raw: dict[str, Any]) -> None:
    svc(raw)["loadBalancer"]["idleTimeoutSeconds"] = 600


# Stacks that use a feature no shipped stack needs: the NLB listener's idle timeout (the
# controller's newest requirement; production's API is on the ALB, staging's NLB keeps the
# default).
FEATURE_STACKS = {"aws-load-balancer-controller": ("staging", _nlb_idle_timeout)}


@pytest.mark.parametrize("controller", ABOVE_THE_FLOOR)
def test_a_release_below_the_minimum_is_a_finding_where_the_feature_is_used(
    controller: str,
) -> None:
    minimum = MINIMUMS[controller]
    graphs = [stack_graph(stack) for stack in STACKS]
    if controller in FEATURE_STACKS:
        stack, change = FEATURE_STACKS[controller]
        graphs.append(synthesize_environment(environment(stack, change), stack))
    needed: set[str] = set()
    for graph in graphs:
        findings = schema_problems(graph, declared(controller, below(minimum)))
        served = [f for f in findings if f.check == "served-fields"]
        needed |= {f.message.split(" or later")[0].rsplit(" ", 1)[-1] for f in served}
    assert minimum in needed, controller


def test_one_requirement_gives_one_finding_per_place(production: ResourceGraph) -> None:
    # Kubernetes 1.30 serves the sleep action but not the affinity terms' matchLabelKeys.
    found = unserved_fields(rollout(production), DeclaredVersions(kubernetes="1.30"))
    assert sorted(u.path for u in found) == [
        "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuring"
        f"Execution[{i}].podAffinityTerm.matchLabelKeys"
        for i in (0, 1)
    ]


def test_a_value_requirement_matches_only_its_value(production: ResourceGraph) -> None:
    application = copy.deepcopy(
        next(d for d in manifests(production) if d["kind"] == "Application")
    )
    old = DeclaredVersions(controllers={"argo-cd": "2.4.0"})
    assert any(
        "ServerSideApply=true" in u.requirement.field for u in unserved_fields(application, old)
    )
    application["spec"]["syncPolicy"]["syncOptions"] = ["CreateNamespace=true"]
    assert not [u for u in unserved_fields(application, old) if "syncOptions" in u.path]


def example(pattern: str, value: Any) -> dict[str, Any]:
    """The smallest document that has a value at the pattern's path (list steps: one item)."""
    document: Any = value
    for step in reversed(steps(pattern)):
        document = [document] if step is None else {step.replace("*", "TCP-80"): document}
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize(
    "requirement", REQUIREMENTS, ids=[f"{r.controller}-{r.version}-{r.field}" for r in REQUIREMENTS]
)
def test_every_field_the_table_names_is_a_field_of_its_kind(requirement: Requirement) -> None:
    # A pattern that names no real field would never find anything: build a document with the
    # field and check the schema (CRD or Kubernetes) knows every step of it.
    for place, pattern in requirement.places:
        group, _, kind = place.partition("/")
        version = _served_version(group, kind)
        leaf = requirement.equals or "x"
        document = {**example(pattern, leaf), "kind": kind, "apiVersion": version}
        if pattern == "apiVersion":
            document["apiVersion"] = requirement.equals or version
        assert [path for path, _ in reach(document, pattern)], (place, pattern)
        unknown = [
            e for e in validate_object(document, "1.37") if e.message.startswith("unknown field")
        ]
        assert unknown == [], (place, pattern)


def _served_version(group: str, kind: str) -> str:
    catalog = shipped()
    if catalog.defines_group(group):
        version = next(v for v in catalog.versions_of(group, kind) if v.served)
        return version.api_version
    built_in = {
        "": "v1",
        "apps": "apps/v1",
        "batch": "batch/v1",
        "policy": "policy/v1",
        "networking.k8s.io": "networking.k8s.io/v1",
    }
    return built_in[group]


def test_minimums_are_the_newest_requirement_of_each_controller() -> None:
    for controller in CONTROLLERS:
        versions = [parse(r.version) for r in requirements_of(controller.key)]
        assert parse(MINIMUMS[controller.key]) == max(versions)
        assert min(versions) >= parse(controller.assessed_from)


def test_declared_versions_are_checked() -> None:
    assert DeclaredVersions().of(KUBERNETES) == DEFAULT_KUBERNETES_VERSION
    assert DeclaredVersions().of(ARGO_ROLLOUTS) == MINIMUMS[ARGO_ROLLOUTS]
    with pytest.raises(VersionError, match="unknown controller 'argo'"):
        DeclaredVersions(controllers={"argo": "1.0"})
    with pytest.raises(VersionError, match="Argo Rollouts version: 'one' is not a version"):
        DeclaredVersions(controllers={ARGO_ROLLOUTS: "one"})
    with pytest.raises(VersionError, match=r"older than 1\.0\.0, the oldest release"):
        DeclaredVersions(controllers={ARGO_ROLLOUTS: "0.10"})
    with pytest.raises(VersionError, match=r"Kubernetes 1\.24 is not one of the minors"):
        DeclaredVersions(kubernetes="1.24")
    assert parse("v1.7.0-rc1") == (1, 7, 0) and parse("2") == (2, 0, 0)


def test_the_cli_takes_declared_versions(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--project", str(ROOT), "check", "production"]
    assert main([*args, "--argo-rollouts-version", "1.6"]) == 1
    out = capsys.readouterr().out
    assert f"[schema:served-fields] Rollout shop-production/shop-api: {SLEEP} needs Argo" in out
    assert main([*args, "--kubernetes-version", "1.31", "--argo-cd-version", "v2.8.0"]) == 0
    capsys.readouterr()
    assert main([*args, "--external-secrets-version", "latest"]) == 2
    err = capsys.readouterr().err
    assert "External Secrets version: 'latest' is not a version" in err
    assert "Traceback" not in err


# docs/versions.md: generated tables between markers.


def minimums_table() -> str:
    lines = ["| component | minimum | needed for |", "|---|---|---|"]
    for controller in CONTROLLERS:
        needs = [
            r for r in requirements_of(controller.key) if r.version == MINIMUMS[controller.key]
        ]
        fields = "; ".join(r.field for r in needs)
        lines.append(f"| {controller.name} | {MINIMUMS[controller.key]} | {fields} |")
    return "\n".join(lines) + "\n"


def requirements_table() -> str:
    lines = ["| component | from | field | why | established by |", "|---|---|---|---|---|"]
    for controller in CONTROLLERS:
        for r in requirements_of(controller.key):
            lines.append(
                f"| {controller.name} | {r.version} | {r.field} | {r.reason} | {r.source} |"
            )
    return "\n".join(lines) + "\n"


def schemas_table() -> str:
    lines = [
        "| kind | version | served | upstream | commit | release |",
        "|---|---|---|---|---|---|",
    ]
    for v in shipped().versions:
        source = v.source
        lines.append(
            f"| {v.kind} | {v.api_version} | {'yes' if v.served else 'no'} | "
            f"{source['project']} `{source['path']}` | {source['commit'][:12]} "
            f"({source['date']}) | {source['release']} |"
        )
    return "\n".join(lines) + "\n"


GENERATED = {
    "minimums": minimums_table,
    "requirements": requirements_table,
    "schemas": schemas_table,
}


def test_docs_show_the_tables_as_the_code_has_them() -> None:
    text = DOC.read_text()
    for name, make in GENERATED.items():
        begin, end = f"<!-- BEGIN {name} -->\n", f"<!-- END {name} -->"
        current = make()
        if os.environ.get("PRODSTACK_UPDATE_DOCS") == "1":
            start = text.index(begin) + len(begin)
            text = text[:start] + current + text[text.index(end) :]
            DOC.write_text(text)
        match = re.search(re.escape(begin) + "(.*?)" + re.escape(end), text, re.S)
        assert match, f"docs/versions.md lost its {name} markers"
        assert match.group(1) == current, (
            "docs/versions.md is stale: run PRODSTACK_UPDATE_DOCS=1 pytest "
            "tests/test_schemas_versions.py"
        )


def test_the_docs_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert blocks
    for block in blocks:
        namespace: dict[str, Any] = {}
        exec(compile(block, str(DOC), "exec"), namespace)
