"""The whole configuration of one stack (dev, staging or production)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from prodstack.config.app import AppConfig, image_is_pinned
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.observability import ObservabilityConfig
from prodstack.config.types import DnsLabel, duration_seconds

Environment = Literal["dev", "staging", "production"]


class EnvironmentConfig(ConfigModel):
    """Everything under the ``prodstack:`` namespace of ``stacks/Pulumi.<stack>.yaml``.

    Validate with ``context={"environment": ...}`` (``parse_environment`` does) so that rules
    that depend on the environment, such as digest-pinned production images, apply.
    """

    environment: Environment
    namespace: DnsLabel
    app: AppConfig
    observability: ObservabilityConfig | None = None

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
    def _analysis_window_covers_scrapes(self) -> EnvironmentConfig:
        if self.observability is None:
            return self
        window = self.app.canary.analysis.window
        interval = self.observability.scrape.interval
        if duration_seconds(window) < 2 * duration_seconds(interval):
            raise_violations(
                [
                    Violation(
                        ("app", "canary", "analysis", "window"),
                        f"{window} holds fewer than 2 scrapes at observability.scrape.interval "
                        f"{interval}; rate() needs two samples, so every measurement would be "
                        "inconclusive: lengthen the window or scrape more often",
                    )
                ]
            )
        return self
