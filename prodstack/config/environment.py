"""The whole configuration of one environment (one stack: dev, staging or production): the
platform's settings and every service it runs."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Annotated, Literal

from pydantic import Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.errors import did_you_mean
from prodstack.config.gitops import GitOpsConfig
from prodstack.config.observability import ObservabilityConfig
from prodstack.config.security import (
    DEFAULT_POD_SECURITY_VERSION,
    PlatformNetwork,
    PodSecurityVersion,
)
from prodstack.config.service import ServiceConfig, ServiceDefaults, ServiceName
from prodstack.config.types import DnsLabel
from prodstack.kinds import LABEL_VALUE_LIMIT
from prodstack.names import (
    BACKUP_COMPONENT,
    RESTORE_CHECK_COMPONENT,
    ServiceNames,
    derived_names,
    label_values,
)

Environment = Literal["dev", "staging", "production"]
IAM_ROLE_NAME_LIMIT = 64


class UpgradeConfig(ConfigModel):
    """How this stack was deployed before. ``singleAppService`` names the service that was the
    one app of a stack deployed by prodstack 0.1 (``prodstack:app``): its objects keep their
    Pulumi identities (aliases), so the upgrade updates them in place instead of replacing."""

    single_app_service: ServiceName


class EnvironmentConfig(ConfigModel):
    """Everything under the ``prodstack:`` namespace of ``stacks/Pulumi.<stack>.yaml``.

    ``services`` are validated as merged with ``defaults`` (``parse_environment`` merges);
    validate with ``context={"environment": ...}`` so that environment rules apply.
    """

    environment: Environment
    namespace: DnsLabel
    pod_security_version: PodSecurityVersion = DEFAULT_POD_SECURITY_VERSION
    network: PlatformNetwork = PlatformNetwork()
    observability: ObservabilityConfig | None = None
    gitops: GitOpsConfig | None = None
    defaults: ServiceDefaults = ServiceDefaults()
    services: Annotated[dict[ServiceName, ServiceConfig], Field(min_length=1)]
    upgrade: UpgradeConfig | None = None

    def namespace_of(self, service: ServiceConfig) -> str:
        return service.namespace or self.namespace

    def names_of(self, service: ServiceConfig) -> ServiceNames:
        """The object names of ``service`` (named by its key) in its namespace."""
        return ServiceNames(service.name, self.namespace_of(service), self.environment)

    def namespaces(self) -> list[str]:
        """Every namespace a service runs in: the default first, then by name."""
        used = {self.namespace_of(service) for service in self.services.values()}
        return sorted(used, key=lambda ns: (ns != self.namespace, ns))

    @model_validator(mode="after")
    def _services_are_named_by_their_keys(self) -> EnvironmentConfig:
        raise_violations(
            Violation(
                ("services", key, "app", "name"),
                f"is {service.app.name!r}, but the service is named by its key {key!r}: "
                "remove app.name",
            )
            for key, service in self.services.items()
            if service.app.name != key
        )
        return self

    @model_validator(mode="after")
    def _calls_name_services(self) -> EnvironmentConfig:
        violations = []
        known = sorted(self.services)
        for key, service in self.services.items():
            for index, call in enumerate(service.calls):
                path = ("services", key, "calls", index)
                callee = self.services.get(call.service)
                if callee is None:
                    suggestion = did_you_mean(call.service, known)
                    violations.append(
                        Violation(
                            (*path, "service"),
                            f"no service {call.service!r} in this stack{suggestion} (services "
                            "outside the stack are reached through security.network.peers or "
                            "an egress flow)",
                        )
                    )
                elif callee.port(call.port) is None:
                    violations.append(
                        Violation(
                            (*path, "port"),
                            f"{call.port!r} is not a port of {call.service}: use http "
                            f"({callee.app.port}) or metrics ({callee.app.metrics_port})",
                        )
                    )
            seen: dict[str, int] = {}
            first_call: dict[str, int] = {}
            for index, call in enumerate(service.calls):
                if call.service not in self.services:
                    continue  # reported above
                target = (call.service, callee_port(self, call.service, call.port))
                label = f"{target[0]}:{target[1]}"
                if label in seen:
                    violations.append(
                        Violation(
                            ("services", key, "calls", index),
                            f"repeats calls[{seen[label]}] ({label}); remove one",
                        )
                    )
                elif call.service in first_call:
                    # The call's two NetworkPolicies are named after the pair, not the port.
                    violations.append(
                        Violation(
                            ("services", key, "calls", index),
                            f"calls {call.service} again (calls[{first_call[call.service]}] on "
                            "another port): a service calls another on one port, through the "
                            f"NetworkPolicies {self.names_of(service).calls(call.service)} and "
                            f"{self.names_of(self.services[call.service]).called_by(key)}; "
                            "remove one",
                        )
                    )
                seen.setdefault(label, index)
                first_call.setdefault(call.service, index)
        raise_violations(violations)
        return self

    @model_validator(mode="after")
    def _observability_needs_the_platform(self) -> EnvironmentConfig:
        if self.observability is not None:
            return self
        raise_violations(
            Violation(
                ("services", key, "observability"),
                "needs prodstack:observability (the platform's runbookBaseUrl, scraping and "
                "dashboards); configure it, or set this service's observability: null",
            )
            for key, service in self.services.items()
            if service.observability is not None and "observability" in service.model_fields_set
        )
        return self

    @model_validator(mode="after")
    def _derived_names_fit_and_differ(self) -> EnvironmentConfig:
        violations = []
        owners: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        dashboard_ns = self.observability.dashboard.namespace if self.observability else None
        callers: dict[str, list[str]] = defaultdict(list)
        for key, service in self.services.items():
            for call in service.calls:
                callers[call.service].append(key)
        for key, service in self.services.items():
            names = self.names_of(service)
            too_long = []
            for derived in derived_names(
                service,
                names,
                dashboard_namespace=dashboard_ns,
                observed=self.observability is not None,
                callers=callers[key],
            ):
                owners[derived.key].append(key)
                if len(derived.name) > derived.kind.name_limit:
                    too_long.append(
                        f"{derived.kind.kind} {derived.name!r} ({len(derived.name)} > "
                        f"{derived.kind.name_limit}, from {derived.section})"
                    )
            too_long += [
                f"label {label}={value!r} ({len(value)} > {LABEL_VALUE_LIMIT})"
                for label, value in label_values(names, service)
                if len(value) > LABEL_VALUE_LIMIT
            ]
            if service.db_backup is not None:
                too_long += [
                    f"IAM role {role!r} ({len(role)} > {IAM_ROLE_NAME_LIMIT}, from dbBackup)"
                    for role in (
                        names.iam_role(c) for c in (BACKUP_COMPONENT, RESTORE_CHECK_COMPONENT)
                    )
                    if len(role) > IAM_ROLE_NAME_LIMIT
                ]
            if too_long:
                violations.append(
                    Violation(
                        ("services", key),
                        "the name is too long for the objects derived from it: "
                        + "; ".join(dict.fromkeys(too_long))
                        + ": choose a shorter service name",
                    )
                )
        for (kind, namespace, name), keys in sorted(owners.items()):
            services = sorted(set(keys))
            if len(services) > 1:
                where = f" in namespace {namespace}" if namespace else ""
                violations.append(
                    Violation(
                        ("services", services[-1]),
                        f"its {kind.rpartition('/')[2]} {name!r}{where} collides with the one "
                        f"of service {services[0]!r}: rename one of the services",
                    )
                )
        raise_violations(violations)
        return self

    @model_validator(mode="after")
    def _load_balancer_sources_hold_no_pods(self) -> EnvironmentConfig:
        # An ipBlock that contains pod addresses admits those pods too (the VPC CNI gives pods
        # VPC addresses): the load balancer's flow must name the load balancer's subnets only.
        pods = [ipaddress.ip_network(cidr) for cidr in self.network.pod_cidrs]
        violations = []
        for key, service in self.services.items():
            for index, source in enumerate(service.security.network.load_balancer_sources):
                block = ipaddress.ip_network(source)
                overlap = [str(p) for p in pods if p.version == block.version and p.overlaps(block)]
                lb = service.load_balancer
                # Instance targets see clients' addresses: their ranges may be wide, and the
                # flow excludes the pods' ranges from them (prodstack.plan.network).
                if overlap and lb is not None and lb.effective_target_type == "ip":
                    violations.append(
                        Violation(
                            ("services", key, "security", "network", "loadBalancerSources", index),
                            f"{source} contains pod addresses ({', '.join(overlap)} in "
                            "prodstack:network.podCidrs): it would admit every pod of the "
                            "cluster to the app port; list the load balancer's own subnets "
                            "(docs/components/autoscaling.md#who-may-reach-the-pods)",
                        )
                    )
        raise_violations(violations)
        return self

    @model_validator(mode="after")
    def _gitops_manifests_are_known_offline(self) -> EnvironmentConfig:
        # What goes to git must be known before AWS answers: an unnamed bucket gets its name
        # from Pulumi at creation, which the rendered backup jobs would need.
        if self.gitops is None:
            return self
        raise_violations(
            Violation(
                ("services", key, "dbBackup", "bucket", "name"),
                "a GitOps stack renders the backup jobs into git before the bucket exists: "
                "name the bucket",
            )
            for key, service in self.services.items()
            if service.db_backup is not None and service.db_backup.bucket.name is None
        )
        return self

    @model_validator(mode="after")
    def _upgrade_names_a_default_namespace_service(self) -> EnvironmentConfig:
        if self.upgrade is None:
            return self
        name = self.upgrade.single_app_service
        service = self.services.get(name)
        if service is None or self.namespace_of(service) != self.namespace:
            raise_violations(
                [
                    Violation(
                        ("upgrade", "singleAppService"),
                        f"{name!r} must be a service of this stack in the default namespace "
                        f"{self.namespace} (where the single-app stack ran)",
                    )
                ]
            )
        return self


def callee_port(env: EnvironmentConfig, callee: str, port: int | str) -> int | None:
    """The port number a call to ``callee`` on ``port`` (a name or number) reaches."""
    service = env.services.get(callee)
    return None if service is None else service.port(port)
