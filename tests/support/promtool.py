"""Running promtool on rendered PrometheusRules: tests skip where promtool is missing, except
in CI, where a missing promtool is a failure (scripts/install-tools.sh installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from prodstack.synth import ResourceGraph
from tests.support import tools


def promtool() -> str:
    path = shutil.which("promtool")
    tools.require(path is not None, "promtool (Debian package prometheus)")
    assert path is not None
    return path


def rule_groups(graph: ResourceGraph) -> dict[str, list[dict[str, Any]]]:
    """``spec.groups`` of every PrometheusRule in the graph, by object name."""
    return {
        rule.object_name: list(rule.inputs["spec"]["groups"])
        for rule in graph.kind("PrometheusRule")
    }


def write_rules(groups: list[dict[str, Any]], path: Path) -> Path:
    """A Prometheus rules file, as the Prometheus Operator writes one per PrometheusRule."""
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
