"""The wheel is the product: built from the checkout and installed into a fresh virtualenv outside
the repository, it alone gives the components, the CLI, the schemas, the CrossGuard pack, the
runbooks and a project template that renders and checks clean (tests/support/wheel.py)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from prodstack.policies import ALL_POLICIES
from prodstack.specs.alerts import ALERT_NAMES, RUNBOOK_DIR
from prodstack.templates import FILES, STACK
from tests.support import wheel
from tests.support.stacks import ROOT
from tests.test_policies import rollout, with_container

PLANTED_MONITOR = """
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "planted",
    api_version="monitoring.coreos.com/v1",
    kind="ServiceMonitor",
    metadata={"name": "planted", "namespace": "apps-dev"},
    spec={
        "selector": {"matchLabels": {"app": "api"}},
        "endpoints": [{"port": "metrics", "interval": 30}],
    },
)
"""


@pytest.fixture(scope="session")
def installed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> wheel.Installed:
    """One wheel and virtualenv per test session, shared by the xdist workers."""
    session = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: the session's folder is above
        session = session.parent
    shared = session / "prodstack-wheel"
    shared.mkdir(exist_ok=True)
    with wheel.locked(shared / "lock"):
        venv = shared / "venv"
        if (shared / "ready").is_file():
            (built,) = (shared / "wheels").glob("prodstack-*.whl")
            return wheel.Installed(built, venv)
        shutil.rmtree(shared / "source", ignore_errors=True)
        shutil.rmtree(shared / "wheels", ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)
        result = wheel.install(wheel.build_wheel(shared), shared)
        (shared / "ready").touch()
        return result


@pytest.fixture
def project(installed: wheel.Installed, tmp_path: Path) -> Path:
    """A project made with the installed ``prodstack init``."""
    result = installed.run("prodstack", "init", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "shop"


def test_the_wheel_carries_the_package_and_its_data_only(installed: wheel.Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
    data = {
        "prodstack/policy_pack/PulumiPolicy.yaml",
        "prodstack/policy_pack/__main__.py",
        "prodstack/schemas/index.json",
        "prodstack/scripts/backup.sh",
        *(f"prodstack/runbooks/{alert}.md" for alert in ALERT_NAMES),
        *(f"prodstack/templates/project/{template}" for template in FILES.values()),
    }
    assert data <= names, data - names
    assert {name.split("/")[0] for name in names} == {"prodstack", "prodstack-0.2.0.dist-info"}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert wheel.requirements(installed.wheel)  # the dependency layer was built from these


def test_the_package_and_the_command_come_from_the_virtualenv(
    installed: wheel.Installed, tmp_path: Path
) -> None:
    code = "import prodstack; from prodstack import CanaryApp; print(prodstack.__file__)"
    imported = installed.run("python", "-c", code, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    location = Path(imported.stdout.strip()).resolve()
    assert location.is_relative_to(installed.venv.resolve()), location
    assert not location.is_relative_to(ROOT)
    helped = installed.run("prodstack", "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for command in ("render", "check", "graph", "init", "policy-pack", "runbooks"):
        assert command in helped.stdout


def test_a_project_from_the_template_renders_and_checks_clean(
    installed: wheel.Installed, project: Path
) -> None:
    assert sorted(p.name for p in project.iterdir()) == sorted([*FILES, "docs"])
    rendered = installed.run("prodstack", "render", STACK, cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    assert "2 Rollout" in " ".join(rendered.stdout.split())
    checked = installed.run("prodstack", "check", STACK, cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no findings" in checked.stdout


def test_every_alert_of_the_project_links_to_a_runbook_it_has(
    installed: wheel.Installed, project: Path
) -> None:
    """What runbook_url names exists for someone who only installed the wheel: the project's
    docs/runbooks/, published where runbookBaseUrl says."""
    assert installed.run("prodstack", "render", STACK, cwd=project).returncode == 0
    config = yaml.safe_load((project / f"Pulumi.{STACK}.yaml").read_text())["config"]
    base = config["prodstack:observability"]["runbookBaseUrl"]
    rules = [
        document
        for path in (project / "rendered" / STACK).rglob("*.yaml")
        if (document := yaml.safe_load(path.read_text()))["kind"] == "PrometheusRule"
    ]
    alerts = [r for doc in rules for g in doc["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {"HighErrorRate", "RolloutAborted"}
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(base), url
        runbook = project / url.removeprefix(base)
        assert runbook.read_text().startswith(f"# {alert['alert']}\n"), url


def test_init_refuses_an_existing_project(installed: wheel.Installed, project: Path) -> None:
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    again = installed.run("prodstack", "init", project, cwd=project.parent)
    assert again.returncode == 2
    assert "already has a Pulumi project" in again.stderr
    assert "never overwrites" in again.stderr
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_check_validates_against_the_schemas_in_the_wheel(
    installed: wheel.Installed, project: Path
) -> None:
    with (project / "__main__.py").open("a") as program:
        program.write(PLANTED_MONITOR)
    checked = installed.run("prodstack", "check", STACK, cwd=project)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert (
        "[schema:schema] ServiceMonitor apps-dev/planted: spec.endpoints[0].interval: "
        "30 is not of type 'string'" in checked.stdout
    )


def test_the_runbooks_command_writes_the_shipped_runbooks(
    installed: wheel.Installed, tmp_path: Path
) -> None:
    written = installed.run("prodstack", "runbooks", "--out", "site", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    folder = tmp_path / "site" / RUNBOOK_DIR
    assert sorted(p.stem for p in folder.glob("*.md")) == sorted(ALERT_NAMES)
    for path in folder.glob("*.md"):
        assert path.read_bytes() == (ROOT / "prodstack" / "runbooks" / path.name).read_bytes()


def test_the_policy_pack_runs_as_pulumi_runs_it(installed: wheel.Installed, tmp_path: Path) -> None:
    """Pulumi runs a Python pack without a virtualenv as ``python3 -u -m pulumi.policy
    <engine> <pack>`` in the pack's folder, python3 from PATH (PulumiPolicy.yaml cites the
    source); the pack then serves its policies over gRPC on the port it prints."""
    found = installed.run("prodstack", "policy-pack", "--path", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    pack = Path(found.stdout.strip())
    assert pack.is_relative_to(installed.venv.resolve()), pack
    project = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip"}}
    with _serving(installed, pack, tmp_path / "pack.log") as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
        assert info.name == "prodstack"
        assert sorted(p.name for p in info.policies) == sorted(p.name for p in ALL_POLICIES)
        subject = rollout(with_container(image="registry.example.com/app:latest"))
        properties = struct_pb2.Struct()
        properties.update(subject.props)
        response = stub.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type=subject.type, properties=properties, urn=subject.urn, name=subject.name
            ),
            timeout=60,
        )
        violations = {(d.policyName, d.enforcementLevel) for d in response.diagnostics}
        assert ("images-pinned", analyzer_pb2.MANDATORY) in violations


def test_the_pack_command_names_this_interpreter(
    installed: wheel.Installed, tmp_path: Path
) -> None:
    shown = installed.run("prodstack", "policy-pack", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"PULUMI_PYTHON_CMD={installed.python} pulumi preview --policy-pack " in shown.stdout


@contextlib.contextmanager
def _serving(installed: wheel.Installed, pack: Path, log: Path) -> Iterator[Any]:
    with log.open("w") as errors:
        process = subprocess.Popen(
            ["python3", "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack)],
            cwd=pack,
            env=installed.env(),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert process.stdout is not None
            port = process.stdout.readline().strip()
            assert port.isdigit(), f"the pack printed {port!r}: {log.read_text()}"
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            process.kill()
            process.wait(timeout=30)


def test_the_checkout_has_no_policy_folder_pointing_at_its_virtualenv() -> None:
    """The pack is the package's, run with whatever environment prodstack is installed in."""
    assert not (ROOT / "policy").exists()
    text = (ROOT / "prodstack" / "policy_pack" / "PulumiPolicy.yaml").read_text()
    assert "virtualenv:" not in text
