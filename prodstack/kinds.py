"""The Kubernetes kinds prodstack emits or reasons about: one table of API versions, scope,
name rules and apply order.

Everything that needs an ``apiVersion``, to know whether a kind is namespaced, how long its
names may be, or where it goes in a ``kubectl apply -f`` order reads it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation): a DNS-1123 subdomain (253),
# a DNS-1035 label (63, starting with a letter: Service names), and the CronJob's 52 (the
# controller appends an 11-character suffix to name its Jobs, which must stay within 63).
NameRule = Literal["subdomain", "label", "cronjob"]
NAME_LIMITS: dict[NameRule, int] = {"subdomain": 253, "label": 63, "cronjob": 52}
LABEL_VALUE_LIMIT = 63
# The type token prefix of every pulumi-kubernetes resource.
KUBERNETES_PREFIX = "kubernetes:"


@dataclass(frozen=True)
class Kind:
    """A kind's API version, whether objects live in a namespace, and its name rule."""

    kind: str
    api_version: str
    name_rule: NameRule = "subdomain"

    @property
    def namespaced(self) -> bool:
        return is_namespaced(self.kind)

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group): one object, whatever version names it."""
        return api_group(self.api_version)

    @property
    def name_limit(self) -> int:
        return NAME_LIMITS[self.name_rule]


NAMESPACE = Kind("Namespace", "v1", name_rule="label")
NETWORK_POLICY = Kind("NetworkPolicy", "networking.k8s.io/v1")
SERVICE_ACCOUNT = Kind("ServiceAccount", "v1")
SECRET = Kind("Secret", "v1")
CONFIG_MAP = Kind("ConfigMap", "v1")
SECRET_STORE = Kind("SecretStore", "external-secrets.io/v1")
CLUSTER_SECRET_STORE = Kind("ClusterSecretStore", "external-secrets.io/v1")
EXTERNAL_SECRET = Kind("ExternalSecret", "external-secrets.io/v1")
ROLE = Kind("Role", "rbac.authorization.k8s.io/v1")
ROLE_BINDING = Kind("RoleBinding", "rbac.authorization.k8s.io/v1")
SERVICE = Kind("Service", "v1", name_rule="label")
INGRESS = Kind("Ingress", "networking.k8s.io/v1")
ANALYSIS_TEMPLATE = Kind("AnalysisTemplate", "argoproj.io/v1alpha1")
ROLLOUT = Kind("Rollout", "argoproj.io/v1alpha1")
CRON_JOB = Kind("CronJob", "batch/v1", name_rule="cronjob")
HORIZONTAL_POD_AUTOSCALER = Kind("HorizontalPodAutoscaler", "autoscaling/v2")
POD_DISRUPTION_BUDGET = Kind("PodDisruptionBudget", "policy/v1")
SERVICE_MONITOR = Kind("ServiceMonitor", "monitoring.coreos.com/v1")
PROMETHEUS_RULE = Kind("PrometheusRule", "monitoring.coreos.com/v1")
APPLICATION = Kind("Application", "argoproj.io/v1alpha1")

# Kinds in the order a cluster accepts them (what others reference comes first). Kinds that
# prodstack does not emit are listed by name so that other programs' objects order well too.
APPLY_ORDER: tuple[str, ...] = (
    "CustomResourceDefinition",
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "SecretStore",
    "ClusterSecretStore",
    "ExternalSecret",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "Ingress",
    "AnalysisTemplate",
    "ClusterAnalysisTemplate",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Rollout",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    "Application",
)

# Built-in kinds without a namespace, and the cluster-scoped kinds of the controllers above.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "ClusterAnalysisTemplate",
    }
)


def apply_rank(kind: str) -> int:
    """Position of ``kind`` in APPLY_ORDER; unknown kinds go last."""
    return APPLY_ORDER.index(kind) if kind in APPLY_ORDER else len(APPLY_ORDER)


def is_namespaced(kind: str) -> bool:
    return kind not in CLUSTER_SCOPED


def api_group(api_version: str) -> str:
    """The API group of an ``apiVersion`` (``""`` for the core group)."""
    return api_version.rpartition("/")[0]
