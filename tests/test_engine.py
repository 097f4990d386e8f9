"""The offline engine records what the Pulumi engine would: URNs by its rule, aliases as it
collapses them, and one declaration per Kubernetes object."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from prodstack.synth import synthesize
from prodstack.synth.monitor import DuplicateObjectError, DuplicateResourceError

STACK_URN = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev"


class Outer(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("my:mod:Outer", name, None, opts)
        self.inner = Inner(f"{name}-inner", pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class Inner(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("my:mod:Inner", name, None, opts)
        k8s.core.v1.ConfigMap(
            f"{name}-settings",
            metadata={"name": "settings", "namespace": "app"},
            data={"a": "b"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


def test_urns_are_the_engines_on_nested_components() -> None:
    """pulumi/pulumi pkg/resource/deploy/deployment.go ``generateURN``: the parent's whole
    qualified type, and never the root stack's type."""

    def program() -> None:
        Outer("outer")
        k8s.core.v1.Namespace("top", metadata={"name": "app"})

    graph = synthesize(program, project="proj", stack="dev")
    urns = {r.name: r.urn for r in graph}
    assert urns["proj-dev"] == STACK_URN
    assert urns["outer"] == "urn:pulumi:dev::proj::my:mod:Outer::outer"
    assert urns["outer-inner"] == "urn:pulumi:dev::proj::my:mod:Outer$my:mod:Inner::outer-inner"
    assert urns["outer-inner-settings"] == (
        "urn:pulumi:dev::proj::my:mod:Outer$my:mod:Inner$kubernetes:core/v1:ConfigMap"
        "::outer-inner-settings"
    )
    assert urns["top"] == "urn:pulumi:dev::proj::kubernetes:core/v1:Namespace::top"
    parents = {r.name: r.parent for r in graph}
    assert parents["outer"] == STACK_URN
    assert parents["outer-inner-settings"] == urns["outer-inner"]
    assert not any("pulumi:pulumi:Stack$" in urn for urn in urns.values())


def test_aliases_are_collapsed_as_the_engine_does() -> None:
    """step_generator.go ``collapseAliasToUrn`` fills what an alias spec leaves out from the
    resource; ``inheritedChildAlias`` gives a child its parent's old names."""

    def program() -> None:
        old_parent = "urn:pulumi:dev::proj::my:mod:Old::old"
        Outer(
            "outer",
            pulumi.ResourceOptions(
                aliases=[pulumi.Alias(name="previous"), pulumi.Alias(parent=old_parent)]
            ),
        )
        k8s.core.v1.Namespace(
            "top",
            metadata={"name": "app"},
            opts=pulumi.ResourceOptions(
                aliases=["urn:pulumi:dev::proj::kubernetes:core/v1:Namespace::namespace"]
            ),
        )

    graph = synthesize(program, project="proj", stack="dev")
    aliases = {r.name: r.aliases for r in graph}
    assert aliases["outer"] == (
        "urn:pulumi:dev::proj::my:mod:Outer::previous",
        "urn:pulumi:dev::proj::my:mod:Old$my:mod:Outer::outer",
    )
    assert aliases["top"] == ("urn:pulumi:dev::proj::kubernetes:core/v1:Namespace::namespace",)
    # The child's own name starts with its parent's: the prefix follows the parent's old name.
    assert (
        "urn:pulumi:dev::proj::my:mod:Outer$my:mod:Inner::previous-inner" in aliases["outer-inner"]
    )
    assert (
        "urn:pulumi:dev::proj::my:mod:Old$my:mod:Outer$my:mod:Inner::outer-inner"
        in aliases["outer-inner"]
    )


def _config_map(name: str, namespace: str | None, api: str = "v1") -> None:
    metadata = (
        {"name": "settings"} if namespace is None else {"name": "settings", "namespace": namespace}
    )
    k8s.core.v1.ConfigMap(name, metadata=metadata, data={"a": "b"})


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("app", "app"),
        (None, "default"),  # no namespace: the provider's default namespace
    ],
)
def test_the_same_object_twice_is_an_error_naming_both(first: str | None, second: str) -> None:
    def program() -> None:
        _config_map("one", first)
        _config_map("two", second)

    with pytest.raises(DuplicateObjectError) as caught:
        synthesize(program, project="proj", stack="dev")
    message = str(caught.value)
    assert "ConfigMap" in message and "settings is declared twice" in message
    assert "kubernetes:core/v1:ConfigMap::one" in message
    assert "kubernetes:core/v1:ConfigMap::two" in message


def test_an_object_is_the_same_whatever_version_declares_it() -> None:
    def program() -> None:
        spec = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 2,
        }
        metadata = {"name": "web", "namespace": "app"}
        k8s.autoscaling.v1.HorizontalPodAutoscaler("v1", metadata=metadata, spec=spec)
        k8s.autoscaling.v2.HorizontalPodAutoscaler("v2", metadata=metadata, spec=spec)

    with pytest.raises(DuplicateObjectError, match="HorizontalPodAutoscaler app/web"):
        synthesize(program, project="proj", stack="dev")


def test_same_name_elsewhere_is_a_different_object() -> None:
    def program() -> None:
        _config_map("one", "app")
        _config_map("two", "other")
        k8s.core.v1.Namespace("ns-a", metadata={"name": "app"})
        k8s.core.v1.Namespace("ns-b", metadata={"name": "other"})

    assert len(synthesize(program, project="proj", stack="dev").kubernetes_objects()) == 4


def test_cluster_scoped_objects_ignore_a_namespace() -> None:
    def program() -> None:
        k8s.core.v1.Namespace("a", metadata={"name": "app"})
        k8s.core.v1.Namespace("b", metadata={"name": "app", "namespace": "ignored"})

    with pytest.raises(DuplicateObjectError, match="Namespace app is declared twice"):
        synthesize(program, project="proj", stack="dev")


def test_the_same_urn_twice_is_an_error() -> None:
    def program() -> None:
        _config_map("same", "a")
        k8s.core.v1.ConfigMap("same", metadata={"name": "other", "namespace": "a"})

    with pytest.raises(DuplicateResourceError, match="ConfigMap::same"):
        synthesize(program, project="proj", stack="dev")


def test_objects_record_their_explicit_provider() -> None:
    def program() -> None:
        provider = k8s.Provider("render", render_yaml_to_directory="out")
        k8s.core.v1.ConfigMap(
            "rendered",
            metadata={"name": "a", "namespace": "app"},
            opts=pulumi.ResourceOptions(provider=provider),
        )
        _config_map("applied", "app")

    graph = synthesize(program, project="proj", stack="dev")
    providers = {r.name: r.provider for r in graph.kubernetes_objects()}
    assert providers == {
        "rendered": "urn:pulumi:dev::proj::pulumi:providers:kubernetes::render",
        "applied": None,
    }
