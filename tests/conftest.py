"""Shared fixtures: synthesized graphs of the repository's stacks (once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prodstack.synth import ResourceGraph, synthesize_stack
from tests.support.backup_env import S3, Postgres, start_postgres, start_s3
from tests.support.backup_world import Copy, World, copy_of, make_world
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


# The backup scripts' world (tests/test_backup_*.py): a throwaway PostgreSQL cluster and an S3
# server per test module, a seeded database and bucket, and a fresh copy for each test that
# changes them. A module that needs more in its world defines its own ``world``.


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    yield from start_postgres()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    yield from start_s3()


@pytest.fixture(scope="module")
def world(postgres: Postgres, s3: S3, tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(postgres, s3, tmp_path_factory)


@pytest.fixture
def copy(world: World, request: pytest.FixtureRequest, tmp_path: Path) -> Copy:
    return copy_of(world, request, tmp_path)
