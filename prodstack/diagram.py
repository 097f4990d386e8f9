"""A Mermaid picture of a stack: components as boxes, the objects they own, and the main
references between objects (who names, selects, scales or reads whom). A service's components
are drawn inside one box of the service, so a stack of several services stays readable."""

from __future__ import annotations

from collections.abc import Iterator

from prodstack.check.references import Index, matches, pod_uses
from prodstack.check.report import subjects
from prodstack.labels import SERVICE
from prodstack.pod_security import pod_templates
from prodstack.policies.model import Subject
from prodstack.synth.graph import Resource, ResourceGraph

Edge = tuple[Subject, Subject, str]


def references(index: Index) -> Iterator[Edge]:
    """Edges for references that resolve (the checks report the ones that do not)."""
    for subject in index.subjects:
        spec = subject.props.get("spec") or {}
        namespace = subject.namespace
        if subject.kind == "HorizontalPodAutoscaler":
            ref = spec.get("scaleTargetRef") or {}
            target = index.get(str(ref.get("kind")), namespace, str(ref.get("name")))
            if target:
                yield subject, target, "scales"
        if subject.kind in ("Service", "PodDisruptionBudget"):
            selector = (
                {"matchLabels": spec.get("selector") or {}}
                if subject.kind == "Service"
                else spec.get("selector") or {}
            )
            if selector.get("matchLabels") or selector.get("matchExpressions"):
                for workload, labels in index.pod_label_sets(namespace):
                    if matches(selector, labels):
                        yield subject, workload, "selects"
        if subject.kind == "Rollout":
            canary = (spec.get("strategy") or {}).get("canary") or {}
            for field in ("stableService", "canaryService"):
                service = index.get("Service", namespace, str(canary.get(field)))
                if service:
                    yield subject, service, field
            names = {t["templateName"] for t in (canary.get("analysis") or {}).get("templates", [])}
            for step in canary.get("steps") or []:
                names |= {
                    t["templateName"] for t in (step.get("analysis") or {}).get("templates", [])
                }
            for name in sorted(names):
                template = index.get("AnalysisTemplate", namespace, name)
                if template:
                    yield subject, template, "analysis"
        if subject.kind == "ServiceMonitor":
            for service in index.of_kind("Service"):
                labels = dict((service.props.get("metadata") or {}).get("labels") or {})
                if service.namespace == namespace and matches(spec.get("selector") or {}, labels):
                    yield subject, service, "scrapes"
        if subject.kind == "ExternalSecret":
            ref = spec.get("secretStoreRef") or {}
            store = index.get(
                str(ref.get("kind") or "SecretStore"), namespace, str(ref.get("name"))
            )
            if store:
                yield subject, store, "reads from"
        if subject.kind == "RoleBinding":
            role = index.get(
                "Role", namespace, str((subject.props.get("roleRef") or {}).get("name"))
            )
            if role:
                yield subject, role, "grants"
            for entry in subject.props.get("subjects") or []:
                account = index.get("ServiceAccount", namespace, str(entry.get("name")))
                if account:
                    yield subject, account, "to"
        yield from _pod_edges(index, subject)


def _pod_edges(index: Index, subject: Subject) -> Iterator[Edge]:
    for pod in pod_templates(dict(subject.props)):
        account = index.get("ServiceAccount", subject.namespace, str(pod.get("serviceAccountName")))
        if account:
            yield subject, account, "runs as"
        seen: set[tuple[str, str]] = set()
        for kind, name, _ in pod_uses(pod):
            if (kind, name) in seen:
                continue
            seen.add((kind, name))
            target = index.get(kind, subject.namespace, name)
            if target is None and kind == "Secret":
                target = next(
                    (
                        e
                        for e in index.of_kind("ExternalSecret")
                        if e.namespace == subject.namespace
                        and ((e.props.get("spec") or {}).get("target") or {}).get(
                            "name", e.object_name
                        )
                        == name
                    ),
                    None,
                )
            if target:
                yield subject, target, "mounts" if kind == "ConfigMap" else "reads"


def _label(resource: Resource) -> str:
    if resource.is_kubernetes_object:
        return f"{resource.kind}<br/>{resource.object_name}"
    short = resource.type.rsplit(":", 1)[-1]
    return f"{short}<br/>{resource.name}"


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")


def _service_of(
    resource: Resource, children: dict[str | None, list[Resource]]
) -> tuple[str, str] | None:
    """The one service (and its namespace) whose objects a component holds, by their
    ``prodstack.io/service`` label; None for what belongs to no single service (a namespace's
    baseline, an Argo CD Application)."""
    services: set[tuple[str, str]] = set()
    pending = [resource]
    while pending:
        current = pending.pop()
        pending.extend(children.get(current.urn, []))
        labels = (current.inputs.get("metadata") or {}).get("labels") or {}
        if current.is_kubernetes_object and current.namespace and SERVICE in labels:
            services.add((str(labels[SERVICE]), current.namespace))
    return services.pop() if len(services) == 1 else None


def mermaid(graph: ResourceGraph) -> str:
    """``flowchart LR`` text; stable for the same graph (sorted ids and edges)."""
    resources = sorted(
        (r for r in graph if r.type != "pulumi:pulumi:Stack" and not r.is_provider),
        key=lambda r: (r.type, r.name),
    )
    ids = {resource.urn: f"n{position}" for position, resource in enumerate(resources)}
    children: dict[str | None, list[Resource]] = {}
    for resource in resources:
        parent = resource.parent if resource.parent in ids else None
        children.setdefault(parent, []).append(resource)
    by_service: dict[tuple[str, str], list[Resource]] = {}
    for resource in list(children.get(None, [])):
        service = None if resource.custom else _service_of(resource, children)
        if service is not None:
            by_service.setdefault(service, []).append(resource)
            children[None].remove(resource)

    lines = ["flowchart LR"]

    def emit_service(position: int, service: tuple[str, str]) -> None:
        title = f"service {service[0]} in {service[1]}"
        lines.append(f'  subgraph s{position}["{_escape(title)}"]')
        emit_resources(by_service[service], 2)
        lines.append("  end")

    def emit(parent: str | None, depth: int) -> None:
        emit_resources(children.get(parent, []), depth)

    def emit_resources(resources: list[Resource], depth: int) -> None:
        pad = "  " * depth
        for resource in resources:
            node = ids[resource.urn]
            if resource.custom:
                lines.append(f'{pad}{node}["{_escape(_label(resource))}"]')
            else:
                title = f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"
                lines.append(f'{pad}subgraph {node}["{_escape(title)}"]')
                emit(resource.urn, depth + 1)
                lines.append(f"{pad}end")

    for position, service in enumerate(sorted(by_service)):
        emit_service(position, service)
    emit(None, 1)
    edges = sorted(
        {
            (ids[source.urn], ids[target.urn], label)
            for source, target, label in references(Index(subjects(graph)))
            if source.urn in ids and target.urn in ids and source.urn != target.urn
        }
    )
    lines.extend(f"  {source} -->|{label}| {target}" for source, target, label in edges)
    return "\n".join(lines) + "\n"
