"""Loading the repository's stack configs, varying them, and synthesizing the result.

A stack file keeps most values in ``prodstack:defaults``. ``varied`` hands a test the
*flattened* configuration: defaults merged into every service and dropped, so a test can
change any effective value at ``raw["services"][<name>]`` (``svc(raw)`` for the API).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from prodstack.config import ConfigError, EnvironmentConfig, ServiceConfig, parse_environment
from prodstack.config.loader import decode_namespace
from prodstack.config.merge import deep_merge
from prodstack.stack import build
from prodstack.synth import ResourceGraph, find_project, synthesize
from prodstack.synth.project import stack_config

ROOT = Path(__file__).resolve().parents[2]
PROJECT = find_project(ROOT)
STACKS = ("dev", "staging", "production")
# The service every stack has with every part (load balancer in staging and production,
# secrets, backups): the one prodstack 0.1 ran as the stack's single app.
API = "shop-api"
WORKER = "order-worker"
WEB = "storefront"


def raw_config(stack: str) -> dict[str, Any]:
    """The ``prodstack:`` values of a stack file, decoded, keys without the namespace."""
    config, _ = stack_config(PROJECT, stack)
    return decode_namespace(config)


def flattened(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with ``defaults`` merged into every service and removed; each service gets its
    own copy of the defaults, so changing one service leaves the others alone."""
    flat = copy.deepcopy(raw)
    defaults = flat.pop("defaults", None) or {}
    flat["services"] = {
        name: copy.deepcopy(deep_merge(defaults, section))
        for name, section in flat["services"].items()
    }
    return flat


def varied(stack: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The stack's flattened configuration, changed by ``change``."""
    raw = flattened(raw_config(stack))
    change(raw)
    return raw


def svc(raw: dict[str, Any], name: str = API) -> dict[str, Any]:
    """A service's section of a (flattened) configuration."""
    section: dict[str, Any] = raw["services"][name]
    return section


def key(path: str, service: str = API) -> str:
    """The full configuration key of a service's ``path``, as errors name it."""
    return f"prodstack:services.{service}.{path}" if path else f"prodstack:services.{service}"


def environment(
    stack: str, change: Callable[[dict[str, Any]], None] | None = None
) -> EnvironmentConfig:
    return parse_environment(varied(stack, change or (lambda raw: None)))


def service_config(
    stack: str, change: Callable[[dict[str, Any]], None] | None = None, name: str = API
) -> ServiceConfig:
    """One service's validated configuration (the API by default)."""
    return environment(stack, change).services[name]


def synthesize_environment(env: EnvironmentConfig, stack: str = "test") -> ResourceGraph:
    """Synthesize the stack program's composition for an already-parsed configuration."""

    def program() -> None:
        for name, value in build(env).items():
            pulumi.export(name, value)

    return synthesize(program, project=PROJECT.name, stack=stack, root_directory=PROJECT.root)


def config_problems(raw: dict[str, Any]) -> dict[str, str]:
    """What ``parse_environment`` refuses ``raw`` for, by full key (fails if it accepts ``raw``)."""
    with pytest.raises(ConfigError) as caught:
        parse_environment(raw)
    return dict(caught.value.problems)


def problems(stack: str, change: Callable[[dict[str, Any]], None]) -> dict[str, str]:
    """The problems of the stack's configuration changed by ``change``, by full key."""
    return config_problems(varied(stack, change))
