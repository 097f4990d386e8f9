"""The environment stack: the plan of a validated configuration, registered as components.

``build`` plans (``prodstack.plan``, pure) and then registers: one NamespaceBaseline per
namespace, and per service the components its configuration asks for, each handed the objects
or outputs of the others it depends on.
"""

from __future__ import annotations

from typing import Any

import pulumi

from prodstack import ownership
from prodstack.components.argocd_application import ArgoCDApplication, ArgoCDApplicationArgs
from prodstack.components.autoscaling import Autoscaling, AutoscalingArgs
from prodstack.components.canary_app import CanaryApp, CanaryAppArgs
from prodstack.components.entry_point import EntryPoint, EntryPointArgs
from prodstack.components.ha_policy import HAPolicy, HAPolicyArgs
from prodstack.components.namespace_baseline import NamespaceBaseline, NamespaceBaselineArgs
from prodstack.components.observability import Observability, ObservabilityArgs
from prodstack.components.service_security import ServiceSecurity, ServiceSecurityArgs
from prodstack.components.vault_secrets import VaultSecrets, VaultSecretsArgs
from prodstack.config.environment import EnvironmentConfig
from prodstack.config.gitops import GitOpsConfig
from prodstack.plan import EnvironmentPlan, NamespacePlan, ServicePlan, plan_environment
from prodstack.specs.pod import PodWiring


def build(env: EnvironmentConfig) -> dict[str, Any]:
    """Create the environment's resources; returns the values the program exports."""
    return register(plan_environment(env))


def register(plan: EnvironmentPlan) -> dict[str, Any]:
    """Register a planned environment; returns its stack outputs."""
    owner = plan.kubernetes_owner
    providers = ownership.render_providers(plan) if owner == "gitops" else {}
    if owner == "handover":
        pulumi.runtime.register_stack_transformation(ownership.retain_kubernetes_objects)
    where = {
        namespace: pulumi.ResourceOptions(providers={"kubernetes": provider})
        for namespace, provider in providers.items()
    }
    baselines = {
        namespace.name: register_namespace(namespace, where.get(namespace.name))
        for namespace in plan.namespaces
    }
    outputs: dict[str, Any] = {
        "environment": plan.environment,
        ownership.OWNER_OUTPUT: owner,
        "namespaces": [baselines[namespace.name].namespace_name for namespace in plan.namespaces],
        "services": {
            service.name: register_service(
                service, baselines[service.namespace], where.get(service.namespace)
            )
            for service in plan.services
        },
    }
    if plan.gitops is not None:
        outputs["argocdApplications"] = [
            register_application(plan.gitops, namespace, automated=owner == "gitops")
            for namespace in plan.namespaces
        ]
    return outputs


def register_namespace(
    plan: NamespacePlan, opts: pulumi.ResourceOptions | None = None
) -> NamespaceBaseline:
    return NamespaceBaseline(
        plan.name,
        NamespaceBaselineArgs(
            namespace=plan.name,
            labels=plan.labels,
            flows=plan.flows,
            adopts_single_app_stack=plan.adopts_single_app_stack,
        ),
        opts=opts,
    )


def register_application(
    gitops: GitOpsConfig, plan: NamespacePlan, *, automated: bool
) -> pulumi.Output[str]:
    """The namespace's Argo CD Application, applied by Pulumi to the cluster."""
    assert plan.application is not None
    application = ArgoCDApplication(
        plan.application.logical_name,
        ArgoCDApplicationArgs(
            namespace=plan.name,
            gitops=gitops,
            application_name=plan.application.name,
            namespace_labels=plan.labels,
            automated=automated,
        ),
    )
    return application.application_name


