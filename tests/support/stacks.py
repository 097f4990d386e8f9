"""Loading the repository's stack configs, varying them, and synthesizing the result."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prodstack.config import EnvironmentConfig, parse_environment
from prodstack.config.loader import decode_namespace
from prodstack.stack import build
from prodstack.synth import ResourceGraph, find_project, synthesize
from prodstack.synth.project import stack_config

ROOT = Path(__file__).resolve().parents[2]
PROJECT = find_project(ROOT)
STACKS = ("dev", "staging", "production")


def raw_config(stack: str) -> dict[str, Any]:
    """The ``prodstack:`` values of a stack file, decoded, keys without the namespace."""
    config, _ = stack_config(PROJECT, stack)
    return decode_namespace(config)


def varied(stack: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    raw = copy.deepcopy(raw_config(stack))
    change(raw)
    return raw


def environment(
    stack: str, change: Callable[[dict[str, Any]], None] | None = None
) -> EnvironmentConfig:
    return parse_environment(varied(stack, change or (lambda raw: None)))


def synthesize_environment(env: EnvironmentConfig, stack: str = "test") -> ResourceGraph:
    """Synthesize the stack program's composition for an already-parsed configuration."""

    def program() -> None:
        build(env)

    return synthesize(program, project=PROJECT.name, stack=stack)
