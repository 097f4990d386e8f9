"""The observability docs agree with the code: a runbook behind every runbook_url, the metric
contract table, every configuration key and input documented, and the documented
time-to-restore query working in promtool."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from prodstack import metric_contract as mc
from prodstack.components.observability import ObservabilityArgs
from prodstack.config import ObservabilityConfig, ServiceObservability
from prodstack.specs.alerts import ALERT_NAMES, RUNBOOK_DIR
from prodstack.synth import ResourceGraph, synthesize
from tests.support import promtool
from tests.support.stacks import ROOT, environment

DOCS = ROOT / "docs"
RUNBOOK_SECTIONS = (
    "## What it means",
    "## How to confirm",
    "## How to mitigate",
    "## How to roll back",
)


def test_every_runbook_url_points_at_a_runbook_with_every_section(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    assert env.observability is not None
    base = env.observability.runbook_base_url
    rules = graph.kind("PrometheusRule")
    assert len(rules) == len(env.services)  # every service is watched, each by its own rule
    for rule in rules:
        alerts = [r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r]
        assert alerts
        for alert in alerts:
            url = alert["annotations"]["runbook_url"]
            assert url.startswith(base), url
            path = ROOT / url.removeprefix(base)
            assert path == ROOT / RUNBOOK_DIR / f"{alert['alert']}.md"
            text = path.read_text()
            assert text.startswith(f"# {alert['alert']}\n")
            for section in RUNBOOK_SECTIONS:
                assert section in text, (path.name, section)


def test_runbooks_are_exactly_the_alerts() -> None:
    runbooks = {p.stem for p in (ROOT / RUNBOOK_DIR).glob("*.md")}
    assert runbooks == set(ALERT_NAMES)


def test_contract_table_is_the_contract_in_code() -> None:
    text = (DOCS / "observability.md").read_text()
    section = text.split("## The metric contract", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\w+) \| ([\w-]+) \|", section, flags=re.MULTILINE)
    assert rows == [(m.name, m.type, m.source) for m in mc.CONTRACT]


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation: Any = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_config_keys(annotation, key + "."))
        else:
            keys.append(key)
    return keys


def test_component_page_documents_every_key_and_input() -> None:
    text = (DOCS / "components" / "observability.md").read_text()
    documented = set(re.findall(r"^\| `([\w.]+)` \|", text, flags=re.MULTILINE))
    # The platform's keys (prodstack:observability) and each service's (its alerts).
    keys = _config_keys(ObservabilityConfig) + _config_keys(ServiceObservability)
    assert len(keys) > 25
    assert set(keys) <= documented, set(keys) - documented
    inputs = {f.name for f in dataclasses.fields(ObservabilityArgs)}
    assert inputs <= documented, inputs - documented


def test_component_page_example_builds() -> None:
    page = (DOCS / "components" / "observability.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)

    def program() -> None:
        exec(compile(example, "observability.md", "exec"), {})

    graph = synthesize(program, stack="docs-example")
    assert {o.kind for o in graph.kubernetes_objects()} == {
        "Service",
        "ServiceMonitor",
        "PrometheusRule",
        "ConfigMap",
    }
    (rule,) = graph.kind("PrometheusRule")
    alerts = {r.get("alert") for g in rule.inputs["spec"]["groups"] for r in g["rules"]}
    assert {"BackupMissing", "BackupRestoreCheckFailed"} <= alerts


def _time_to_restore_query() -> str:
    text = (DOCS / "observability.md").read_text()
    section = text.split("**Time to restore service**", 1)[1]
    return section.split("```promql\n", 1)[1].split("```", 1)[0]


def test_documented_time_to_restore_query_measures_the_mean_incident(tmp_path: Path) -> None:
    query = _time_to_restore_query().replace("<namespace>", "shop").replace("<app>", "api")
    alerts = 'ALERTS{{alertname="{}",alertstate="firing",severity="{}",namespace="shop",app="api"}}'
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # Incidents of 10 and 20 minutes; latency fires inside the first one.
                    {
                        "series": alerts.format("HighErrorRate", "critical"),
                        "values": "_x10 1x9 stale _x29 1x19 stale _x20",
                    },
                    {
                        "series": alerts.format("HighLatency", "warning"),
                        "values": "_x12 1x5 stale _x80",
                    },
                    # Another app's incident does not count.
                    {
                        "series": alerts.format("HighErrorRate", "critical").replace(
                            'app="api"', 'app="web"'
                        ),
                        "values": "1x90",
                    },
                ],
                "promql_expr_test": [
                    {"expr": query, "eval_time": "100m", "exp_samples": [{"value": 900}]}
                ],
            }
        ],
    }
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    (tmp_path / "mttr.yaml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = promtool.run("test", "rules", "mttr.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
