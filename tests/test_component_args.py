"""The component API checks its arguments at construction: types and values, every problem
named ``<Args>.<field>...`` with the fix; configuration models may be given as mappings;
``pulumi.Output`` only where a field can be one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from prodstack import (
    AppIdentity,
    ArgoCDApplicationArgs,
    AutoscalingArgs,
    CanaryApp,
    CanaryAppArgs,
    DbBackupArgs,
    EntryPointArgs,
    ExternallyScaled,
    HAPolicyArgs,
    NamespaceBaselineArgs,
    ObservabilityArgs,
    ServiceSecurityArgs,
    VaultSecretsArgs,
)
from prodstack.components.args import ArgsError
from prodstack.config import AppConfig, ReplicaRange
from prodstack.synth import synthesize
from tests.support.stacks import API, environment

ENV = environment("staging")
SERVICE = ENV.services[API]
APP = SERVICE.app
IDENTITY = AppIdentity(name=API, namespace="shop-staging")
assert SERVICE.autoscaling is not None
SCALING = SERVICE.autoscaling


@dataclasses.dataclass(frozen=True)
class StubTarget:
    """What AutoscalingArgs reads of a CanaryApp, without a Pulumi program."""

    scale_target_ref: dict[str, str]
    externally_scaled: bool = True
    rollout: Any = None


TARGET = StubTarget({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": API})


def problems(build: Callable[[], object]) -> dict[str, str]:
    with pytest.raises(ArgsError) as caught:
        build()
    assert isinstance(caught.value, ValueError)
    return dict(caught.value.problems)


def app_mapping(**changes: Any) -> dict[str, Any]:
    return {**APP.model_dump(by_alias=True, exclude_unset=True), **changes}


# --- CanaryAppArgs ---------------------------------------------------------------------------


def test_a_mapping_is_validated_into_the_model() -> None:
    args = CanaryAppArgs(app=app_mapping(), namespace="shop-staging")  # type: ignore[arg-type]
    assert isinstance(args.app, AppConfig)
    assert args.app == APP


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        (
            {"namespace": "Orders"},
            "CanaryAppArgs.namespace",
            "'Orders' is not a DNS label; use at most 63 lower-case letters",
        ),
        ({"app": None}, "CanaryAppArgs.app", "must be an AppConfig (or a mapping of its keys)"),
        ({"app": "shop-api"}, "CanaryAppArgs.app", "not 'shop-api'"),
        ({"replicas": True}, "CanaryAppArgs.replicas", "must be int or ExternallyScaled"),
        ({"replicas": 2.5}, "CanaryAppArgs.replicas", "not 2.5"),
        ({"instance": "-x-"}, "CanaryAppArgs.instance", "is not a Kubernetes label value"),
        (
            {"automount_service_account_token": "yes"},
            "CanaryAppArgs.automount_service_account_token",
            "write true or false",
        ),
        (
            {"scheduling": {"nodeName": "n1"}},
            "CanaryAppArgs.scheduling",
            "unknown keys ['nodeName']",
        ),
        (
            {"wiring": [{"volumes": []}]},
            "CanaryAppArgs.wiring[0]",
            "must be a PodWiring, not a dict",
        ),
        ({"wiring": "tmp"}, "CanaryAppArgs.wiring", "must be a list or tuple"),
        (
            {"service_account_name": "Bad_Name"},
            "CanaryAppArgs.service_account_name",
            "is not a Kubernetes object name",
        ),
    ],
)
def test_canary_app_args_name_the_argument_and_field(
    kwargs: dict[str, Any], key: str, message: str
) -> None:
    found = problems(lambda: CanaryAppArgs(**{"app": APP, "namespace": "shop-staging", **kwargs}))
    assert message in found[key], found


def test_errors_inside_a_mapping_name_the_nested_key() -> None:
    steps = [{"weight": 10}, {"weight": 150}]
    canary = {**APP.canary.model_dump(by_alias=True, exclude_unset=True), "steps": steps}
    found = problems(
        lambda: CanaryAppArgs(app=app_mapping(canary=canary, replicas=True), namespace="x")  # type: ignore[arg-type]
    )
    assert found == {
        "CanaryAppArgs.app.replicas": "true is a boolean, not a number; write a whole number "
        "(YAML 1.1 reads yes, no, on and off as booleans)",
        "CanaryAppArgs.app.canary.steps[1].weight": "must be between 1 and 99 (100% is the "
        "promotion Argo does after the last step)",
    }


def test_every_problem_is_reported_at_once() -> None:
    found = problems(lambda: CanaryAppArgs(app=None, namespace="Orders", replicas="2"))  # type: ignore[arg-type]
    assert set(found) == {
        "CanaryAppArgs.app",
        "CanaryAppArgs.namespace",
        "CanaryAppArgs.replicas",
    }


def test_derived_names_fit_their_kinds() -> None:
    name = "a" * 60
    app = app_mapping(name=name)
    found = problems(lambda: CanaryAppArgs(app=app, namespace="x"))  # type: ignore[arg-type]
    assert found["CanaryAppArgs.app.name"] == (
        f"derives Service '{name}-stable' (67 > 63), Service '{name}-canary' (67 > 63) "
        "characters, beyond the limit of the kind; choose a shorter name"
    )


def test_a_namespace_cannot_be_an_output() -> None:
    def program() -> None:
        namespace = pulumi.Output.from_input("shop-staging")
        CanaryAppArgs(app=APP, namespace=namespace)  # type: ignore[arg-type]

    with pytest.raises(ArgsError) as caught:
        synthesize(program, stack="output-namespace")
    assert dict(caught.value.problems) == {
        "CanaryAppArgs.namespace": "must be a plain value, not a pulumi Output: the component "
        "reads it while it is constructed (it names objects, sets labels or decides what to "
        "build); resolve it in the program (from config, or a value you know)"
    }


def test_a_service_account_name_may_be_an_output() -> None:
    def program() -> None:
        account = pulumi.Output.from_input("shop-api-runner")
        CanaryApp(
            API,
            CanaryAppArgs(app=APP, namespace="shop-staging", service_account_name=account),
        )

    graph = synthesize(program, stack="output-account")
    template = graph.one("Rollout").inputs["spec"]["template"]["spec"]
    assert template["serviceAccountName"] == "shop-api-runner"
    assert graph.kind("ServiceAccount") == []


# --- the other Args --------------------------------------------------------------------------

CASES: list[tuple[Callable[[], object], str, str]] = [
    (
        lambda: AutoscalingArgs(
            identity={"name": API, "namespace": "x"},  # type: ignore[arg-type]
            target=TARGET,
            autoscaling=SCALING,
        ),
        "AutoscalingArgs.identity",
        "must be an AppIdentity, not a dict",
    ),
    (
        lambda: AutoscalingArgs(
            identity=IDENTITY,
            target="shop-api",  # type: ignore[arg-type]
            autoscaling=SCALING,
        ),
        "AutoscalingArgs.target",
        "must be a ScaleTarget (it has no scale_target_ref, externally_scaled, rollout)",
    ),
    (
        lambda: AutoscalingArgs(
            identity=IDENTITY,
            target=TARGET,
            autoscaling={"minReplicas": 0},  # type: ignore[arg-type]
        ),
        "AutoscalingArgs.autoscaling.minReplicas",
        "greater than or equal to 1",
    ),
    (
        lambda: EntryPointArgs(
            identity=IDENTITY,
            load_balancer={"scheme": "public"},  # type: ignore[arg-type]
        ),
        "EntryPointArgs.load_balancer.scheme",
        "Input should be 'internal' or 'internet-facing'",
    ),
    (
        lambda: HAPolicyArgs(
            identity=IDENTITY,
            ha={"nodeAntiAffinity": "required"},  # type: ignore[arg-type]
            replicas=ReplicaRange.fixed(3),
        ),
        "HAPolicyArgs.ha.nodeCount",
        "required node anti-affinity needs the number of nodes",
    ),
    (
        lambda: HAPolicyArgs(identity=IDENTITY, ha=SERVICE.ha, replicas=3),  # type: ignore[arg-type]
        "HAPolicyArgs.replicas",
        "must be a ReplicaRange, not 3",
    ),
    (
        lambda: VaultSecretsArgs(identity=IDENTITY, config=None),  # type: ignore[arg-type]
        "VaultSecretsArgs.config",
        "must be a VaultSecretsConfig (or a mapping of its keys), not None",
    ),
    (
        lambda: ObservabilityArgs(
            identity=IDENTITY,
            config=ENV.observability,  # type: ignore[arg-type]
            team="Backend Team",
            min_available_replicas=1,
        ),
        "ObservabilityArgs.team",
        "'Backend Team' is not a DNS label",
    ),
    (
        lambda: ObservabilityArgs(
            identity=IDENTITY,
            config=ENV.observability,  # type: ignore[arg-type]
            team="backend",
            min_available_replicas="2",  # type: ignore[arg-type]
        ),
        "ObservabilityArgs.min_available_replicas",
        "'2' is a string; write the number without quotes",
    ),
    (
        lambda: ObservabilityArgs(
            identity=IDENTITY,
            config=ENV.observability,  # type: ignore[arg-type]
            team="backend",
            min_available_replicas=1,
            metrics_port=70000,
        ),
        "ObservabilityArgs.metrics_port",
        "less than or equal to 65535",
    ),
    (
        lambda: DbBackupArgs(
            identity=AppIdentity(name="a" * 40, namespace="x"),
            config=SERVICE.db_backup,  # type: ignore[arg-type]
        ),
        "DbBackupArgs.identity.name",
        f"derives CronJob '{'a' * 40}-db-restore-check' (57 > 52) characters",
    ),
    (
        lambda: DbBackupArgs(identity=IDENTITY, config={"image": "x"}),  # type: ignore[arg-type]
        "DbBackupArgs.config.oidcProviderArn",
        "Field required",
    ),
    (
        lambda: ServiceSecurityArgs(identity=IDENTITY, api_token_expiration_seconds=100),
        "ServiceSecurityArgs.api_token_expiration_seconds",
        "greater than or equal to 600",
    ),
    (
        lambda: ServiceSecurityArgs(
            identity=IDENTITY,
            api_access=[{"resource": "secrets", "resourceNames": ["x"], "verbs": ["get"]}],  # type: ignore[list-item]
        ),
        "ServiceSecurityArgs.api_access[0].resource",
        "the app reads secrets as mounted files",
    ),
    (
        lambda: NamespaceBaselineArgs(namespace="n" * 64),
        "NamespaceBaselineArgs.namespace",
        "is not a DNS label",
    ),
    (
        lambda: NamespaceBaselineArgs(namespace="x", labels={"bad key": "v"}),
        "NamespaceBaselineArgs.labels",
        "'bad key' is not a Kubernetes label or annotation key",
    ),
    (
        lambda: ArgoCDApplicationArgs(namespace="x", gitops="https://git"),  # type: ignore[arg-type]
        "ArgoCDApplicationArgs.gitops",
        "must be a GitOpsConfig (or a mapping of its keys), not 'https://git'",
    ),
    (
        lambda: AppIdentity(name=API, namespace="x", version="2.4.1-"),
        "AppIdentity.version",
        "is not a Kubernetes label value",
    ),
]


@pytest.mark.parametrize(("build", "key", "message"), CASES, ids=[c[1] for c in CASES])
def test_every_args_class_checks_its_fields(
    build: Callable[[], object], key: str, message: str
) -> None:
    found = problems(build)
    assert message in found[key], found


def test_mappings_become_models_in_every_args_class() -> None:
    security = ServiceSecurityArgs(
        identity=IDENTITY,
        api_access=[{"resource": "configmaps", "resourceNames": ["x"], "verbs": ["get"]}],  # type: ignore[list-item]
    )
    assert security.api_access[0].resource == "configmaps"
    entry = EntryPointArgs(identity=IDENTITY, load_balancer={"scheme": "internal"})  # type: ignore[arg-type]
    assert entry.load_balancer.scheme == "internal"
    scaling = AutoscalingArgs(identity=IDENTITY, target=TARGET, autoscaling={"maxReplicas": 4})  # type: ignore[arg-type]
    assert scaling.autoscaling.max_replicas == 4


def test_the_stack_composition_still_builds() -> None:
    assert CanaryAppArgs(app=APP, namespace="x", replicas=ExternallyScaled()).replicas
