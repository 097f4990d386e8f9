"""Graph tests of VaultSecrets in the synthesized stacks, in variants, and on its own."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from prodstack import AppIdentity
from prodstack.components.vault_secrets import VaultSecrets, VaultSecretsArgs
from prodstack.config import VaultSecretsConfig
from prodstack.pod_security import ALLOWED_VOLUME_TYPES
from prodstack.render import render
from prodstack.specs import vault_secrets as spec
from prodstack.specs.canary import TIMEOUT_SECONDS, WAIT_FOR
from prodstack.specs.gitops import SYNC_WAVE
from prodstack.specs.pod import PodWiring
from prodstack.synth import Resource, ResourceGraph, synthesize
from prodstack.synth.manifests import manifests
from tests.support import schemas
from tests.support.stacks import API, ROOT, environment, svc, synthesize_environment

WORKLOADS = ("Rollout", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def pod_specs(graph: ResourceGraph) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in graph.kubernetes_objects():
        if resource.kind not in WORKLOADS:
            continue
        spec_ = resource.inputs["spec"]
        if resource.kind == "CronJob":
            spec_ = spec_["jobTemplate"]["spec"]
        yield resource, spec_["template"]["spec"]


def produced_keys(external_secret: dict[str, Any]) -> set[str]:
    """The keys External Secrets writes into the target Secret: the template's, plus the
    fetched ``data`` keys when there is no template or its merge policy is Merge."""
    fetched = {entry["secretKey"] for entry in external_secret.get("data", [])}
    template = external_secret.get("target", {}).get("template")
    if not template or "data" not in template:
        return fetched
    keys = set(template["data"])
    if template.get("mergePolicy", "Replace") == "Merge":
        keys |= fetched
    return keys


def secret_reads(pod: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(Secret name, key) for every key a pod reads; key None where it reads them all."""
    reads: list[tuple[str, str | None]] = []
    for volume in pod.get("volumes", []):
        sources = [{"secret": volume["secret"]}] if "secret" in volume else []
        sources += volume.get("projected", {}).get("sources", [])
        for source in sources:
            if "secret" not in source:
                continue
            secret = source["secret"]
            name = secret.get("secretName", secret.get("name"))
            items = secret.get("items")
            reads += [(name, item["key"]) for item in items] if items else [(name, None)]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        for entry in container.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                reads.append((ref["name"], ref["key"]))
        for entry in container.get("envFrom", []):
            if "secretRef" in entry:
                reads.append((entry["secretRef"]["name"], None))
    return reads


def config_map_reads(pod: dict[str, Any]) -> list[tuple[str, str | None]]:
    reads: list[tuple[str, str | None]] = []
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            items = volume["configMap"].get("items")
            name = volume["configMap"]["name"]
            reads += [(name, item["key"]) for item in items] if items else [(name, None)]
    for container in pod["containers"]:
        for entry in container.get("envFrom", []):
            if "configMapRef" in entry:
                reads.append((entry["configMapRef"]["name"], None))
        for entry in container.get("env", []):
            ref = entry.get("valueFrom", {}).get("configMapKeyRef")
            if ref:
                reads.append((ref["name"], ref["key"]))
    return reads


def test_each_stack_has_one_v1_store_and_external_secret(graph: ResourceGraph) -> None:
    assert (
        len(
            [
                s
                for s in graph.kind("SecretStore", spec.API_VERSION)
                if made_by_vault_secrets(graph, s)
            ]
        )
        == 1
    )
    assert (
        len(
            [
                e
                for e in graph.kind("ExternalSecret", spec.API_VERSION)
                if made_by_vault_secrets(graph, e)
            ]
        )
        == 1
    )
    assert not [r for r in graph.kubernetes_objects() if r.api_version.endswith("/v1beta1")]


