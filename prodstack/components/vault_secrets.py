"""VaultSecrets: the app's credentials from Vault through External Secrets, its typed settings
in a ConfigMap, and the pod pieces that deliver both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, refuse_violations
from prodstack.components.outputs import known_after
from prodstack.config.types import DnsLabel, ObjectName
from prodstack.config.vault_secrets import VaultSecretsConfig
from prodstack.identity import AppIdentity
from prodstack.specs import vault_secrets as spec
from prodstack.specs.app_settings import settings_data


@dataclass(frozen=True, kw_only=True)
class VaultSecretsArgs(ComponentArgs):
    """Inputs of VaultSecrets.

    ``identity`` is the app's (use ``CanaryAppArgs.identity``). External Secrets logs in to
    Vault as ``service_account_name``, by default the app's own account (``identity.name``,
    the one CanaryApp creates); the Vault role must be bound to that account and namespace.
    ``environment`` turns on its rules (``production``: every URL verifies its server, unless
    its secret sets ``allowUnverifiedTls``).
    """

    identity: AppIdentity
    config: VaultSecretsConfig
    service_account_name: ObjectName | pulumi.Output[str] | None = None
    environment: DnsLabel | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.environment == "production":
            refuse_violations("VaultSecretsArgs", ("config",), self.config.production_violations())

    def derived_names(self) -> Iterator[DerivedName]:
        store = spec.object_names(self.identity, self.config.vault.store_kind).store
        namespaced = kinds.is_namespaced(self.config.vault.store_kind)
        kind = kinds.SECRET_STORE if namespaced else kinds.CLUSTER_SECRET_STORE
        yield DerivedName("identity.name", kind.kind, store, kind.name_limit)


class VaultSecrets(pulumi.ComponentResource):
    """A SecretStore (or ClusterSecretStore) for Vault KV v2 with Kubernetes auth, an
    ExternalSecret that templates ``database-url`` and ``redis-url``, and a settings ConfigMap.

    ``pod_wiring`` holds the volumes, mounts, env and checksum annotations to pass to the
    app's CanaryAppArgs; ``vault_policy`` is the policy the Vault role needs.
    """

    store_name: pulumi.Output[str]
    external_secret_name: pulumi.Output[str]
    secret_name: pulumi.Output[str]
    settings_name: pulumi.Output[str | None]
    vault_policy: pulumi.Output[str]

    def __init__(
        self, name: str, args: VaultSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:VaultSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        identity = args.identity
        store_kind = config.vault.store_kind
        names = spec.object_names(identity, store_kind)
        account = args.service_account_name or identity.name

        store = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version=spec.API_VERSION,
            kind=store_kind,
            metadata=spec.store_metadata(identity, names.store, "secrets", store_kind),
            spec=spec.secret_store_spec(
                config.vault, namespace=identity.namespace, service_account=account
            ),
            opts=child,
        )

        external_secret_spec = spec.external_secret_spec(
            config,
            store_kind=store_kind,
            store_name=names.store,
            secret_name=names.secret,
            labels=spec.secret_labels(identity),
        )
        external_secret = k8s.apiextensions.CustomResource(
            f"{name}-external-secret",
            api_version=spec.API_VERSION,
            kind="ExternalSecret",
            metadata=identity.metadata(
                names.external_secret, "secrets", annotations=spec.external_secret_annotations()
            ),
            spec=external_secret_spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[store]),
        )

        settings = None if config.settings is None else settings_data(config.settings)
        config_map = None
        if settings is not None:
            config_map = k8s.core.v1.ConfigMap(
                f"{name}-settings",
                metadata=identity.metadata(names.settings, "settings"),
                data=settings,
                opts=child,
            )

        self.pod_wiring = spec.pod_wiring(
            config, names=names, external_secret=external_secret_spec, settings=settings
        )
        self.store_name = known_after(store, names.store)
        self.external_secret_name = known_after(external_secret, names.external_secret)
        # The Secret is External Secrets' to create; it exists once the ExternalSecret syncs.
        self.secret_name = known_after(external_secret, names.secret)
        self.settings_name = (
            known_after(config_map, names.settings)
            if config_map is not None
            else pulumi.Output.from_input(None)
        )
        self.vault_policy = pulumi.Output.from_input(spec.vault_policy(config, identity))
        self.register_outputs(
            {
                "store_name": self.store_name,
                "external_secret_name": self.external_secret_name,
                "secret_name": self.secret_name,
                "settings_name": self.settings_name,
                "vault_policy": self.vault_policy,
            }
        )
