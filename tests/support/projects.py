"""Throwaway Pulumi projects for CLI tests, and running the CLI in-process."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from prodstack.cli import main
from tests.support.stacks import ROOT

PROGRAM_OK = """\
import pulumi_kubernetes as k8s
k8s.core.v1.ConfigMap("a", metadata={"name": "a", "namespace": "app"}, data={"k": "v"})
"""


def tiny_project(
    tmp_path: Path, program: str = PROGRAM_OK, stack_file: str = "config: {}\n"
) -> Path:
    """A project of one Python program and one stack, ``dev``."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: demo\nruntime: python\nmain: program.py\n")
    (project / "program.py").write_text(textwrap.dedent(program))
    (project / "Pulumi.dev.yaml").write_text(textwrap.dedent(stack_file))
    return project


def broken_project(tmp_path: Path, old: str, new: str, stack: str = "production") -> Path:
    """A copy of the repository's project whose ``stack`` file has ``old`` (which must be
    there) replaced by ``new`` once."""
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "stacks", project / "stacks", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    stack_file = project / "stacks" / f"Pulumi.{stack}.yaml"
    text = stack_file.read_text()
    assert old in text
    stack_file.write_text(text.replace(old, new, 1))
    return project


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``prodstack *argv`` in this process: exit status, stdout, stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err
