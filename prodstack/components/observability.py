"""Observability: scraping, alerts with runbooks, DORA recording rules and a Grafana dashboard
for an app that meets the metric contract (docs/observability.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, names_of
from prodstack.components.outputs import known_after
from prodstack.config.app import PromLabelName
from prodstack.config.observability import AlertsConfig, ObservabilityConfig
from prodstack.config.types import DnsLabel, ObjectName, Port
from prodstack.identity import AppIdentity
from prodstack.specs import alerts as alerts_spec
from prodstack.specs import dashboard as dashboard_spec
from prodstack.specs import monitoring
from prodstack.specs.alerts import AlertTarget, BackupJobs

MONITORING_API_VERSION = kinds.SERVICE_MONITOR.api_version

__all__ = ["BackupJobs", "Observability", "ObservabilityArgs"]


@dataclass(frozen=True, kw_only=True)
class ObservabilityArgs(ComponentArgs):
    """Inputs of an Observability component.

    ``identity`` is the app's (its pods must match ``identity.selector()`` and expose a port
    named ``metrics``). ``config`` is the platform's monitoring, ``alerts`` the service's
    thresholds. ``min_available_replicas`` is the HA floor that LowReplicas watches.
    ``backups`` are the database backup's CronJobs (pass ``DbBackup.backup_jobs``); without
    them there are no backup alerts. ``autoscaler`` names the HPA shown on the dashboard
    (default: the app's name).
    """

    identity: AppIdentity
    config: ObservabilityConfig
    team: DnsLabel
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    min_available_replicas: int
    metrics_port: Port = 9090
    status_label: PromLabelName = "status"
    backups: BackupJobs | None = None
    autoscaler: ObjectName | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _ = self.target  # fail at construction: AlertTarget refuses a floor below 1

    def derived_names(self) -> Iterator[DerivedName]:
        names = self.identity.names
        yield from names_of("identity.name", [(kinds.SERVICE, names.metrics_service)])

    @property
    def target(self) -> AlertTarget:
        return AlertTarget(
            app=self.identity.name,
            namespace=self.identity.namespace,
            app_team=self.team,
            platform_team=self.config.platform_team,
            min_available_replicas=self.min_available_replicas,
            status_label=self.status_label,
            backups=self.backups,
        )


class Observability(pulumi.ComponentResource):
    """A metrics Service over all the app's pods, a ServiceMonitor, a PrometheusRule with the
    alerts and DORA recording rules, and a Grafana dashboard ConfigMap."""

    metrics_service_name: pulumi.Output[str]
    service_monitor_name: pulumi.Output[str]
    prometheus_rule_name: pulumi.Output[str]
    dashboard_config_map_name: pulumi.Output[str | None]
    alert_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = args.identity
        config = args.config
        target = args.target
        app = identity.name
        selector = identity.selector()
        prometheus_labels = dict(config.prometheus_labels)

        names = identity.names
        service_name = names.metrics_service
        service = k8s.core.v1.Service(
            f"{name}-metrics",
            metadata=identity.metadata(service_name, monitoring.METRICS_COMPONENT),
            spec=monitoring.metrics_service_spec(selector, args.metrics_port),
            opts=child,
        )
        monitor = k8s.apiextensions.CustomResource(
            f"{name}-servicemonitor",
            api_version=MONITORING_API_VERSION,
            kind="ServiceMonitor",
            metadata=identity.metadata(
                service_name, monitoring.METRICS_COMPONENT, extra_labels=prometheus_labels
            ),
            spec=monitoring.service_monitor_spec(selector, identity.namespace, config.scrape),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
        )
        rule_spec = alerts_spec.prometheus_rule_spec(target, args.alerts, config.runbook_base_url)
        rule_name = names.prometheus_rule
        rule = k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version=MONITORING_API_VERSION,
            kind="PrometheusRule",
            metadata=identity.metadata(rule_name, "alerting", extra_labels=prometheus_labels),
            spec=rule_spec,
            opts=child,
        )

        dashboard_name: str | None = None
        dashboard: k8s.core.v1.ConfigMap | None = None
        if config.dashboard.enabled:
            dashboard_name = names.dashboard
            meta = identity.metadata(
                dashboard_name,
                "dashboard",
                annotations=dict(config.dashboard.annotations),
                extra_labels=dict(config.dashboard.labels),
            )
            if config.dashboard.namespace is not None:
                meta["namespace"] = config.dashboard.namespace
            model = dashboard_spec.dashboard(target, args.alerts, autoscaler=args.autoscaler)
            dashboard = k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata=meta,
                data={f"{app}.json": dashboard_spec.dashboard_json(model)},
                opts=child,
            )

        self.metrics_service_name = known_after(service, service_name)
        self.service_monitor_name = known_after(monitor, service_name)
        self.prometheus_rule_name = known_after(rule, rule_name)
        self.dashboard_config_map_name = (
            dashboard.urn.apply(lambda _: dashboard_name)
            if dashboard is not None
            else pulumi.Output.from_input(None)
        )
        self.alert_names = pulumi.Output.from_input(
            [r["alert"] for r in rule_spec["groups"][0]["rules"]]
        )
        self.register_outputs(
            {
                "metrics_service_name": self.metrics_service_name,
                "service_monitor_name": self.service_monitor_name,
                "prometheus_rule_name": self.prometheus_rule_name,
                "dashboard_config_map_name": self.dashboard_config_map_name,
                "alert_names": self.alert_names,
            }
        )
