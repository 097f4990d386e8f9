"""docs/configuration.md's examples are what prodstack does: the first example is a valid stack
that builds, and the errors example is the real output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from prodstack.config import ConfigError, parse_environment
from prodstack.config.loader import decode_namespace
from tests.support.stacks import ROOT, raw_config, synthesize_environment

DOC = (ROOT / "docs" / "configuration.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def test_the_first_example_is_a_stack_that_builds() -> None:
    document = yaml.safe_load(blocks("yaml")[0])
    config = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in document["config"].items()
    }
    env = parse_environment(decode_namespace(config))
    assert sorted(env.services) == ["orders", "payments"]
    graph = synthesize_environment(env, "docs")
    assert {r.object_name for r in graph.kind("Rollout")} == {"orders", "payments"}
    assert graph.one("NetworkPolicy", "payments-to-orders").namespace == "payments"
    assert graph.one("NetworkPolicy", "orders-from-payments").namespace == "shop-production"


def test_the_errors_example_is_the_real_output() -> None:
    example = DOC.split("<!-- errors example:", 1)[1].split("```", 2)[1]
    expected = [line for line in example.splitlines() if line.startswith("  prodstack:")]
    raw: dict[str, Any] = raw_config("production")
    app = raw["services"]["shop-api"]["app"]
    app["image"] = "registry.example.com/shop/shop-api:2.4.1"
    app["canry"] = {}
    raw["defaults"]["app"]["canary"]["analysis"]["interval"] = "1 minute"
    with pytest.raises(ConfigError) as caught:
        parse_environment(raw)
    assert [f"  {key}: {message}" for key, message in caught.value.problems] == expected


def test_the_defaults_error_example_is_the_real_output() -> None:
    shown = next(
        line
        for line in DOC.splitlines()
        if line.startswith("prodstack:defaults.app.canary.analysis")
    )
    raw: dict[str, Any] = raw_config("production")
    raw["defaults"]["app"]["canary"]["analysis"]["window"] = "2 minutes"
    with pytest.raises(ConfigError) as caught:
        parse_environment(raw)
    [(key, message)] = caught.value.problems
    assert f"{key}: {message}" == shown.strip()


def test_every_section_the_doc_names_exists() -> None:
    from prodstack.config.service import ServiceConfig, ServiceDefaults

    table = DOC.split("## A service", 1)[1].split("### Defaults", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.M))
    sections = {f.alias or n for n, f in ServiceConfig.model_fields.items()}
    assert documented == sections
    defaults = {f.alias or n for n, f in ServiceDefaults.model_fields.items()}
    assert defaults == sections - {"namespace", "calls"}
    assert all(f"`{name}`" in DOC.split("### Defaults", 1)[1][:600] for name in defaults)
    assert Path(ROOT / "docs" / "gitops.md").is_file()
