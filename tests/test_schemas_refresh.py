"""scripts/refresh-schemas.py: upstream CRD manifests plus their provenance -> prodstack/schemas,
deterministically; and the shipped folder is what the script makes of its recorded inputs."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from prodstack.check.schema.catalog import Catalog
from prodstack.check.schema.compact import INDEX, git_blob_id
from prodstack.check.schema.validate import validate_object
from tests.support.stacks import ROOT

SCRIPT = ROOT / "scripts" / "refresh-schemas.py"
FIXTURES = ROOT / "tests" / "fixtures" / "schemas"
SHIPPED = ROOT / "prodstack" / "schemas"
ROLLOUT_CRD = "rollout-crd.yaml"
EXTERNAL_SECRET_CRD = "externalsecret-crd.yaml"
RECORDED_INPUT = "monitoring.coreos.com_prometheusrules.yaml"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("refresh_schemas", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFRESH = _script()


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path) -> Completed:
    """The script's main() in this process (a subprocess costs a second of imports each)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = REFRESH.main([str(a) for a in args])
    return Completed(code, out.getvalue(), err.getvalue())


def test_the_script_runs_as_a_program(tmp_path: Path) -> None:
    rollout, external, provenance = fixture_inputs(tmp_path)
    command = [sys.executable, SCRIPT, "--sources", provenance, "--out", tmp_path / "o"]
    completed = subprocess.run(
        [*map(str, command), str(rollout), str(external)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "3 file(s) changed" in completed.stdout


def sources(tmp_path: Path, **entries: dict[str, str]) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(entries))
    return path


def source(commit: str = "9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d") -> dict[str, str]:
    return {
        "project": "argoproj/argo-rollouts",
        "path": "manifests/crds/rollout-crd.yaml",
        "commit": commit,
        "date": "2026-08-17",
        "release": "unreleased main at 2026-08-17",
    }


def fixture_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    rollout = shutil.copy(FIXTURES / ROLLOUT_CRD, tmp_path / ROLLOUT_CRD)
    external = shutil.copy(FIXTURES / EXTERNAL_SECRET_CRD, tmp_path / EXTERNAL_SECRET_CRD)
    provenance = sources(
        tmp_path,
        **{ROLLOUT_CRD: source(), EXTERNAL_SECRET_CRD: {**source(), "project": "es/es"}},
    )
    return Path(rollout), Path(external), provenance


def index_of(folder: Path) -> list[dict[str, Any]]:
    kinds: list[dict[str, Any]] = json.loads((folder / INDEX).read_text())["kinds"]
    return kinds


def test_the_script_writes_compact_schemas_and_an_index(tmp_path: Path) -> None:
    rollout, external, provenance = fixture_inputs(tmp_path)
    out = tmp_path / "schemas"
    completed = run("--sources", provenance, "--out", out, rollout, external)
    assert completed.returncode == 0, completed.stderr
    entries = {(e["kind"], e["version"]): e for e in index_of(out)}
    assert set(entries) == {
        ("Rollout", "v1alpha1"),
        ("ExternalSecret", "v1"),
        ("ExternalSecret", "v1beta1"),
    }
    assert entries["ExternalSecret", "v1beta1"]["served"] is False
    assert "file" not in entries["ExternalSecret", "v1beta1"]
    rollout_entry = entries["Rollout", "v1alpha1"]
    assert rollout_entry["source"] == {**source(), "blob": git_blob_id(rollout.read_bytes())}
    assert rollout_entry["celRulesNotEvaluated"] == 1  # the selector's immutability rule
    text = (out / rollout_entry["file"]).read_text()
    assert "description" not in text and "x-kubernetes-validations" not in text
    assert "preserve-unknown-fields" in text and "int-or-string" in text
    schema = json.loads(text)
    assert text == json.dumps(schema, sort_keys=True, indent=0, separators=(",", ":")) + "\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [INDEX, rollout_entry["file"], entries["ExternalSecret", "v1"]["file"]]
    )


