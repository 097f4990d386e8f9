"""The synthetic platform: N services in one Pulumi program, each what the production stack is.

Service ``i`` is the production stack's configuration with its own app name and namespace,
built by ``prodstack.stack.build`` with the logical-name prefix ``svc<i>-``. Whatever ``build``
composes (today and after new components are added) is what each service costs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi

from prodstack.config import NAMESPACE, parse_environment
from prodstack.stack import build
from prodstack.synth import find_project
from prodstack.synth.engine import Program
from prodstack.synth.project import Project, stack_config

ROOT = Path(__file__).resolve().parents[1]
BASE_STACK = "production"
PLATFORM_STACK = "platform"


def stack_values(project: Project, stack: str = BASE_STACK) -> dict[str, Any]:
    """The ``prodstack:`` values of a stack file, structured ones decoded, keys unprefixed."""
    config, _ = stack_config(project, stack)
    prefix = f"{NAMESPACE}:"
    values: dict[str, Any] = {}
    for key, text in config.items():
        if key.startswith(prefix):
            structured = text.lstrip().startswith(("{", "["))
            values[key.removeprefix(prefix)] = json.loads(text) if structured else text
    return values


def service_values(base: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Service ``index``: the base configuration with a distinct app name and namespace."""
    values = copy.deepcopy(dict(base))
    values["app"]["name"] = f"{values['app']['name']}-{index:03d}"
    values["namespace"] = f"{values['namespace']}-{index:03d}"
    return values


def platform_values(count: int, project: Project | None = None) -> list[dict[str, Any]]:
    base = stack_values(project or find_project(ROOT))
    return [service_values(base, index) for index in range(count)]


def name_prefix(index: int) -> str:
    return f"svc{index:03d}-"


def platform_program(services: Sequence[Mapping[str, Any]]) -> Program:
    """One program that validates and builds every service, exporting each one's values the
    way ``stacks/__main__.py`` does."""

    def program() -> None:
        for index, values in enumerate(services):
            prefix = name_prefix(index)
            for key, value in build(parse_environment(values), name_prefix=prefix).items():
                pulumi.export(f"{prefix}{key}", value)

    return program
