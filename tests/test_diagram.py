"""`prodstack graph`: a stable Mermaid picture; docs/architecture.md embeds the current one."""

from __future__ import annotations

import os
import re

import pytest

from prodstack.cli import main
from prodstack.diagram import mermaid
from prodstack.synth import ResourceGraph
from tests.support.stacks import ROOT

BEGIN = "<!-- BEGIN prodstack graph production -->"
END = "<!-- END prodstack graph production -->"


def embedded() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    match = re.search(re.escape(BEGIN) + r"\n```mermaid\n(.*?)```\n" + re.escape(END), text, re.S)
    assert match, "docs/architecture.md lost its generated graph markers"
    return match.group(1)


def test_architecture_embeds_the_current_production_graph(production: ResourceGraph) -> None:
    current = mermaid(production)
    if os.environ.get("PRODSTACK_UPDATE_DOCS") == "1":
        path = ROOT / "docs" / "architecture.md"
        text = path.read_text()
        start = text.index(BEGIN) + len(BEGIN)
        end = text.index(END)
        path.write_text(text[:start] + "\n```mermaid\n" + current + "```\n" + text[end:])
    assert embedded() == current, (
        "docs/architecture.md is stale: run PRODSTACK_UPDATE_DOCS=1 pytest tests/test_diagram.py"
    )


def test_every_component_is_a_box_and_references_are_edges(production: ResourceGraph) -> None:
    text = mermaid(production)
    for component in ("CanaryApp", "SecurityBaseline", "Observability", "VaultSecrets", "HAPolicy"):
        assert f'["{component} ' in text
    assert "-->|scales|" in text and "-->|stableService|" in text and "-->|scrapes|" in text
    assert text == mermaid(production)


def test_cli_prints_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "graph", "dev"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")