def register_service(
    plan: ServicePlan, baseline: NamespaceBaseline, opts: pulumi.ResourceOptions | None = None
) -> dict[str, Any]:
    """The components of one service; returns its outputs."""
    config = plan.config
    name = plan.name
    identity = plan.identity
    placed = opts or pulumi.ResourceOptions()
    in_namespace = pulumi.ResourceOptions.merge(
        placed, pulumi.ResourceOptions(depends_on=[baseline])
    )

    security = ServiceSecurity(
        f"{name}-security",
        ServiceSecurityArgs(
            identity=identity,
            flows=plan.flows,
            calls=plan.calls,
            callers=plan.callers,
            api_access=config.security.api_access,
            api_token_expiration_seconds=config.security.api_token_expiration_seconds,
            adopts_single_app_stack=plan.adopts_single_app_stack,
        ),
        opts=in_namespace,
    )
    wiring: list[PodWiring] = [security.api_token]
    before_app: list[pulumi.Resource] = [baseline, security]
    secrets = None
    if config.vault_secrets is not None:
        # External Secrets logs in to Vault as the account CanaryApp creates for the app.
        secrets = VaultSecrets(
            f"{name}-secrets",
            VaultSecretsArgs(
                identity=identity, config=config.vault_secrets, environment=plan.environment
            ),
            opts=in_namespace,
        )
        wiring.append(secrets.pod_wiring)
        before_app.append(secrets)
    ha = None
    if config.ha is not None:
        ha = HAPolicy(
            name,
            HAPolicyArgs(identity=identity, ha=config.ha, replicas=config.replica_range),
            opts=in_namespace,
        )
    entry = None
    if config.load_balancer is not None:
        # Before the app: an ALB Rollout names its Ingress, and pods need the load balancer's
        # target groups to exist to get their readiness gates.
        entry = EntryPoint(
            name,
            EntryPointArgs(
                identity=identity,
                load_balancer=config.load_balancer,
                health_path=plan.app.probes.readiness.path,
                drain=plan.drain,
                routing=plan.routing,
            ),
            opts=in_namespace,
        )
        before_app.append(entry)
    app = CanaryApp(
        name,
        CanaryAppArgs(
            app=plan.app,
            namespace=plan.namespace,
            instance=identity.instance,
            replicas=plan.replicas,
            environment=plan.environment,
            scheduling=ha.scheduling if ha is not None else None,
            wiring=wiring,
            traffic_routing=plan.routing,
        ),
        opts=pulumi.ResourceOptions.merge(placed, pulumi.ResourceOptions(depends_on=before_app)),
    )
    outputs: dict[str, Any] = {
        "namespace": plan.namespace,
        "rolloutName": app.rollout_name,
        "serviceName": app.service_name,
        "stableServiceName": app.stable_service_name,
        "canaryServiceName": app.canary_service_name,
        "networkPolicies": security.network_policy_names,
    }
    if entry is not None:
        outputs["loadBalancerHostname"] = entry.load_balancer_hostname
    if secrets is not None:
        outputs["vaultPolicy"] = secrets.vault_policy  # what the app's Vault role must grant
    if config.autoscaling is not None:
        Autoscaling(
            name,
            AutoscalingArgs(identity=identity, target=app, autoscaling=config.autoscaling),
            opts=in_namespace,
        )
    backups = None
    if config.db_backup is not None:
        # Imported here: pulumi_aws is large, and only stacks with backups need it.
        from prodstack.components.db_backup import DbBackup, DbBackupArgs

        # The jobs log in to Vault as themselves, through the app's Vault connection unless
        # dbBackup.vault sets its own; they never read through the app's store.
        backup = DbBackup(
            f"{name}-db-backup",
            DbBackupArgs(
                identity=identity,
                config=config.db_backup,
                app_vault=None if config.vault_secrets is None else config.vault_secrets.vault,
                environment=plan.environment,
            ),
            # After the namespace and the service's network policies (the jobs' egress).
            opts=pulumi.ResourceOptions.merge(
                placed, pulumi.ResourceOptions(depends_on=[baseline, security])
            ),
        )
        backups = backup.backup_jobs
        outputs |= {
            "dbBackupBucket": backup.bucket_name,
            "dbBackupCronJob": backup.backup_cron_job_name,
            "dbRestoreCheckCronJob": backup.restore_check_cron_job_name,
            "dbBackupRoleArn": backup.backup_role_arn,
            "dbRestoreCheckRoleArn": backup.restore_check_role_arn,
            "dbBackupVaultPolicy": backup.backup_vault_policy,
            "dbRestoreCheckVaultPolicy": backup.restore_check_vault_policy,
        }
    if plan.observability is not None and config.observability is not None:
        Observability(
            f"{name}-observability",
            ObservabilityArgs(
                identity=identity,
                config=plan.observability,
                alerts=config.observability.alerts,
                team=config.app.team,
                min_available_replicas=plan.min_available_replicas,
                metrics_port=config.app.metrics_port,
                status_label=config.app.metrics_status_label,
                backups=backups if plan.backup_alerts else None,
            ),
            opts=in_namespace,
        )
    return outputs
