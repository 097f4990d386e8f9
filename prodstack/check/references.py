"""Graph integrity: every name one object uses to reach another resolves in the stack."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prodstack.kinds import api_group, is_namespaced
from prodstack.pod_security import pods
from prodstack.policies.model import Subject

# Cluster roles every cluster has; bindings to them need no object in the stack.
BUILT_IN_CLUSTER_ROLES = frozenset({"view", "edit", "admin", "cluster-admin"})

Problem = tuple[Subject, str]


class Index:
    """Kubernetes objects of a stack by (kind, namespace, name), with their pods' labels and
    the Secrets External Secrets will create, grouped once by namespace."""

    def __init__(self, subjects: Sequence[Subject]) -> None:
        self.subjects = [s for s in subjects if s.is_kubernetes]
        self._by_key = {(s.kind, s.namespace, s.object_name): s for s in self.subjects}
        self._by_kind: dict[str, list[Subject]] = defaultdict(list)
        self._pods: list[Pod] = []
        self._pods_in: dict[str, list[Pod]] = defaultdict(list)
        self._produced: dict[str, set[str]] = defaultdict(set)
        for subject in self.subjects:
            self._by_kind[subject.kind].append(subject)
            for metadata, spec in pods(dict(subject.props)):
                labels = dict(metadata.get("labels") or {})
                pod = Pod(subject, labels, spec)
                self._pods.append(pod)
                self._pods_in[subject.namespace].append(pod)
            if subject.kind == "ExternalSecret":
                self._produced[subject.namespace].add(target_secret(subject))

    def get(self, kind: str, namespace: str, name: str) -> Subject | None:
        return self._by_key.get((kind, namespace, name))

    def of_kind(self, kind: str) -> list[Subject]:
        return list(self._by_kind.get(kind, ()))

    def pods(self) -> list[Pod]:
        """Every pod of the stack (a Pod, a workload's template), in the stack's order."""
        return list(self._pods)

    def pod_label_sets(self, namespace: str) -> list[tuple[Subject, dict[str, str]]]:
        """Labels of every pod template in the namespace, with the object that holds it."""
        return [(pod.owner, pod.labels) for pod in self._pods_in.get(namespace, ())]

    def produced_secrets(self, namespace: str) -> set[str]:
        """Secrets External Secrets will create: each ExternalSecret's target name."""
        return set(self._produced.get(namespace, ()))


def store_ref(external: Subject) -> tuple[str, str, str]:
    """(kind, namespace, name) of the store an ExternalSecret reads through (a
    ClusterSecretStore has no namespace)."""
    ref = (external.props.get("spec") or {}).get("secretStoreRef") or {}
    kind = str(ref.get("kind") or "SecretStore")
    namespace = "" if not is_namespaced(kind) else external.namespace
    return kind, namespace, str(ref.get("name"))


def target_secret(external: Subject) -> str:
    """The Secret an ExternalSecret creates (its target's name, by default its own)."""
    target = (external.props.get("spec") or {}).get("target") or {}
    return str(target.get("name") or external.object_name)


@dataclass(frozen=True)
class Pod:
    """A pod the stack runs: the object that holds it, its labels and its spec."""

    owner: Subject
    labels: dict[str, str]
    spec: dict[str, Any]


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Label selector semantics (matchLabels and the four matchExpressions operators)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def _selects_pods(index: Index, namespace: str, selector: dict[str, Any]) -> bool:
    return any(matches(selector, labels) for _, labels in index.pod_label_sets(namespace))


def hpa_targets(index: Index) -> Iterator[Problem]:
    for hpa in index.of_kind("HorizontalPodAutoscaler"):
        ref = (hpa.props.get("spec") or {}).get("scaleTargetRef") or {}
        target = index.get(str(ref.get("kind")), hpa.namespace, str(ref.get("name")))
        if target is None or api_group(target.api_version) != api_group(
            str(ref.get("apiVersion", ""))
        ):
            yield (
                hpa,
                (
                    f"scaleTargetRef {ref.get('apiVersion')} {ref.get('kind')} {ref.get('name')} "
                    "is not in the stack"
                ),
            )


def selectors_select_pods(index: Index) -> Iterator[Problem]:
    for kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
        for subject in index.of_kind(kind):
            spec = subject.props.get("spec") or {}
            if kind == "Service":
                if spec.get("type") == "ExternalName" or not spec.get("selector"):
                    continue
                selector = {"matchLabels": spec["selector"]}
            elif kind == "NetworkPolicy":
                selector = spec.get("podSelector") or {}
                if not selector.get("matchLabels") and not selector.get("matchExpressions"):
                    continue  # selects every pod of the namespace, whatever runs there
            else:
                selector = spec.get("selector") or {}
            if not _selects_pods(index, subject.namespace, selector):
                yield subject, f"its selector {selector} selects no pod in the stack"


def service_monitors(index: Index) -> Iterator[Problem]:
    for monitor in index.of_kind("ServiceMonitor"):
        spec = monitor.props.get("spec") or {}
        names = (spec.get("namespaceSelector") or {}).get("matchNames") or [monitor.namespace]
        services = [
            s
            for s in index.of_kind("Service")
            if s.namespace in names
            and matches(
                spec.get("selector") or {},
                dict((s.props.get("metadata") or {}).get("labels") or {}),
            )
        ]
        if not services:
            yield monitor, "its selector matches no Service (by the Service's labels)"
            continue
        for endpoint in spec.get("endpoints") or []:
            port = endpoint.get("port")
            if port and not any(
                port in {p.get("name") for p in (s.props.get("spec") or {}).get("ports") or []}
                for s in services
            ):
                yield monitor, f"scrapes port {port!r}, which none of the Services it selects names"


def rollout_references(index: Index) -> Iterator[Problem]:
    for rollout in index.of_kind("Rollout"):
        canary = ((rollout.props.get("spec") or {}).get("strategy") or {}).get("canary") or {}
        for field in ("stableService", "canaryService"):
            name = canary.get(field)
            if name and index.get("Service", rollout.namespace, name) is None:
                yield rollout, f"{field} {name!r} is not a Service in the stack"
        blocks = [s["analysis"] for s in canary.get("steps") or [] if "analysis" in s]
        if canary.get("analysis"):
            blocks.append(canary["analysis"])
        for block in blocks:
            given = {arg["name"] for arg in block.get("args") or []}
            for ref in block.get("templates") or []:
                kind = "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"
                namespace = "" if ref.get("clusterScope") else rollout.namespace
                template = index.get(kind, namespace, str(ref.get("templateName")))
                if template is None:
                    yield (
                        rollout,
                        f"analysis template {ref.get('templateName')!r} is not in the stack",
                    )
                    continue
                needed = {
                    a["name"]
                    for a in (template.props.get("spec") or {}).get("args") or []
                    if "value" not in a and "valueFrom" not in a
                }
                if needed - given:
                    yield (
                        rollout,
                        (
                            f"does not pass {sorted(needed - given)} that template "
                            f"{template.object_name!r} requires"
                        ),
                    )


def _alb_routing(rollout: Subject) -> dict[str, Any]:
    canary = ((rollout.props.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    routing: dict[str, Any] = (canary.get("trafficRouting") or {}).get("alb") or {}
    return routing


def _backends(ingress: Subject) -> Iterator[dict[str, Any]]:
    spec = ingress.props.get("spec") or {}
    default = spec.get("defaultBackend")
    if default:
        yield default
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            if path.get("backend"):
                yield path["backend"]


def ingress_backends(index: Index) -> Iterator[Problem]:
    """Every backend of an Ingress is a Service of the stack on one of its ports; the port
    ``use-annotation`` (the ALB controller reads the action from an annotation) only where a
    Rollout routes through this Ingress with that Service as its root."""
    for ingress in index.of_kind("Ingress"):
        routed = {
            str(_alb_routing(r).get("rootService") or "")
            for r in index.of_kind("Rollout")
            if r.namespace == ingress.namespace
            and ingress.object_name
            in (_alb_routing(r).get("ingress"), *(_alb_routing(r).get("ingresses") or []))
        }
        for backend in _backends(ingress):
            service = backend.get("service") or {}
            name = str(service.get("name"))
            port = service.get("port") or {}
            target = index.get("Service", ingress.namespace, name)
            if target is None:
                yield ingress, f"its backend Service {name!r} is not in the stack"
                continue
            if port.get("name") == "use-annotation":
                if name not in routed:
                    yield (
                        ingress,
                        f"its backend {name!r} takes its action from an annotation "
                        "(use-annotation), but no Rollout routes through this Ingress with "
                        f"rootService {name!r}: the ALB would answer 503",
                    )
                continue
            ports = (target.props.get("spec") or {}).get("ports") or []
            wanted = port.get("name") or port.get("number")
            if not any(wanted in (p.get("name"), p.get("port")) for p in ports):
                yield ingress, f"its backend {name!r} has no port {wanted!r}"


def rollout_traffic_routing(index: Index) -> Iterator[Problem]:
    """A Rollout's ALB routing names an Ingress of the stack whose rules send to its root
    Service, and its stable and canary Services serve ``servicePort``."""
    for rollout in index.of_kind("Rollout"):
        routing = _alb_routing(rollout)
        if not routing:
            continue
        canary = ((rollout.props.get("spec") or {}).get("strategy") or {}).get("canary") or {}
        root = routing.get("rootService") or canary.get("stableService")
        for name in routing.get("ingresses") or [routing.get("ingress")]:
            ingress = index.get("Ingress", rollout.namespace, str(name))
            if ingress is None:
                yield (
                    rollout,
                    f"trafficRouting.alb names Ingress {name!r}, which is not in the stack",
                )
                continue
            sent = {str((b.get("service") or {}).get("name")) for b in _backends(ingress)}
            if root not in sent:
                yield (
                    rollout,
                    f"Ingress {name!r} has no rule to the root Service {root!r}: Argo Rollouts' "
                    "weights would never reach the load balancer",
                )
        for field in ("stableService", "canaryService"):
            service = index.get("Service", rollout.namespace, str(canary.get(field)))
            ports = ((service.props.get("spec") or {}).get("ports") or []) if service else []
            if service is not None and routing.get("servicePort") not in [
                p.get("port") for p in ports
            ]:
                yield (
                    rollout,
                    f"trafficRouting.alb.servicePort {routing.get('servicePort')} is not a port "
                    f"of {field} {canary.get(field)!r}",
                )


def secret_stores(index: Index) -> Iterator[Problem]:
    for external in index.of_kind("ExternalSecret"):
        kind, namespace, name = store_ref(external)
        if index.get(kind, namespace, name) is None:
            yield external, f"secretStoreRef {kind} {name!r} is not in the stack"


def pod_uses(pod: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(kind, name, optional) of every ConfigMap and Secret a pod mounts or reads."""
    for volume in pod.get("volumes") or []:
        if "configMap" in volume:
            yield (
                "ConfigMap",
                volume["configMap"]["name"],
                bool(volume["configMap"].get("optional")),
            )
        if "secret" in volume:
            yield "Secret", volume["secret"]["secretName"], bool(volume["secret"].get("optional"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                yield (
                    "ConfigMap",
                    source["configMap"]["name"],
                    bool(source["configMap"].get("optional")),
                )
            if "secret" in source:
                yield "Secret", source["secret"]["name"], bool(source["secret"].get("optional"))
    for field in ("initContainers", "containers"):
        for container in pod.get(field) or []:
            for env in container.get("env") or []:
                value_from = env.get("valueFrom") or {}
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if key in value_from:
                        ref = value_from[key]
                        yield kind, ref["name"], bool(ref.get("optional"))
            for source in container.get("envFrom") or []:
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if key in source:
                        yield kind, source[key]["name"], bool(source[key].get("optional"))


# Every namespace gets this ConfigMap from the cluster (the API server's CA bundle).
CLUSTER_PROVIDED = {("ConfigMap", "kube-root-ca.crt")}


def pod_references(index: Index) -> Iterator[Problem]:
    for found in index.pods():
        subject, pod = found.owner, found.spec
        produced = index.produced_secrets(subject.namespace)
        for kind, name, optional in pod_uses(pod):
            if optional or (kind, name) in CLUSTER_PROVIDED:
                continue
            if index.get(kind, subject.namespace, name) is None and not (
                kind == "Secret" and name in produced
            ):
                yield (
                    subject,
                    f"its pods use {kind} {name!r}, which is neither in the stack nor "
                    "produced by an ExternalSecret",
                )
        account = pod.get("serviceAccountName")
        if (
            account
            and account != "default"
            and index.get("ServiceAccount", subject.namespace, account) is None
        ):
            yield (
                subject,
                f"its pods run as ServiceAccount {account!r}, which is not in the stack",
            )


def role_bindings(index: Index) -> Iterator[Problem]:
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for binding in index.of_kind(kind):
            ref = binding.props.get("roleRef") or {}
            role_kind, role_name = str(ref.get("kind")), str(ref.get("name"))
            namespace = binding.namespace if role_kind == "Role" else ""
            built_in = role_kind == "ClusterRole" and (
                role_name in BUILT_IN_CLUSTER_ROLES or role_name.startswith("system:")
            )
            if not built_in and index.get(role_kind, namespace, role_name) is None:
                yield binding, f"roleRef {role_kind} {role_name!r} is not in the stack"
            for subject in binding.props.get("subjects") or []:
                if subject.get("kind") != "ServiceAccount":
                    continue
                namespace = str(subject.get("namespace") or binding.namespace)
                if index.get("ServiceAccount", namespace, str(subject.get("name"))) is None:
                    yield (
                        binding,
                        f"subject ServiceAccount {namespace}/{subject.get('name')} "
                        "is not in the stack",
                    )


CHECKS = (
    ("hpa-target", hpa_targets),
    ("selectors-select-pods", selectors_select_pods),
    ("service-monitor-target", service_monitors),
    ("rollout-references", rollout_references),
    ("rollout-traffic-routing", rollout_traffic_routing),
    ("ingress-backends", ingress_backends),
    ("secret-store", secret_stores),
    ("pod-references", pod_references),
    ("role-bindings", role_bindings),
)