def test_store_and_external_secret_reference_each_other(graph: ResourceGraph) -> None:
    store = app_store(graph)
    external = app_external_secret(graph)
    assert external.inputs["spec"]["secretStoreRef"] == {
        "kind": store.kind,
        "name": store.object_name,
    }
    assert external.namespace == store.namespace
    assert store.urn in external.dependencies
    # The store logs in as the app's own account, which exists beside it.
    account = store.inputs["spec"]["provider"]["vault"]["auth"]["kubernetes"]["serviceAccountRef"]
    assert (
        account["name"]
        == graph.one("Rollout", API).inputs["spec"]["template"]["spec"]["serviceAccountName"]
    )
    accounts = {(r.namespace, r.object_name) for r in graph.kind("ServiceAccount")}
    assert (store.namespace, account["name"]) in accounts


def test_every_secret_key_a_pod_reads_is_produced(graph: ResourceGraph) -> None:
    targets = {
        (es.namespace, es.inputs["spec"]["target"]["name"]): produced_keys(es.inputs["spec"])
        for es in graph.kind("ExternalSecret")
    }
    checked = 0
    for workload, pod in pod_specs(graph):
        for name, key in secret_reads(pod):
            produced = targets.get((workload.namespace, name))
            assert produced is not None, f"{workload.object_name} reads Secret {name}: no source"
            assert key is None or key in produced, f"{workload.object_name} reads {name}/{key}"
            checked += 1
    assert checked >= 2


def test_every_template_variable_is_fetched(graph: ResourceGraph) -> None:
    from tests.support import go_template

    external = app_external_secret(graph).inputs["spec"]
    fetched = {entry["secretKey"] for entry in external["data"]}
    for template in external["target"]["template"]["data"].values():
        assert go_template.variables(template) <= fetched


def test_every_config_map_key_a_pod_reads_exists(graph: ResourceGraph) -> None:
    maps = {(c.namespace, c.object_name): set(c.inputs["data"]) for c in graph.kind("ConfigMap")}
    reads = [(w, read) for w, pod in pod_specs(graph) for read in config_map_reads(pod)]
    assert reads
    for workload, (name, key) in reads:
        assert (workload.namespace, name) in maps, f"{workload.object_name} reads {name}"
        assert key is None or key in maps[(workload.namespace, name)]


def test_pods_read_the_secret_as_read_only_files(graph: ResourceGraph) -> None:
    pod = graph.one("Rollout", API).inputs["spec"]["template"]["spec"]
    secret_name = app_external_secret(graph).inputs["spec"]["target"]["name"]
    volume = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == secret_name)
    assert volume["secret"]["defaultMode"] & ~0o440 == 0
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    assert mount["mountPath"] == "/etc/app/secrets"
    assert "subPath" not in mount  # a subPath mount would never see a rotated value
    assert not [e for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]


def test_pod_volumes_stay_within_the_restricted_profile(graph: ResourceGraph) -> None:
    for workload, pod in pod_specs(graph):
        for volume in pod["volumes"]:
            kinds = set(volume) - {"name"}
            assert kinds <= ALLOWED_VOLUME_TYPES, (workload.object_name, volume["name"])


# A URL that carries a password (scheme://user:password@host), outside template actions.
_CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@{}]*:[^@\s{}]+@")
_SECRETISH_NAME = re.compile(r"(?i)(password|passwd|token|secret|credential|api_?key|_url)$")


def secret_leaks(documents: list[dict[str, Any]]) -> list[str]:
    """What in rendered documents could be a secret value rather than a reference to one."""
    leaks: list[str] = []
    for document in documents:
        where = f"{document['kind']}/{document['metadata']['name']}"
        if document["kind"] == "Secret":
            leaks.append(f"{where}: a Secret is rendered (External Secrets creates it in-cluster)")
        text = yaml.safe_dump(document)
        for match in _CREDENTIAL_URL.finditer(text):
            leaks.append(f"{where}: URL with a password: {match.group(0)}")
        if "stringData" in text:
            leaks.append(f"{where}: stringData")
        spec_ = document.get("spec", {})
        pods = [spec_.get("template", {}).get("spec", {})] if "template" in spec_ else []
        for pod in pods:
            for container in pod.get("containers", []):
                for entry in container.get("env", []):
                    if "value" in entry and _SECRETISH_NAME.search(entry["name"]):
                        leaks.append(f"{where}: env {entry['name']} has a literal value")
    return leaks


