"""The whole configuration of one stack (dev, staging or production)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from prodstack.config.app import AppConfig, image_is_pinned
from prodstack.config.autoscaling import AutoscalingConfig, ReplicaRange
from prodstack.config.autoscaling import replica_range as _replica_range
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.ha import HAConfig, replica_violations
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.config.types import DnsLabel

Environment = Literal["dev", "staging", "production"]


class EnvironmentConfig(ConfigModel):
    """Everything under the ``prodstack:`` namespace of ``stacks/Pulumi.<stack>.yaml``.

    Validate with ``context={"environment": ...}`` (``parse_environment`` does) so that rules
    that depend on the environment, such as digest-pinned production images, apply.
    """

    environment: Environment
    namespace: DnsLabel
    app: AppConfig
    autoscaling: AutoscalingConfig | None = None
    load_balancer: LoadBalancerConfig | None = None
    ha: HAConfig | None = None

    @property
    def replica_range(self) -> ReplicaRange:
        """The HPA's bounds when autoscaling is configured, else ``app.replicas``."""
        return _replica_range(self.app.replicas, self.autoscaling)

    @model_validator(mode="after")
    def _production_pins_images(self) -> EnvironmentConfig:
        # Also checked on the field when validated with context; this catches callers without it.
        if self.environment == "production" and not image_is_pinned(self.app.image):
            raise_violations(
                [
                    Violation(
                        ("app", "image"),
                        "production images must be pinned by digest (name@sha256:<64 hex>)",
                    )
                ]
            )
        return self

    @model_validator(mode="after")
    def _replicas_fit_ha(self) -> EnvironmentConfig:
        if self.ha is not None:
            raise_violations(replica_violations(self.ha, self.replica_range))
        return self
