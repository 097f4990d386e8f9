"""Reading the ``prodstack:`` configuration namespace and validating it in one pass."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from prodstack.config.environment import EnvironmentConfig
from prodstack.config.errors import ConfigError, problems_from

NAMESPACE = "prodstack"


def parse_environment(raw: Mapping[str, Any]) -> EnvironmentConfig:
    """Validate already-decoded ``prodstack:`` values (keys without the namespace prefix).

    Raises ConfigError listing every problem, each named by its full key path.
    """
    try:
        environment = raw.get("environment")
        return EnvironmentConfig.model_validate(dict(raw), context={"environment": environment})
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, NAMESPACE, EnvironmentConfig)) from None


def load_environment() -> EnvironmentConfig:
    """Read every ``prodstack:`` key of the running stack and validate it."""
    return parse_environment(read_namespace(NAMESPACE))


def decode_namespace(config: Mapping[str, str], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The keys of one namespace from engine-shaped config (full keys to string values)."""
    prefix = f"{namespace}:"
    return {
        key[len(prefix) :]: _decode(key, text)
        for key, text in sorted(config.items())
        if key.startswith(prefix)
    }


def read_namespace(namespace: str) -> dict[str, Any]:
    """All keys of one config namespace, structured values decoded from their JSON form."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{namespace}:"
    config = pulumi.Config(namespace)
    values: dict[str, Any] = {}
    for full_key in sorted(keys):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        text = config.get(key)
        if text is None:
            continue
        values[key] = _decode(full_key, text)
    return values


def _decode(full_key: str, text: str) -> Any:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([(full_key, f"structured value is not valid JSON: {exc.msg}")]) from None