def test_no_secret_value_in_any_rendered_file(graph: ResourceGraph, tmp_path: Path) -> None:
    result = render(graph, tmp_path)
    documents = [
        yaml.safe_load(path.read_text()) for path in sorted(result.directory.rglob("*.yaml"))
    ]
    assert len(documents) == len(graph.kubernetes_objects())
    assert secret_leaks(documents) == []
    assert "password" not in (result.directory / "cloud-resources.json").read_text().lower()


def test_the_leak_check_finds_leaks() -> None:
    rollout = {
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"env": [{"name": "DATABASE_URL", "value": "postgresql://u:hunter2@db/x"}]}
                    ]
                }
            }
        },
    }
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}
    assert len(secret_leaks([rollout, secret])) == 4


def production_variant(change: Any) -> ResourceGraph:
    return synthesize_environment(environment("production", change), stack="variant")


def _flip_new_ui(raw: dict[str, Any]) -> None:
    flags = svc(raw)["vaultSecrets"]["settings"]["featureFlags"]
    flags["newUI"] = not flags["newUI"]


def test_a_changed_flag_changes_the_pod_template() -> None:
    before = production_variant(None)
    after = production_variant(_flip_new_ui)
    old = copy.deepcopy(dict(before.one("Rollout", API).inputs["spec"]["template"]))
    new = copy.deepcopy(dict(after.one("Rollout", API).inputs["spec"]["template"]))
    assert (
        new["metadata"]["annotations"][spec.CONFIG_CHECKSUM]
        != old["metadata"]["annotations"][spec.CONFIG_CHECKSUM]
    )
    assert (
        new["metadata"]["annotations"][spec.SECRET_TEMPLATE_CHECKSUM]
        == old["metadata"]["annotations"][spec.SECRET_TEMPLATE_CHECKSUM]
    )
    # The checksum is the only difference in the template: nothing else restarts for no reason.
    del old["metadata"]["annotations"][spec.CONFIG_CHECKSUM]
    del new["metadata"]["annotations"][spec.CONFIG_CHECKSUM]
    assert new == old
    settings = "shop-api-settings"
    assert (
        before.one("ConfigMap", settings).inputs["data"]
        != after.one("ConfigMap", settings).inputs["data"]
    )


def test_a_changed_secret_template_changes_the_pod_template() -> None:
    def other_ca(raw: dict[str, Any]) -> None:
        svc(raw)["vaultSecrets"]["database"]["sslRootCert"] = "/etc/ssl/certs/other-ca.pem"

    def template_metadata(graph: ResourceGraph) -> dict[str, Any]:
        metadata: dict[str, Any] = graph.one("Rollout", API).inputs["spec"]["template"]["metadata"]
        return metadata

    before = template_metadata(production_variant(None))
    after = template_metadata(production_variant(other_ca))
    key = spec.SECRET_TEMPLATE_CHECKSUM
    assert after["annotations"][key] != before["annotations"][key]


