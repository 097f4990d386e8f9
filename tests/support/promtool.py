"""Running promtool on rendered PrometheusRules: tests skip where promtool is missing, except
in CI, where a missing promtool is a failure (scripts/install-tools.sh installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from string import Template
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


def ha_floor(groups: list[dict[str, Any]]) -> int:
    """LowReplicas' threshold in a service's rendered rule: the floor is the stack's to choose."""
    (expr,) = [r["expr"] for g in groups for r in g["rules"] if r.get("alert") == "LowReplicas"]
    match = re.search(r"< (\d+)$", expr)
    assert match, expr
    return int(match.group(1))


def run_unit_tests(test_file: Path, directory: Path, floor: int) -> tuple[int, str]:
    """``promtool test rules`` on a copy of ``test_file`` beside ``directory``'s rules.yaml,
    with ``$floor`` and ``$below`` filled in: exit code and output."""
    text = Template(test_file.read_text()).substitute(floor=floor, below=floor - 1)
    (directory / test_file.name).write_text(text)
    result = run("test", "rules", test_file.name, cwd=directory)
    return result.returncode, result.stdout + result.stderr


def test_expressions(
    directory: Path,
    input_series: list[dict[str, Any]],
    expr_tests: list[dict[str, Any]],
    *,
    name: str | None = None,
    file_name: str = "expressions.yaml",
) -> subprocess.CompletedProcess[str]:
    """``promtool test rules`` on one group of ``promql_expr_test`` cases over
    ``input_series`` (no rule files, 1m evaluation interval), written to ``file_name``."""
    group: dict[str, Any] = {"name": name} if name is not None else {}
    group.update({"interval": "1m", "input_series": input_series, "promql_expr_test": expr_tests})
    document = {"rule_files": [], "evaluation_interval": "1m", "tests": [group]}
    (directory / file_name).write_text(yaml.safe_dump(document, sort_keys=False))
    return run("test", "rules", file_name, cwd=directory)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
