"""`prodstack check` on Pulumi programs that are not prodstack stacks: a user's own program
built with prodstack's components, and one of plain pulumi_kubernetes resources."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from prodstack.check import Report
from prodstack.cli import main
from tests.support.stacks import ROOT

COMPONENT_PROGRAM = """
import pulumi
from prodstack import (
    AppConfig, CanaryApp, CanaryAppArgs, Endpoint, NamespaceBaseline, NamespaceBaselineArgs,
    ServiceNames, ServiceSecurity, ServiceSecurityArgs, call_flows,
)
from prodstack.specs.namespace import namespace_labels

ENVIRONMENT = "production"
IMAGE = "ghcr.io/acme/{name}@sha256:" + "1" * 64
CANARY = {"steps": [{"weight": 20, "pause": "1m", "analysis": True}, {"weight": 60}]}

baselines = {
    ns: NamespaceBaseline(ns, NamespaceBaselineArgs(
        namespace=ns, labels=namespace_labels("v1.33", ENVIRONMENT)))
    for ns in ("orders", "payments")
}
orders_names = ServiceNames("orders", "orders", ENVIRONMENT)
payments_names = ServiceNames("payments", "payments", ENVIRONMENT)
# payments calls orders on its http port: one value for both halves.
call = call_flows(Endpoint.of(payments_names), Endpoint.of(orders_names), 8080, "http")
CALLERS = [call] if CALLEE_ADMITS else []

for names, calls, callers in ((orders_names, [], CALLERS), (payments_names, [call], [])):
    app = AppConfig(name=names.service, image=IMAGE.format(name=names.service),
                    version="1.0.0", port=8080, canary=CANARY)
    args = CanaryAppArgs(app=app, namespace=names.namespace, instance=names.instance,
                         environment=ENVIRONMENT)
    security = ServiceSecurity(f"{names.service}-security", ServiceSecurityArgs(
        identity=args.identity, calls=calls, callers=callers),
        opts=pulumi.ResourceOptions(depends_on=[baselines[names.namespace]]))
    CanaryApp(names.service, args, opts=pulumi.ResourceOptions(depends_on=[security]))
"""

PLAIN_PROGRAM = """
import pulumi_kubernetes as k8s

labels = {"app": "web"}
k8s.core.v1.Namespace("ns", metadata={"name": "web"})
k8s.apps.v1.Deployment("web", metadata={"name": "web", "namespace": "web"}, spec={
    "selector": {"matchLabels": labels},
    "template": {"metadata": {"labels": labels}, "spec": {"containers": [
        {"name": "web", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 80}]}
    ]}},
})
k8s.core.v1.Service("web-svc", metadata={"name": "web", "namespace": "web"}, spec={
    "selector": {"app": "nobody"}, "ports": [{"port": 80}]})
"""


def project(tmp_path: Path, program: str, config: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "user-project"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    (folder / "__main__.py").write_text(textwrap.dedent(program))
    lines = "".join(f"  {key}: {value}\n" for key, value in (config or {}).items())
    (folder / "Pulumi.dev.yaml").write_text("config:\n" + (lines or "  shop:owner: platform\n"))
    return folder


def run_check(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["--project", str(folder), "check", "dev", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_component_program_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project(tmp_path, "CALLEE_ADMITS = True\n" + COMPONENT_PROGRAM)
    code, report = run_check(folder, capsys)
    assert (code, report["findings"]) == (0, [])


def test_a_call_the_callee_does_not_admit_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project(tmp_path, "CALLEE_ADMITS = False\n" + COMPONENT_PROGRAM)
    code, report = run_check(folder, capsys)
    assert code == 1
    findings = report["findings"]
    assert isinstance(findings, list) and len(findings) == 1
    assert findings[0]["check"] == "network-pairing"
    assert "payments calls orders" in findings[0]["message"]
    assert "no ingress policy in namespace orders admits it" in findings[0]["message"]


def test_the_production_rules_apply_from_the_namespaces_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The program never says "production" to check: NamespaceBaseline labels its namespaces,
    and the digest rule applies to a tag."""
    program = "CALLEE_ADMITS = True\n" + COMPONENT_PROGRAM.replace(
        "environment=ENVIRONMENT)", "environment=None)"
    ).replace('@sha256:" + "1" * 64', ':1.0.0"')
    assert ":1.0.0" in program and "environment=None" in program
    folder = project(tmp_path, program)
    code, report = run_check(folder, capsys)
    assert code == 1
    messages = [f["message"] for f in report["findings"]]  # type: ignore[attr-defined]
    assert any("digest" in message for message in messages), messages


def test_a_plain_kubernetes_program_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project(tmp_path, PLAIN_PROGRAM)
    code, report = run_check(folder, capsys)
    assert code == 1
    found = {(f["family"], f["check"]) for f in report["findings"]}  # type: ignore[attr-defined]
    assert ("policy", "default-deny-network") in found
    assert ("reference", "selectors-select-pods") in found


def test_the_guardrails_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    page = (ROOT / "docs" / "guardrails.md").read_text()
    example = page.split("## Your own programs", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(example, "guardrails.md", "exec"), namespace)
    report = namespace["report"]
    assert isinstance(report, Report)
    printed = capsys.readouterr().out
    assert printed.strip() == report.human()
    assert report.clean and report.checks_run > 20
