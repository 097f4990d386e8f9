"""The whole configuration of one stack (dev, staging or production)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from prodstack.config.app import AppConfig, image_is_pinned
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.db_backup import DbBackupConfig
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
    db_backup: DbBackupConfig | None = None

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
    def _production_backups(self) -> EnvironmentConfig:
        if self.environment == "production" and self.db_backup is not None:
            raise_violations(
                Violation(("dbBackup", *violation.path), violation.message)
                for violation in self.db_backup.production_violations()
            )
        return self
