"""Schema validation as `prodstack check` runs it: built-in kinds against the Kubernetes OpenAPI
(kubernetes-validate's strict schemas), custom resources against the shipped CRD schemas made
strict, the pod template inside a Rollout as a Kubernetes pod template, each error with its
object and path."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from prodstack.check import Problem, Report, check
from prodstack.check.schema import schema_problems
from prodstack.check.schema.catalog import shipped
from prodstack.check.schema.kubernetes import (
    KubernetesVersionError,
    minor_of,
    supported_minors,
)
from prodstack.check.schema.paths import format_path
from prodstack.check.schema.validate import validate_object
from prodstack.cli import main
from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support.projects import broken_project
from tests.support.stacks import API, ROOT, environment


def one(graph: ResourceGraph, kind: str) -> dict[str, Any]:
    """The API's object of a kind (the first, for kinds the API has several of)."""
    return copy.deepcopy(
        next(
            d
            for d in manifests(graph)
            if d["kind"] == kind
            and (d["metadata"].get("labels") or {}).get("prodstack.io/service") == API
        )
    )


def paths(document: dict[str, Any], version: str = "1.33") -> list[str]:
    return [e.path for e in validate_object(document, version)]


def test_every_kind_prodstack_emits_has_a_served_schema(graph: ResourceGraph) -> None:
    catalog = shipped()
    for document in manifests(graph):
        group = document["apiVersion"].rpartition("/")[0]
        if catalog.defines_group(group):
            version = catalog.lookup(document["apiVersion"], document["kind"])
            assert version is not None and version.served, document["kind"]


def test_the_shipped_index_names_every_file_and_its_source() -> None:
    folder = ROOT / "prodstack" / "schemas"
    catalog = shipped()
    files = {v.file for v in catalog.versions if v.file}
    assert files | {"index.json"} == {p.name for p in folder.iterdir()}
    for version in catalog.versions:
        assert (version.file is None) == (not version.served)
        source = version.source
        assert set(source) == {"project", "path", "commit", "date", "release", "blob"}
        assert len(source["commit"]) == 40 and len(source["blob"]) == 40
    unserved = [v.describe() for v in catalog.versions if not v.served]
    assert "ExternalSecret external-secrets.io/v1beta1" in unserved
    assert {"ClusterSecretStore external-secrets.io/v1", "PodMonitor monitoring.coreos.com/v1"} <= (
        set(catalog.kinds())
    )


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("Service", lambda d: d["spec"].update(selectr={})),
        ("Service", lambda d: d["spec"]["ports"][0].update(port="http")),
        ("PodDisruptionBudget", lambda d: d["spec"].update(unhealthyPodEvictionPolicy=3)),
        ("CronJob", lambda d: d["spec"]["jobTemplate"]["spec"].update(backoffLimit="2")),
        (
            "CronJob",
            lambda d: d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0].update(
                imagePullPolicie="Always"
            ),
        ),
    ],
)
def test_built_in_errors_are_the_ones_kubernetes_validate_finds(
    production: ResourceGraph, kind: str, change: Any
) -> None:
    # prodstack reads kubernetes-validate's schema files itself (to report every error, not
    # the first); its verdict must stay the library's.
    document = one(production, kind)
    change(document)
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        kubernetes_validate.validate(document, "1.33", strict=True)
    expected = format_path(caught.value.path)
    found = paths(document)
    assert len(found) == 1
    assert found[0] == expected or found[0].startswith(expected + ".")


def test_every_error_of_an_object_is_reported(production: ResourceGraph) -> None:
    service = one(production, "Service")
    service["spec"]["selectr"] = {}
    service["spec"]["ports"][0]["port"] = "http"
    service["metadata"]["labelz"] = {}
    assert paths(service) == ["metadata.labelz", "spec.ports[0].port", "spec.selectr"]


def test_kubernetes_versions_are_the_ones_kubernetes_validate_has() -> None:
    minors = supported_minors()
    assert minors[0] == "1.25" and "1.33" in minors and "1.37" in minors
    assert minor_of("v1.33.4") == "1.33"
    with pytest.raises(KubernetesVersionError, match=r"Kubernetes 1\.20 is not one"):
        minor_of("1.20")
    with pytest.raises(KubernetesVersionError, match="not a version"):
        minor_of("latest")


