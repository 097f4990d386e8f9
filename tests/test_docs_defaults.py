"""The documented keys and defaults are the models': the key tables of docs/configuration.md
(``app`` and its sections) and of docs/components/observability.md, parsed, against the
pydantic field defaults."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from prodstack.config import AppConfig, ObservabilityConfig
from prodstack.config.app import LivenessProbe, Probe, Probes, ReadinessProbe, StartupProbe
from prodstack.config.observability import ServiceObservability
from tests.support.stacks import ROOT

CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
OBSERVABILITY = (ROOT / "docs" / "components" / "observability.md").read_text()
REQUIRED = object()  # a field without a default
ROW = re.compile(r"^\| `(?P<key>[\w.<>\[\]]+)` \|(?P<cells>.*)\|$", re.M)


def section(text: str, start: str, end: str) -> str:
    assert start in text and end in text, (start, end)
    return text.split(start, 1)[1].split(end, 1)[0]


def table(text: str) -> dict[str, str]:
    """``key`` to its default cell, in every table of ``text`` with a ``default`` column."""
    rows: dict[str, str] = {}
    for block in re.split(r"\n(?!\|)", text):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if not lines:
            continue
        header = [cell.strip() for cell in lines[0].strip("|").split("|")]
        if "default" not in header:
            continue
        column = header.index("default")
        for match in ROW.finditer("\n".join(lines[2:])):
            cells = [cell.strip() for cell in f"`{match['key']}` |{match['cells']}".split(" | ")]
            rows[match["key"]] = cells[column]
    return rows


def documented(cell: str) -> Any:
    """A default cell as a value: ``required``, ``not set`` (None), or the first `code` in it
    read as YAML (`500m`, `"1"`, `{startWithStep: 0}`), else the cell itself as YAML (5)."""
    if cell.startswith("required"):
        return REQUIRED
    if cell.startswith(("not set", "none", "`None`")):
        return None
    code = re.search(r"`([^`]*)`", cell)
    return yaml.safe_load(code.group(1) if code else cell)


def default(field: FieldInfo, within: BaseModel | None, name: str) -> Any:
    """The field's default; inside a section that has a default of its own, that section's."""
    if within is not None:
        value = getattr(within, name)
    elif field.is_required():
        return REQUIRED
    else:
        value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return list(value)
    return value


def _models(annotation: Any) -> tuple[type[BaseModel] | None, bool, bool]:
    """The model a field holds, whether optional, whether a list of it."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        model, _, many = _models(args[0]) if len(args) == 1 else (None, False, False)
        return model, True, many
    if origin in (tuple, list):
        model, _, _ = _models(typing.get_args(annotation)[0])
        return model, False, model is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False, False
    return None, False, False


def leaves(
    model: type[BaseModel], prefix: str, within: BaseModel | None = None
) -> Iterator[tuple[str, Any]]:
    """Every key of the model as the docs write it, with its default: nested sections by path,
    lists with ``[]``; an optional section or a list is a key itself too. The three probes are
    written once, as ``probes.<probe>`` (a bare Probe's defaults)."""
    for name, field in model.model_fields.items():
        key = f"{prefix}.{field.alias or name}"
        if model is AppConfig and name == "probes":
            yield from leaves(Probe, f"{key}.<probe>")
            continue
        nested, optional, many = _models(field.annotation)
        if nested is None:
            yield key, default(field, within, name)
            continue
        if optional or many:
            yield key, default(field, within, name)
        inner = None if many else default_instance(field, within, name)
        yield from leaves(nested, key + ("[]" if many else ""), inner)


def default_instance(field: FieldInfo, within: BaseModel | None, name: str) -> BaseModel | None:
    if within is not None:
        value = getattr(within, name)
    elif field.is_required():
        return None
    else:
        value = field.get_default(call_default_factory=True)
    return value if isinstance(value, BaseModel) else None


def compare(rows: dict[str, str], fields: dict[str, Any]) -> list[str]:
    problems = [f"{key}: not documented" for key in sorted(set(fields) - set(rows))]
    problems += [f"{key}: documented, but no such key" for key in sorted(set(rows) - set(fields))]
    for key in sorted(set(rows) & set(fields)):
        shown, actual = documented(rows[key]), fields[key]
        if shown is REQUIRED or actual is REQUIRED:
            if shown is not actual:
                truth = "required" if actual is REQUIRED else f"default {actual!r}"
                problems.append(f"{key}: documented {rows[key]!r}, the model has {truth}")
        elif shown != actual:
            problems.append(f"{key}: documented {rows[key]!r}, the model's default is {actual!r}")
    return problems


def test_the_app_tables_are_the_app_model() -> None:
    rows = table(section(CONFIGURATION, "### `app`\n", "### `security`\n"))
    fields = dict(leaves(AppConfig, "app"))
    for group in ("probes", "resources", "shutdown", "security", "canary", "canary.analysis"):
        assert any(key.startswith(f"app.{group}.") for key in rows), group
    problems = compare(rows, fields)
    assert not problems, "\n".join(problems)


def test_the_probe_table_is_each_probes_defaults() -> None:
    text = section(CONFIGURATION, "Each probe kind has its own defaults", "For example")
    found = {
        row[0]: row[1:5]
        for line in text.splitlines()
        if line.startswith("| `")
        for row in [[cell.strip().strip("`") for cell in line.strip("|").split("|")]]
    }
    models = {"startup": StartupProbe, "liveness": LivenessProbe, "readiness": ReadinessProbe}
    assert set(found) == set(models) == set(Probes.model_fields)
    for probe, model in models.items():
        made = model()
        expected = [made.path, made.period_seconds, made.timeout_seconds, made.failure_threshold]
        assert [yaml.safe_load(cell) for cell in found[probe]] == expected, probe


@pytest.mark.parametrize(
    ("heading", "end", "model"),
    [
        ("### The platform (`prodstack:observability`)", "\n### ", ObservabilityConfig),
        (
            "### Each service (`prodstack:services.<name>.observability`)",
            "\nRules checked",
            ServiceObservability,
        ),
    ],
)
def test_the_observability_tables_are_the_models(
    heading: str, end: str, model: type[BaseModel]
) -> None:
    text = section(OBSERVABILITY, heading + "\n", end) if heading in OBSERVABILITY else ""
    assert text, f"docs/components/observability.md has no section {heading!r}"
    rows = {f"x.{key}": cell for key, cell in table(text).items()}
    problems = compare(rows, dict(leaves(model, "x")))
    assert not problems, "\n".join(problems)


def test_a_wrong_default_is_found() -> None:
    rows = {"app.replicas": "`3`", "app.port": "`8080`", "app.mystery": "`1`"}
    fields = {k: v for k, v in leaves(AppConfig, "app") if k in ("app.replicas", "app.port")}
    assert compare(rows, fields) == [
        "app.mystery: documented, but no such key",
        "app.replicas: documented '`3`', the model's default is 2",
    ]