def test_env_delivery_is_possible_and_stays_valid() -> None:
    def env_mode(raw: dict[str, Any]) -> None:
        svc(raw)["vaultSecrets"]["delivery"] = {"secrets": "env", "settings": "files"}

    graph = production_variant(env_mode)
    rollout = graph.one("Rollout", API).inputs
    pod = rollout["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url"
    assert "value" not in env["DATABASE_URL"]
    assert not [v for v in pod["volumes"] if "secret" in v]
    assert [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v] == [
        "shop-api-settings"
    ]
    schemas.validate_pod_template(
        copy.deepcopy(rollout["spec"]["template"]), rollout["metadata"]["namespace"]
    )
    documents = manifests(graph)
    assert secret_leaks(documents) == []
    targets = {app_external_secret(graph).inputs["spec"]["target"]["name"]}
    assert {name for name, _ in secret_reads(pod)} == targets


def _cluster_store(raw: dict[str, Any]) -> None:
    svc(raw)["vaultSecrets"]["vault"]["storeKind"] = "ClusterSecretStore"


def test_cluster_secret_store_option() -> None:
    graph = production_variant(_cluster_store)
    assert not [s for s in graph.kind("SecretStore") if made_by_vault_secrets(graph, s)]
    store = app_store(graph, "ClusterSecretStore")
    assert store.namespace is None
    assert store.object_name == "shop-production-shop-api-vault"
    assert store.inputs["spec"]["conditions"] == [{"namespaces": ["shop-production"]}]
    ref = app_external_secret(graph).inputs["spec"]["secretStoreRef"]
    assert ref == {"kind": "ClusterSecretStore", "name": store.object_name}


def test_cluster_secret_store_validates_against_its_own_schema() -> None:
    document = next(
        d for d in manifests(production_variant(_cluster_store)) if "Cluster" in d["kind"]
    )
    schemas.assert_valid(document)
    broken = copy.deepcopy(document)
    broken["spec"]["conditions"][0]["namespace"] = "shop-production"
    assert [(e.path, e.message.split(" (")[0]) for e in schemas.errors(broken)] == [
        ("spec.conditions[0].namespace", "unknown field")
    ]


def test_external_secret_validation_is_strict(production: ResourceGraph) -> None:
    document = next(
        d
        for d in manifests(production)
        if d["kind"] == "ExternalSecret"
        and d["metadata"]["name"] == app_external_secret(production).object_name
    )
    schemas.assert_valid(document)
    broken = copy.deepcopy(document)
    broken["spec"]["target"]["deletionPolicie"] = "Retain"
    assert [e.path for e in schemas.errors(broken)] == ["spec.target.deletionPolicie"]
    beta = {**document, "apiVersion": "external-secrets.io/v1beta1"}
    (refused,) = schemas.errors(beta)
    assert "no longer served" in refused.message
    assert "external-secrets.io/v1)" in refused.message


def test_standalone_use_with_a_provider() -> None:
    config = VaultSecretsConfig.model_validate(
        {
            "vault": {"server": "https://vault.example.com", "role": "orders"},
            "redis": {"key": "orders/redis", "tls": True},
        }
    )
    wiring: list[PodWiring] = []

    def program() -> None:
        provider = k8s.Provider("other-cluster", kubeconfig="{}")
        secrets = VaultSecrets(
            "orders-secrets",
            VaultSecretsArgs(
                identity=AppIdentity(name="orders", namespace="orders"),
                config=config,
                service_account_name="orders-vault",
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )
        wiring.append(secrets.pod_wiring)

    graph = synthesize(program, stack="standalone")
    component = graph.of_type("prodstack:index:VaultSecrets")[0]
    children = graph.children(component)
    assert {c.kind for c in children} == {"SecretStore", "ExternalSecret"}  # no settings given
    assert all(c.name.startswith("orders-secrets-") for c in children)
    assert all(c.provider and "other-cluster" in c.provider for c in children)
    store = graph.one("SecretStore").inputs["spec"]["provider"]["vault"]
    assert store["auth"]["kubernetes"]["serviceAccountRef"]["name"] == "orders-vault"
    (pieces,) = wiring
    assert pieces.env_from == ()
    assert set(pieces.annotations) == {spec.SECRET_TEMPLATE_CHECKSUM}
    assert [i["key"] for i in pieces.volumes[0]["secret"]["items"]] == ["redis-url"]


def test_the_docs_example_builds_a_wired_app() -> None:
    page = (ROOT / "docs" / "components" / "vault-secrets.md").read_text()
    example = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)[0]

    def program() -> None:
        exec(compile(example, "vault-secrets.md", "exec"), {})

    graph = synthesize(program, stack="docs")
    pod = graph.one("Rollout").inputs["spec"]["template"]
    assert spec.SECRET_TEMPLATE_CHECKSUM in pod["metadata"]["annotations"]
    assert secret_reads(pod["spec"]) == [("orders-secrets", "database-url")]
    account = graph.one("SecretStore").inputs["spec"]["provider"]["vault"]["auth"]["kubernetes"]
    assert account["serviceAccountRef"]["name"] == pod["spec"]["serviceAccountName"] == "orders"


def test_rendered_templates_read_back_unchanged(graph: ResourceGraph, tmp_path: Path) -> None:
    # Long template lines are folded by the YAML writer; YAML must unfold them exactly.
    result = render(graph, tmp_path)
    name = app_external_secret(graph).object_name
    documents = [yaml.safe_load(path.read_text()) for path in result.directory.rglob("*.yaml")]
    (document,) = [
        d for d in documents if d["kind"] == "ExternalSecret" and d["metadata"]["name"] == name
    ]
    written = document["spec"]["target"]["template"]["data"]
    assert written == app_external_secret(graph).inputs["spec"]["target"]["template"]["data"]


def made_by_vault_secrets(graph: ResourceGraph, resource: Resource) -> bool:
    return (
        resource.parent is not None
        and graph.by_urn(resource.parent).type == "prodstack:index:VaultSecrets"
    )


def app_external_secret(graph: ResourceGraph) -> Resource:
    """VaultSecrets' ExternalSecret (DbBackup adds one per job for the backup passwords)."""
    [found] = [e for e in graph.kind("ExternalSecret") if made_by_vault_secrets(graph, e)]
    return found


def app_store(graph: ResourceGraph, kind: str = "SecretStore") -> Resource:
    """VaultSecrets' store (each backup job has its own)."""
    [found] = [s for s in graph.kind(kind) if made_by_vault_secrets(graph, s)]
    return found


# --- what `pulumi up` and Argo CD wait for --------------------------------------------------


def annotations_of(resource: Resource) -> dict[str, str]:
    annotations: dict[str, str] = resource.inputs["metadata"].get("annotations") or {}
    return annotations


def sync_wave(resource: Resource) -> int:
    """Argo CD's wave of an object: 0 unless annotated."""
    return int(annotations_of(resource).get(SYNC_WAVE, "0"))


def test_every_external_secret_is_awaited_until_ready(graph: ResourceGraph) -> None:
    """Without the annotation pulumi-kubernetes does not wait for a custom resource: `pulumi
    up` would go on to the Rollout (and succeed) before the Secret its pods mount exists."""
    external_secrets = graph.kind("ExternalSecret")
    assert {made_by_vault_secrets(graph, e) for e in external_secrets} == {True, False}
    for external in external_secrets:
        annotations = annotations_of(external)
        assert annotations[WAIT_FOR] == spec.EXTERNAL_SECRET_READY == "condition=Ready"
        assert int(annotations[TIMEOUT_SECONDS]) == spec.EXTERNAL_SECRET_TIMEOUT_SECONDS > 0


def test_sync_waves_apply_stores_then_external_secrets_then_their_readers(
    graph: ResourceGraph,
) -> None:
    """Argo CD applies a wave once the previous one is healthy: a store before the
    ExternalSecrets that read through it, an ExternalSecret before the pods that mount it."""
    stores = {
        (store.kind, store.namespace, store.object_name): store
        for store in [*graph.kind("SecretStore"), *graph.kind("ClusterSecretStore")]
    }
    produced_by: dict[tuple[str | None, str], Resource] = {}
    for external in graph.kind("ExternalSecret"):
        ref = external.inputs["spec"]["secretStoreRef"]
        namespace = None if ref["kind"] == "ClusterSecretStore" else external.namespace
        store = stores[(ref["kind"], namespace, ref["name"])]
        assert sync_wave(store) < sync_wave(external), external.object_name
        produced_by[(external.namespace, external.inputs["spec"]["target"]["name"])] = external
    readers = 0
    for workload, pod in pod_specs(graph):
        for name, _ in secret_reads(pod):
            producer = produced_by.get((workload.namespace, name))
            if producer is not None:
                assert sync_wave(producer) < sync_wave(workload), workload.object_name
                readers += 1
    assert readers >= 3  # the API's Rollout and both backup jobs


def test_a_cluster_secret_store_keeps_its_wave() -> None:
    graph = production_variant(_cluster_store)
    store = app_store(graph, "ClusterSecretStore")
    assert sync_wave(store) < sync_wave(app_external_secret(graph)) < 0
