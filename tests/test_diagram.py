"""`prodstack graph`: a stable Mermaid picture; docs/architecture.md embeds the current one."""

from __future__ import annotations

import os
import re

import pytest

from prodstack.cli import main
from prodstack.diagram import mermaid
from prodstack.synth import ResourceGraph
from tests.support.stacks import ROOT, environment

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


def boxes_of_nodes(text: str) -> dict[str, list[list[str]]]:
    """Each node label, with the titles of the boxes (subgraphs) around each node of that
    label, outermost first."""
    found: dict[str, list[list[str]]] = {}
    open_boxes: list[str] = []
    for line in (raw.strip() for raw in text.splitlines()[1:]):
        box = re.fullmatch(r'subgraph \w+\["(.*)"\]', line)
        node = re.fullmatch(r'\w+\["(.*)"\]', line)
        if box:
            open_boxes.append(box.group(1))
        elif line == "end":
            open_boxes.pop()
        elif node:
            found.setdefault(node.group(1), []).append(list(open_boxes))
    assert not open_boxes, "a subgraph is not closed"
    return found


def test_every_component_is_a_box_and_references_are_edges(production: ResourceGraph) -> None:
    text = mermaid(production)
    components = production.components()
    assert {c.type.rsplit(":", 1)[-1] for c in components} >= {
        "ArgoCDApplication",
        "Autoscaling",
        "CanaryApp",
        "DbBackup",
        "HAPolicy",
        "NamespaceBaseline",
        "Observability",
        "ServiceSecurity",
        "VaultSecrets",
    }
    for component in components:
        assert f'["{component.type.rsplit(":", 1)[-1]} {component.name}"]' in text
    assert "-->|scales|" in text and "-->|stableService|" in text and "-->|scrapes|" in text
    assert text == mermaid(production)


def test_each_service_is_one_box_around_its_objects(production: ResourceGraph) -> None:
    """Three services' components side by side are hard to tell apart: each service's are
    drawn in a box of the service, and nothing of another service is in it."""
    boxes = boxes_of_nodes(mermaid(production))
    env = environment("production")
    for name, service in env.services.items():
        title = f"service {name} in {env.namespace_of(service)}"
        objects = production.service_objects(name)
        assert objects
        for resource in objects:
            label = f"{resource.kind}<br/>{resource.object_name}"
            assert [outer[0] for outer in boxes[label]] == [title], label
    # What belongs to no single service (a namespace's baseline, an Application) stays outside.
    for resource in production.kubernetes_objects():
        if resource.kind in ("Namespace", "Application"):
            for outer in boxes[f"{resource.kind}<br/>{resource.object_name}"]:
                assert not outer[0].startswith("service "), resource.object_name


def test_cli_prints_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "graph", "dev"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")
