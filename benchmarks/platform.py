"""The synthetic platform: one ``prodstack:services`` configuration of N services.

It is the production stack's configuration, its services replaced by N copies of its API
(``shop-api-000``, ...: load balancer, autoscaler, secrets, backups, alerts), ten to a
namespace (``shop-production-000``, ...), each calling the one before it. One program
validates it and builds it with ``prodstack.stack.build``, exporting what ``stacks/__main__.py``
exports: whatever the stack composes is what each service costs, and namespace-level objects
are shared as they are in a real platform.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pulumi

from prodstack.config import parse_environment
from prodstack.config.loader import decode_namespace
from prodstack.stack import build
from prodstack.synth import find_project
from prodstack.synth.engine import Program
from prodstack.synth.project import Project, stack_config

ROOT = Path(__file__).resolve().parents[1]
BASE_STACK = "production"
BASE_SERVICE = "shop-api"
PLATFORM_STACK = "platform"
SERVICES_PER_NAMESPACE = 10
NAMESPACE_PREFIX = "shop-production"


def stack_values(project: Project, stack: str = BASE_STACK) -> dict[str, Any]:
    """The ``prodstack:`` values of a stack file, structured ones decoded, keys unprefixed."""
    config, _ = stack_config(project, stack)
    return decode_namespace(config)


def service_name(index: int) -> str:
    return f"{BASE_SERVICE}-{index:03d}"


def service_values(base: dict[str, Any], index: int) -> dict[str, Any]:
    """Service ``index``: the base API in namespace ``index // 10``, with its own bucket,
    calling service ``index - 1``."""
    values = copy.deepcopy(base)
    values["namespace"] = f"{NAMESPACE_PREFIX}-{index // SERVICES_PER_NAMESPACE:03d}"
    values["dbBackup"]["bucket"]["name"] = f"shop-production-db-backups-{index:03d}"
    values["calls"] = [{"service": service_name(index - 1)}] if index > 0 else []
    return values


def platform_values(count: int, project: Project | None = None) -> dict[str, Any]:
    """The whole platform's configuration: the production stack's, with N services."""
    values = stack_values(project or find_project(ROOT))
    base = values["services"][BASE_SERVICE]
    values["services"] = {service_name(i): service_values(base, i) for i in range(count)}
    values.pop("upgrade", None)  # no service of this platform ever was a single-app stack
    return values


def platform_program(values: dict[str, Any]) -> Program:
    """One program that validates and builds the platform, exporting its outputs the way
    ``stacks/__main__.py`` does."""

    def program() -> None:
        for key, value in build(parse_environment(values)).items():
            pulumi.export(key, value)

    return program