def test_the_output_validates_strictly(tmp_path: Path) -> None:
    rollout, external, provenance = fixture_inputs(tmp_path)
    out = tmp_path / "schemas"
    assert run("--sources", provenance, "--out", out, rollout, external).returncode == 0
    document: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"canary": {"maxSurge": "25%", "steps": [{"setWeight": 5}]}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }
    catalog = Catalog(out)
    assert validate_object(document, catalog=catalog) == []
    document["spec"]["strategy"]["canary"]["maxSurgee"] = 1
    assert [e.path for e in validate_object(document, catalog=catalog)] == [
        "spec.strategy.canary.maxSurgee"
    ]


def test_a_refresh_is_deterministic_and_keeps_other_kinds(tmp_path: Path) -> None:
    rollout, _, _ = fixture_inputs(tmp_path)
    out = tmp_path / "schemas"
    shutil.copytree(SHIPPED, out)
    provenance = sources(tmp_path, **{ROLLOUT_CRD: source(commit="0" * 40)})
    first = run("--sources", provenance, "--out", out, rollout)
    assert first.returncode == 0, first.stderr
    assert "2 file(s) changed" in first.stdout  # the Rollout schema and the index
    again = run("--sources", provenance, "--out", out, rollout)
    assert "0 file(s) changed" in again.stdout
    before, after = index_of(SHIPPED), index_of(out)
    assert [e for e in after if e["kind"] != "Rollout"] == [
        e for e in before if e["kind"] != "Rollout"
    ]
    (renewed,) = [e for e in after if e["kind"] == "Rollout"]
    assert renewed["source"]["commit"] == "0" * 40
    replaced = run("--sources", provenance, "--out", out, "--replace-all", rollout)
    assert replaced.returncode == 0
    assert [e["kind"] for e in index_of(out)] == ["Rollout"]
    assert sorted(p.name for p in out.iterdir()) == sorted([INDEX, renewed["file"]])


def test_the_shipped_schemas_are_what_the_script_makes_of_the_recorded_input(
    tmp_path: Path,
) -> None:
    # Only the PrometheusRule CRD (13 kB) is kept in the repository as an input; the others
    # are recorded by their upstream blob id in the index.
    recorded = FIXTURES / RECORDED_INPUT
    (entry,) = [e for e in index_of(SHIPPED) if e["kind"] == "PrometheusRule"]
    assert entry["source"]["blob"] == git_blob_id(recorded.read_bytes())
    out = tmp_path / "schemas"
    shutil.copytree(SHIPPED, out)
    completed = run("--sources", FIXTURES / "sources.yaml", "--out", out, recorded)
    assert completed.returncode == 0, completed.stderr
    assert "0 file(s) changed" in completed.stdout
    for path in SHIPPED.iterdir():
        assert (out / path.name).read_bytes() == path.read_bytes()


def test_the_recorded_provenance_is_the_index_provenance() -> None:
    recorded = yaml.safe_load((FIXTURES / "sources.yaml").read_text())
    by_path = {(s["project"], s["path"]): s for s in recorded.values()}
    for entry in index_of(SHIPPED):
        source_ = dict(entry["source"])
        source_.pop("blob")
        expected = by_path[source_["project"], source_["path"]]
        assert source_ == {**expected, "date": str(expected["date"])}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop(ROLLOUT_CRD), f"no provenance for {ROLLOUT_CRD}"),
        (lambda s: s[ROLLOUT_CRD].pop("commit"), "missing commit"),
        (lambda s: s[ROLLOUT_CRD].update(commit="main"), "is not a git commit id"),
        (lambda s: s[ROLLOUT_CRD].update(date="yesterday"), "is not a date such as"),
        (lambda s: s[ROLLOUT_CRD].update(tag="v1"), "unknown tag"),
    ],
)
def test_bad_provenance_is_refused_by_name(tmp_path: Path, change: Any, message: str) -> None:
    rollout, _, _ = fixture_inputs(tmp_path)
    entries = {ROLLOUT_CRD: source(), "other.yaml": source()}
    change(entries)
    completed = run("--sources", sources(tmp_path, **entries), "--out", tmp_path / "o", rollout)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_file_without_a_crd_is_refused(tmp_path: Path) -> None:
    not_a_crd = tmp_path / "service.yaml"
    not_a_crd.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")
    provenance = sources(tmp_path, **{"service.yaml": source()})
    completed = run("--sources", provenance, "--out", tmp_path / "o", not_a_crd)
    assert completed.returncode == 2
    assert "service.yaml: no apiextensions.k8s.io CustomResourceDefinition" in completed.stderr
