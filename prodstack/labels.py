"""The recommended ``app.kubernetes.io/*`` labels, and the stable subset that selectors use."""

from __future__ import annotations

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
VERSION = "app.kubernetes.io/version"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
# The service an object belongs to (on objects, never on pod templates: a new label there
# would roll every pod). ``prodstack render`` groups files by it.
SERVICE = "prodstack.io/service"

# Argo Rollouts adds this label to every pod of a revision and to the stable/canary Service
# selectors; PromQL sees it as rollouts_pod_template_hash once the ServiceMonitor copies it.
POD_TEMPLATE_HASH = "rollouts-pod-template-hash"


def selector_labels(name: str, instance: str) -> dict[str, str]:
    """Labels that identify the app's pods for its whole life: never the version."""
    return {NAME: name, INSTANCE: instance}


def recommended_labels(
    name: str,
    instance: str,
    *,
    version: str | None = None,
    component: str | None = None,
    part_of: str | None = None,
) -> dict[str, str]:
    """Selector labels plus the descriptive ones; absent values are left out."""
    labels = selector_labels(name, instance)
    optional = {VERSION: version, COMPONENT: component, PART_OF: part_of}
    labels.update({key: value for key, value in optional.items() if value})
    labels[MANAGED_BY] = "pulumi"
    return labels
