"""Shared fixtures: synthesized graphs of the repository's stacks (once per session)."""

from __future__ import annotations

import pytest

from prodstack.synth import ResourceGraph, synthesize_stack
from tests.support.stacks import PROJECT, STACKS

_graphs: dict[str, ResourceGraph] = {}


def stack_graph(stack: str) -> ResourceGraph:
    if stack not in _graphs:
        _graphs[stack] = synthesize_stack(stack, PROJECT)
    return _graphs[stack]


@pytest.fixture(params=STACKS)
def graph(request: pytest.FixtureRequest) -> ResourceGraph:
    """The synthesized graph of each stack in turn."""
    return stack_graph(request.param)


@pytest.fixture
def production() -> ResourceGraph:
    return stack_graph("production")
