"""Who an app is in the cluster: its names, namespace and labels, shared by every component
that builds objects for it (so selectors and labels agree by construction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodstack import labels as lbl
from prodstack.components.args import ComponentArgs
from prodstack.config.app import AppName
from prodstack.config.types import DnsLabel, LabelValue
from prodstack.names import ServiceNames


@dataclass(frozen=True)
class AppIdentity(ComponentArgs):
    """``name`` is the app (and its Rollout and stable Service); ``instance`` tells apart
    installations of the same app (default: the name); ``service`` is the service its objects
    belong to (default: the name; the backup jobs' identity names the app's)."""

    name: AppName
    namespace: DnsLabel
    instance: LabelValue | None = None
    version: LabelValue | None = None
    part_of: LabelValue | None = None
    service: LabelValue | None = None

    @property
    def names(self) -> ServiceNames:
        """The object names of the app's service in its namespace."""
        return ServiceNames(self.name, self.namespace)

    @property
    def instance_label(self) -> str:
        return self.instance or self.name

    def selector(self) -> dict[str, str]:
        """Matches every pod of the app, stable and canary alike."""
        return lbl.selector_labels(self.name, self.instance_label)

    def labels(self, component: str, *, versioned: bool = False) -> dict[str, str]:
        """Recommended labels. The version goes only on what a release changes anyway (the
        workload and its pods): elsewhere it would rewrite every object on every release."""
        return lbl.recommended_labels(
            self.name,
            self.instance_label,
            version=self.version if versioned else None,
            component=component,
            part_of=self.part_of,
        )

    def metadata(
        self,
        object_name: str,
        component: str,
        *,
        annotations: dict[str, str] | None = None,
        extra_labels: dict[str, str] | None = None,
        versioned: bool = False,
    ) -> dict[str, Any]:
        """``metadata`` of an object in the app's namespace, with the recommended labels."""
        meta: dict[str, Any] = {
            "name": object_name,
            "namespace": self.namespace,
            "labels": {
                **self.labels(component, versioned=versioned),
                lbl.SERVICE: self.service or self.name,
                **(extra_labels or {}),
            },
        }
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta
