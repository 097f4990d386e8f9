"""The controller versions prodstack's rendered objects need, field by field, and why.

Each requirement names the first release that serves a field (or a value) prodstack renders.
Found by validating the rendered stacks against the CRDs of every release of each controller
since ``assessed_from``, and for Kubernetes from the feature gates' stages (a field counts from
the release that turns it on by default). docs/versions.md is generated from this table
(tests/test_schemas_versions.py keeps the two equal).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_KUBERNETES_VERSION = "1.33"


@dataclass(frozen=True)
class Controller:
    key: str  # as in the option --<key>-version
    name: str
    project: str
    assessed_from: str  # the oldest release examined; older ones are refused, not guessed


@dataclass(frozen=True)
class Requirement:
    """``controller`` serves ``field`` from ``version`` on; ``places`` are (``group/Kind``, path
    pattern) pairs where the field sits, ``equals`` restricts it to one value."""

    controller: str
    version: str
    field: str
    reason: str
    source: str
    places: tuple[tuple[str, str], ...]
    equals: str | None = None


KUBERNETES = "kubernetes"
ARGO_ROLLOUTS = "argo-rollouts"
ARGO_CD = "argo-cd"
EXTERNAL_SECRETS = "external-secrets"
PROMETHEUS_OPERATOR = "prometheus-operator"
AWS_LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"

CONTROLLERS = (
    Controller(KUBERNETES, "Kubernetes", "kubernetes/kubernetes", "1.25"),
    Controller(ARGO_ROLLOUTS, "Argo Rollouts", "argoproj/argo-rollouts", "1.0.0"),
    Controller(ARGO_CD, "Argo CD", "argoproj/argo-cd", "2.0.0"),
    Controller(EXTERNAL_SECRETS, "External Secrets", "external-secrets/external-secrets", "0.5.0"),
    Controller(
        PROMETHEUS_OPERATOR,
        "Prometheus Operator",
        "prometheus-operator/prometheus-operator",
        "0.39.0",
    ),
    Controller(
        AWS_LOAD_BALANCER_CONTROLLER,
        "AWS Load Balancer Controller",
        "kubernetes-sigs/aws-load-balancer-controller",
        "2.0.0",
    ),
)
CONTROLLER_BY_KEY = {c.key: c for c in CONTROLLERS}

# Where pod specs sit in the kinds that carry one.
POD_SPECS = (
    ("/Pod", "spec"),
    ("/PodTemplate", "template.spec"),
    ("apps/Deployment", "spec.template.spec"),
    ("apps/ReplicaSet", "spec.template.spec"),
    ("apps/StatefulSet", "spec.template.spec"),
    ("apps/DaemonSet", "spec.template.spec"),
    ("batch/Job", "spec.template.spec"),
    ("batch/CronJob", "spec.jobTemplate.spec.template.spec"),
    ("argoproj.io/Rollout", "spec.template.spec"),
)


def in_pod_specs(path: str, kinds: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
    """A pod-spec path in every kind with a pod spec (or the ones named); ``containers[]`` stands
    for init containers too."""
    lists = ("containers[]", "initContainers[]") if path.startswith("containers[]") else ("",)
    rest = path.removeprefix("containers[]")
    return tuple(
        (kind, f"{spec}.{prefix}{rest}" if prefix else f"{spec}.{path}")
        for kind, spec in POD_SPECS
        if kinds is None or kind in kinds
        for prefix in lists
    )


_ANTI_AFFINITY_TERMS = (
    "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[]",
    "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[].podAffinityTerm",
    "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[]",
    "affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[].podAffinityTerm",
)
_ROLLOUT = ("argoproj.io/Rollout",)
_LB_ANNOTATION = 'metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-{}"]'
_READINESS_GATE = '["elbv2.k8s.aws/pod-readiness-gate-inject"]'
_FEATURE_GATES = "kubernetes/website feature-gates/{}.md"


def _affinity_label_keys(kinds: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
    return tuple(
        place
        for term in _ANTI_AFFINITY_TERMS
        for key in ("matchLabelKeys", "mismatchLabelKeys")
        for place in in_pod_specs(f"{term}.{key}", kinds)
    )


REQUIREMENTS = (
    Requirement(
        KUBERNETES,
        "1.25",
        "CronJob `spec.timeZone`",
        "the backup CronJobs run at a fixed time zone (Etc/UTC)",
        _FEATURE_GATES.format("CronJobTimeZone") + ": beta, on by default, from 1.25",
        (("batch/CronJob", "spec.timeZone"),),
    ),
    Requirement(
        KUBERNETES,
        "1.26",
        "pod spec `topologySpreadConstraints[].nodeTaintsPolicy`",
        "tainted (failed) nodes are left out of the zone spread; without it `DoNotSchedule` "
        "refuses replacement pods while a zone is down",
        _FEATURE_GATES.format("NodeInclusionPolicyInPodTopologySpread")
        + ": beta, on by default, from 1.26",
        in_pod_specs("topologySpreadConstraints[].nodeTaintsPolicy"),
    ),
    Requirement(
        KUBERNETES,
        "1.27",
        "pod spec `topologySpreadConstraints[].matchLabelKeys`",
        "the zone spread counts each revision's pods on their own during a canary",
        _FEATURE_GATES.format("MatchLabelKeysInPodTopologySpread")
        + ": beta, on by default, from 1.27",
        in_pod_specs("topologySpreadConstraints[].matchLabelKeys"),
    ),
    Requirement(
        KUBERNETES,
        "1.27",
        "PodDisruptionBudget `spec.unhealthyPodEvictionPolicy`",
        "`AlwaysAllow` lets a drain evict pods that never became ready",
        _FEATURE_GATES.format("PDBUnhealthyPodEvictionPolicy") + ": beta, on by default, from 1.27",
        (("policy/PodDisruptionBudget", "spec.unhealthyPodEvictionPolicy"),),
    ),
    Requirement(
        KUBERNETES,
        "1.30",
        "pod spec `containers[].lifecycle.preStop.sleep`",
        "the pre-stop drain needs no shell in the image; an API server without the sleep "
        "action drops it, leaving `preStop: {}`, which it rejects",
        _FEATURE_GATES.format("PodLifecycleSleepAction") + ": beta, on by default, from 1.30",
        in_pod_specs("containers[].lifecycle.preStop.sleep")
        + in_pod_specs("containers[].lifecycle.postStart.sleep"),
    ),
    Requirement(
        KUBERNETES,
        "1.31",
        "pod spec affinity terms' `matchLabelKeys`",
        "the anti-affinity counts each revision's pods on their own; an older API server drops "
        "the field and the canary's pods are kept away from the stable ones",
        _FEATURE_GATES.format("MatchLabelKeysInPodAffinity") + ": beta, on by default, from 1.31",
        _affinity_label_keys(),
    ),
    Requirement(
        ARGO_ROLLOUTS,
        "1.5.0",
        "Rollout pod template `topologySpreadConstraints[].matchLabelKeys`, `nodeTaintsPolicy`",
        "the Rollout CRD prunes fields its embedded pod template schema does not have; v1.4's "
        "predates both",
        "argoproj/argo-rollouts manifests/crds/rollout-crd.yaml: absent in v1.4.1, present "
        "from v1.5.0",
        in_pod_specs("topologySpreadConstraints[].matchLabelKeys", _ROLLOUT)
        + in_pod_specs("topologySpreadConstraints[].nodeTaintsPolicy", _ROLLOUT),
    ),
    Requirement(
        ARGO_ROLLOUTS,
        "1.6.0",
        "AnalysisTemplate `metrics[].provider.prometheus.timeout`",
        "each analysis query gives up after its timeout instead of hanging the measurement",
        "argoproj/argo-rollouts manifests/crds/analysis-template-crd.yaml: absent in v1.5.1, "
        "present from v1.6.0",
        (("argoproj.io/AnalysisTemplate", "spec.metrics[].provider.prometheus.timeout"),),
    ),
    Requirement(
        ARGO_ROLLOUTS,
        "1.7.0",
        "Rollout pod template `lifecycle.preStop.sleep`",
        "v1.6's CRD prunes `sleep`, leaving `preStop: {}`, which Kubernetes rejects: the "
        "Rollout never creates a pod",
        "argoproj/argo-rollouts manifests/crds/rollout-crd.yaml: absent in v1.6.6, present "
        "from v1.7.0 (built with k8s.io/api v0.29.3)",
        in_pod_specs("containers[].lifecycle.preStop.sleep", _ROLLOUT)
        + in_pod_specs("containers[].lifecycle.postStart.sleep", _ROLLOUT),
    ),
    Requirement(
        ARGO_ROLLOUTS,
        "1.7.0",
        "Rollout pod template affinity terms' `matchLabelKeys`",
        "v1.6's CRD prunes them, and the anti-affinity then counts both revisions",
        "argoproj/argo-rollouts manifests/crds/rollout-crd.yaml: absent in v1.6.6, present "
        "from v1.7.0",
        _affinity_label_keys(_ROLLOUT),
    ),
    Requirement(
        ARGO_CD,
        "2.5.0",
        "Application `syncOptions: [ServerSideApply=true]`",
        "Argo CD applies the stack with server-side apply (field ownership, not the "
        "last-applied annotation)",
        "argoproj/argo-cd docs/user-guide/sync-options.md: Server-Side Apply from v2.5.0",
        (("argoproj.io/Application", "spec.syncPolicy.syncOptions[]"),),
        equals="ServerSideApply=true",
    ),
    Requirement(
        ARGO_CD,
        "2.6.0",
        "Application `spec.syncPolicy.managedNamespaceMetadata`",
        "the namespace Argo CD creates carries the Pod Security and readiness-gate labels",
        "argoproj/argo-cd manifests/crds/application-crd.yaml: absent in v2.5, present from "
        "v2.6.0 (argo-cd#10672)",
        (("argoproj.io/Application", "spec.syncPolicy.managedNamespaceMetadata"),),
    ),
    Requirement(
        ARGO_CD,
        "2.8.0",
        "Application `spec.syncPolicy.managedNamespaceMetadata` (changes)",
        "before v2.8.0 a change to the namespace metadata alone (a new podSecurityVersion) "
        "was not applied until something else changed",
        "argoproj/argo-cd#13074 (fix: update managed namespace metadata), first in v2.8.0",
        (("argoproj.io/Application", "spec.syncPolicy.managedNamespaceMetadata"),),
    ),
    Requirement(
        EXTERNAL_SECRETS,
        "0.16.0",
        "`apiVersion: external-secrets.io/v1`",
        "prodstack emits the v1 API; v1beta1 is no longer served from v0.17.0",
        "external-secrets/external-secrets config/crds/bases: v1 first served in v0.16.0, "
        "v1beta1 unserved from v0.17.0",
        tuple(
            (f"external-secrets.io/{kind}", "apiVersion")
            for kind in ("ExternalSecret", "SecretStore", "ClusterSecretStore")
        ),
        equals="external-secrets.io/v1",
    ),
    Requirement(
        PROMETHEUS_OPERATOR,
        "0.39.0",
        "ServiceMonitor and PrometheusRule (`monitoring.coreos.com/v1`)",
        "the first release with apiextensions.k8s.io/v1 CRDs, which current Kubernetes "
        "requires; every field prodstack sets is in its schemas",
        "prometheus-operator/prometheus-operator CHANGELOG.md 0.39.0 (#3175); "
        "example/prometheus-operator-crd at v0.39.0",
        (
            ("monitoring.coreos.com/ServiceMonitor", "apiVersion"),
            ("monitoring.coreos.com/PrometheusRule", "apiVersion"),
        ),
    ),
    Requirement(
        AWS_LOAD_BALANCER_CONTROLLER,
        "2.0.0",
        "namespace label `elbv2.k8s.aws/pod-readiness-gate-inject`",
        "the controller injects target-health readiness gates into the namespace's pods",
        "kubernetes-sigs/aws-load-balancer-controller config/webhook/pod_mutator_patch.yaml "
        "in v2.0.0",
        (
            ("/Namespace", "metadata.labels" + _READINESS_GATE),
            (
                "argoproj.io/Application",
                "spec.syncPolicy.managedNamespaceMetadata.labels" + _READINESS_GATE,
            ),
        ),
    ),
    Requirement(
        AWS_LOAD_BALANCER_CONTROLLER,
        "2.2.0",
        "Service annotations `aws-load-balancer-nlb-target-type`, `-scheme`",
        "the NLB is provisioned by the controller with IP targets (pods directly)",
        "kubernetes-sigs/aws-load-balancer-controller pkg/annotations/constants.go: "
        "SvcLBSuffixTargetType and SvcLBSuffixScheme from v2.2.0",
        (
            ("/Service", _LB_ANNOTATION.format("nlb-target-type")),
            ("/Service", _LB_ANNOTATION.format("scheme")),
        ),
    ),
    Requirement(
        AWS_LOAD_BALANCER_CONTROLLER,
        "2.2.0",
        "Ingress annotation `alb.ingress.kubernetes.io/ssl-redirect`",
        "the ALB answers plain HTTP with a redirect to HTTPS",
        "kubernetes-sigs/aws-load-balancer-controller pkg/annotations/constants.go: "
        "IngressSuffixSSLRedirect from v2.2.0",
        (
            (
                "networking.k8s.io/Ingress",
                'metadata.annotations["alb.ingress.kubernetes.io/ssl-redirect"]',
            ),
        ),
    ),
    Requirement(
        AWS_LOAD_BALANCER_CONTROLLER,
        "2.3.0",
        "Service annotation `aws-load-balancer-attributes`",
        "cross-zone load balancing is set on the NLB",
        "kubernetes-sigs/aws-load-balancer-controller pkg/annotations/constants.go: "
        "SvcLBSuffixLoadBalancerAttributes from v2.3.0",
        (("/Service", _LB_ANNOTATION.format("attributes")),),
    ),
    Requirement(
        AWS_LOAD_BALANCER_CONTROLLER,
        "2.9.0",
        "Service annotation `aws-load-balancer-listener-attributes.<protocol>-<port>`",
        "the NLB listener's TCP idle timeout (`loadBalancer.idleTimeoutSeconds`)",
        "kubernetes-sigs/aws-load-balancer-controller pkg/service/model_build_listener.go: "
        "buildListenerAttributes from v2.9.0",
        (("/Service", _LB_ANNOTATION.format("listener-attributes.*")),),
    ),
)


class VersionError(ValueError):
    """A declared version that cannot be read or is older than anything assessed."""


_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?$")


def parse(version: str, what: str = "version") -> tuple[int, int, int]:
    """``1.7``, ``v1.7.0`` or ``1.7.0-rc1`` -> (1, 7, 0)."""
    match = _VERSION.match(version.strip())
    if not match:
        raise VersionError(f"{what}: {version!r} is not a version such as 1.7 or v1.7.0")
    major, minor, patch = (int(part or 0) for part in match.groups())
    return major, minor, patch


def requirements_of(controller: str) -> list[Requirement]:
    return [r for r in REQUIREMENTS if r.controller == controller]


def minimum(controller: str) -> str:
    """The oldest release that serves everything prodstack renders for this controller."""
    versions = [r.version for r in requirements_of(controller)]
    return max(versions, key=parse) if versions else CONTROLLER_BY_KEY[controller].assessed_from


MINIMUMS: Mapping[str, str] = {c.key: minimum(c.key) for c in CONTROLLERS}


@dataclass(frozen=True)
class DeclaredVersions:
    """The versions a cluster runs: by default Kubernetes 1.33 and each controller's minimum."""

    kubernetes: str = DEFAULT_KUBERNETES_VERSION
    controllers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, version in self.controllers.items():
            if key not in CONTROLLER_BY_KEY or key == KUBERNETES:
                known = ", ".join(c.key for c in CONTROLLERS if c.key != KUBERNETES)
                raise VersionError(f"unknown controller {key!r}; known: {known}")
            self._check(key, version)
        from prodstack.check.schema.kubernetes import minor_of

        minor_of(self.kubernetes)  # one the installed kubernetes-validate has schemas for

    def of(self, controller: str) -> str:
        if controller == KUBERNETES:
            return self.kubernetes
        return self.controllers.get(controller) or MINIMUMS[controller]

    @staticmethod
    def _check(key: str, version: str) -> None:
        controller = CONTROLLER_BY_KEY[key]
        if parse(version, f"{controller.name} version") < parse(controller.assessed_from):
            raise VersionError(
                f"{controller.name} {version} is older than {controller.assessed_from}, the "
                "oldest release prodstack has assessed; declare a newer one"
            )
