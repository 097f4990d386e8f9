"""The value, render-integrity and component-API error messages in docs/configuration.md are
the ones prodstack prints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from prodstack import CanaryAppArgs
from prodstack.components.args import ArgsError
from prodstack.config import ConfigError, parse_environment
from prodstack.synth import synthesize
from tests.support.projects import run, tiny_project
from tests.support.stacks import ROOT, environment, svc, varied
from tests.test_render_integrity import DANGLING_STORE

DOC = (ROOT / "docs" / "configuration.md").read_text()
BEGIN, END = "<!-- BEGIN value errors -->", "<!-- END value errors -->"


def rows() -> list[tuple[str, str, str, str]]:
    table = DOC[DOC.index(BEGIN) + len(BEGIN) : DOC.index(END)]
    found = []
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        problem, key, value, message = (c[1:-1] if c.startswith("`") else c for c in cells)
        found.append((problem, key, value, message))
    return found


def _parts(key: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in key.split("."):
        indexed = re.fullmatch(r"(.+)\[(\d+)\]", chunk)
        parts += [indexed[1], int(indexed[2])] if indexed else [chunk]
    return parts


def _set(raw: dict[str, Any], parts: list[str | int], value: Any) -> None:
    if parts[0] == "services":
        section: Any = svc(raw, str(parts[1]))
        parts = parts[2:]
    else:
        section = raw
    if isinstance(parts[-1], int):  # one item of a list
        parts, value = parts[:-1], [value]
    for part in parts[:-1]:
        section = section.setdefault(part, {})
    section[parts[-1]] = value


@pytest.mark.parametrize(("problem", "key", "value", "message"), rows(), ids=lambda v: v[:40])
def test_each_documented_value_message_is_what_prodstack_prints(
    problem: str, key: str, value: str, message: str
) -> None:
    raw = varied("staging", lambda r: _set(r, _parts(key), yaml.safe_load(value)))
    with pytest.raises(ConfigError) as caught:
        parse_environment(raw)
    assert dict(caught.value.problems)[f"prodstack:{key}"] == message, problem


def test_every_class_has_a_row() -> None:
    covered = " ".join(problem for problem, *_ in rows())
    for word in (
        "cron",
        "time zone",
        "CIDR",
        "int32",
        "boolean",
        "string",
        "fraction",
        "flag",
        "bound",
        "duration",
        "label",
    ):
        assert word in covered


def _block_after(marker: str) -> str:
    start = DOC.index(marker)
    body = DOC[DOC.index("```", start) :]
    return body.split("\n", 1)[1].split("```", 1)[0]


def test_the_render_integrity_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tiny_project(tmp_path, program=DANGLING_STORE)
    status, _, err = run(
        capsys, "--project", str(project), "render", "dev", "--out", str(tmp_path / "out")
    )
    block = _block_after("<!-- render integrity example")
    lines = block.strip().splitlines()
    assert lines[0] == "$ prodstack render dev" and lines[-2:] == ["$ echo $?", str(status)]
    assert err == "\n".join(lines[1:-2]) + "\n"


def test_the_component_api_example() -> None:
    block = _block_after("<!-- component API example")
    expected = [
        line.removeprefix("ArgsError: ")
        for line in block.splitlines()
        if line.startswith("ArgsError: ")
    ]
    assert len(expected) == 2
    app = environment("staging").services["shop-api"].app
    with pytest.raises(ArgsError) as first:
        CanaryAppArgs(app=app, namespace="Orders", replicas=True)

    def program() -> None:
        CanaryAppArgs(app=app, namespace=pulumi.Output.from_input("orders"))  # type: ignore[arg-type]

    with pytest.raises(ArgsError) as second:
        synthesize(program, stack="docs")
    assert [str(first.value), str(second.value)] == expected