def test_validation_follows_the_chosen_kubernetes_version(production: ResourceGraph) -> None:
    # The sleep action is in the API from 1.29; the 1.25 schema does not know it.
    rollout = one(production, "Rollout")
    assert paths(rollout, "1.29") == []
    sleep = "spec.template.spec.containers[0].lifecycle.preStop.sleep"
    assert sleep in paths(rollout, "1.25")


def test_an_unknown_field_in_a_rollout_is_named_by_its_path(production: ResourceGraph) -> None:
    rollout = one(production, "Rollout")
    rollout["spec"]["strategy"]["canary"]["stepz"] = []
    rollout["spec"]["strategy"]["canary"]["steps"][0]["setWeigth"] = 5
    (weigth, stepz) = validate_object(rollout)
    assert stepz.subject == "Rollout shop-production/shop-api"
    assert (weigth.path, stepz.path) == (
        "spec.strategy.canary.steps[0].setWeigth",
        "spec.strategy.canary.stepz",
    )
    assert stepz.message.endswith("; did you mean steps?")
    assert weigth.message.endswith("; did you mean setWeight?")
    rollout["spec"]["strategy"]["canary"].pop("stepz")
    rollout["spec"]["strategy"]["canary"]["cadence"] = 1
    (cadence, _) = sorted(validate_object(rollout), key=lambda e: e.path)
    assert cadence.message.endswith(
        "the fields here are abortScaleDownDelaySeconds, analysis, antiAffinity, canaryMetadata, "
        "canaryService, dynamicStableScale, maxSurge, maxUnavailable and 9 more"
    )


def test_a_typo_in_a_rollouts_pod_template_is_caught_where_the_crd_is_loose(
    production: ResourceGraph,
) -> None:
    rollout = one(production, "Rollout")
    rollout["spec"]["template"]["spec"]["volumes"][0]["emptyDirr"] = {}
    rollout["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["slep"] = {}
    # The Rollout CRD keeps unknown fields in volumes: only the Kubernetes pod template
    # schema sees the first typo.
    version = shipped().lookup("argoproj.io/v1alpha1", "Rollout")
    assert version is not None
    crd = shipped().validator(version)
    crd_paths = {format_path(e.absolute_path) for e in crd.iter_errors(rollout)}
    assert "spec.template.spec.volumes[0]" not in crd_paths
    assert paths(rollout) == [
        "spec.template.spec.containers[0].lifecycle.preStop.slep",
        "spec.template.spec.volumes[0].emptyDirr",
    ]


def test_crd_strictness_rules(production: ResourceGraph) -> None:
    rollout = one(production, "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    canary["maxSurge"] = 1  # int-or-string: both are fine
    canary["steps"].append({"plugin": {"name": "x", "config": {"anything": {"goes": 1}}}})
    assert paths(rollout) == []  # x-kubernetes-preserve-unknown-fields under config
    canary["maxSurge"] = {"percent": 25}
    (error,) = validate_object(rollout)
    assert (error.path, error.message) == (
        "spec.strategy.canary.maxSurge",
        "{'percent': 25} is not of type integer or string",
    )


def test_a_custom_resources_metadata_is_checked_as_object_meta(production: ResourceGraph) -> None:
    monitor = one(production, "ServiceMonitor")
    monitor["metadata"]["lables"] = {"a": "b"}
    assert paths(monitor) == ["metadata.lables"]


def test_a_wrong_type_in_a_service_monitor(production: ResourceGraph) -> None:
    monitor = one(production, "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["interval"] = 30
    monitor["spec"]["endpoints"][0]["scheme"] = "ftp"
    assert [(e.path, e.message) for e in validate_object(monitor)] == [
        ("spec.endpoints[0].interval", "30 is not of type 'string'"),
        ("spec.endpoints[0].scheme", "'ftp' is not one of ['http', 'https', 'HTTP', 'HTTPS']"),
    ]


def test_list_map_keys_refuse_duplicates(production: ResourceGraph) -> None:
    rules = one(production, "PrometheusRule")
    groups = rules["spec"]["groups"]
    groups.append(copy.deepcopy(groups[0]))
    (error,) = validate_object(rules)
    assert error.path == "spec.groups"
    assert f"items 0 and {len(groups) - 1} have the same key (name=" in error.message


def test_unknown_and_unserved_kinds_are_errors() -> None:
    (unknown,) = validate_object({"apiVersion": "example.com/v1", "kind": "Thing"})
    assert unknown.message.startswith("no schema ships for Thing example.com/v1; prodstack has ")
    assert "Rollout argoproj.io/v1alpha1" in unknown.message
    (version,) = validate_object({"apiVersion": "argoproj.io/v1beta1", "kind": "Rollout"})
    assert version.message == (
        "no schema for Rollout argoproj.io/v1beta1; its CRD serves argoproj.io/v1alpha1"
    )
    (removed,) = validate_object({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget"})
    assert removed.message == "Kubernetes 1.33 does not serve PodDisruptionBudget policy/v1beta1"


def test_the_guardrails_example_is_what_check_reports(production: ResourceGraph) -> None:
    text = (ROOT / "docs" / "guardrails.md").read_text()
    match = re.search(r"JSON path:\n\n```\n(.*?)```", text, re.S)
    assert match, "docs/guardrails.md lost its schema findings example"
    rollout, monitor = one(production, "Rollout"), one(production, "ServiceMonitor")
    rollout["spec"]["strategy"]["canary"]["stepz"] = []
    monitor["spec"]["endpoints"][0]["interval"] = 30
    problems = tuple(
        Problem(f.family, f.check, f.subject, f.message)
        for f in schema_problems([rollout, monitor])
    )
    checks_run = check(production, environment("production")).checks_run
    assert Report("production", checks_run, problems).human() + "\n" == match.group(1)


def test_schema_problems_take_plain_documents() -> None:
    findings = schema_problems(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "dato": {}}]
    )
    assert [(f.family, f.check, f.subject, f.path) for f in findings] == [
        ("schema", "schema", "ConfigMap c", "dato")
    ]


PLANTED = """
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "planted-rollout",
    api_version="argoproj.io/v1alpha1",
    kind="Rollout",
    metadata={"name": "planted", "namespace": "shop-production"},
    spec={
        "selector": {"matchLabels": {"app": "planted"}},
        "strategy": {"canary": {"stepz": [{"setWeight": 10}]}},
        "template": {
            "metadata": {"labels": {"app": "planted"}},
            "spec": {"containers": [{"name": "app", "image": "app:1", "imagePullPolicie": "x"}]},
        },
    },
)
k8s.apiextensions.CustomResource(
    "planted-monitor",
    api_version="monitoring.coreos.com/v1",
    kind="ServiceMonitor",
    metadata={"name": "planted", "namespace": "shop-production"},
    spec={
        "selector": {"matchLabels": {"app": "planted"}},
        "endpoints": [{"port": "http", "interval": 30}],
    },
)
"""


def test_prodstack_check_reports_planted_schema_errors_with_their_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = broken_project(tmp_path, "podSecurityVersion: v1.33", "podSecurityVersion: v1.33")
    program = project / "stacks" / "__main__.py"
    program.write_text(program.read_text() + PLANTED)
    assert main(["--project", str(project), "check", "production", "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    schema = sorted(
        (f["subject"], f["message"].split(":")[0]) for f in findings if f["family"] == "schema"
    )
    assert schema == [
        ("Rollout shop-production/planted", "spec.strategy.canary.stepz"),
        ("Rollout shop-production/planted", "spec.template.spec.containers[0].imagePullPolicie"),
        ("ServiceMonitor shop-production/planted", "spec.endpoints[0].interval"),
    ]
    assert main(["--project", str(project), "check", "production"]) == 1
    human = capsys.readouterr().out
    assert (
        "[schema:schema] ServiceMonitor shop-production/planted: spec.endpoints[0].interval: "
        "30 is not of type 'string'" in human
    )
