"""`prodstack render` refuses manifests that `prodstack check`'s graph integrity rejects: exit 1,
the findings named, nothing written (a previous render stays whole)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodstack.render import IntegrityRefused, render
from prodstack.synth import synthesize
from tests.support.projects import run, tiny_project

DANGLING_STORE = """\
import pulumi_kubernetes as k8s
k8s.apiextensions.CustomResource(
    "secrets",
    api_version="external-secrets.io/v1",
    kind="ExternalSecret",
    metadata={"name": "app-secrets", "namespace": "app"},
    spec={
        "secretStoreRef": {"kind": "SecretStore", "name": "app-vualt"},
        "target": {"name": "app-secrets"},
        "data": [{"secretKey": "k", "remoteRef": {"key": "app/db", "property": "p"}}],
    },
)
"""

MISSING_CONFIG_MAP = """\
import pulumi_kubernetes as k8s
labels = {"app": "web"}
k8s.apps.v1.Deployment(
    "web",
    metadata={"name": "web", "namespace": "app"},
    spec={
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [{"name": "web", "image": "nginx:1.27",
                                "envFrom": [{"configMapRef": {"name": "web-settings"}}]}],
            },
        },
    },
)
"""


@pytest.mark.parametrize(
    ("program", "finding"),
    [
        (
            DANGLING_STORE,
            "[secret-store] ExternalSecret app/app-secrets: secretStoreRef SecretStore "
            "'app-vualt' is not in the stack",
        ),
        (
            MISSING_CONFIG_MAP,
            "[pod-references] Deployment app/web: its pods use ConfigMap 'web-settings', which "
            "is neither in the stack nor produced by an ExternalSecret",
        ),
    ],
)
def test_render_exits_1_naming_the_findings_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program: str, finding: str
) -> None:
    project = tiny_project(tmp_path, program=program)
    out = tmp_path / "out"
    status, stdout, err = run(capsys, "--project", str(project), "render", "dev", "--out", str(out))
    assert status == 1
    assert stdout == ""
    assert err.startswith(
        "prodstack: dev's manifests reference objects that are not in the stack (1 finding(s) "
        "of prodstack check's graph integrity); nothing was written:\n"
    )
    assert f"  {finding}\n" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_refused_render_leaves_the_previous_one_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path)
    out = tmp_path / "out"
    status, _, _ = run(capsys, "--project", str(project), "render", "dev", "--out", str(out))
    assert status == 0
    before = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    (project / "program.py").write_text(DANGLING_STORE)
    status, _, err = run(capsys, "--project", str(project), "render", "dev", "--out", str(out))
    assert status == 1 and "secretStoreRef SecretStore 'app-vualt'" in err
    after = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before


def test_check_reports_the_same_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_project(tmp_path, program=DANGLING_STORE)
    status, stdout, _ = run(capsys, "--project", str(project), "check", "dev", "--format", "json")
    assert status == 1
    references = [f for f in json.loads(stdout)["findings"] if f["family"] == "reference"]
    assert [(f["check"], f["subject"], f["message"]) for f in references] == [
        (
            "secret-store",
            "ExternalSecret app/app-secrets",
            "secretStoreRef SecretStore 'app-vualt' is not in the stack",
        )
    ]


def test_the_python_api_refuses_too(tmp_path: Path) -> None:
    def program() -> None:
        exec(DANGLING_STORE, {})

    graph = synthesize(program, stack="dangling")
    with pytest.raises(IntegrityRefused) as caught:
        render(graph, tmp_path / "out")
    assert caught.value.findings == [
        "[secret-store] ExternalSecret app/app-secrets: "
        "secretStoreRef SecretStore 'app-vualt' is not in the stack"
    ]
    assert not (tmp_path / "out").exists()


def test_a_service_selecting_a_bare_pod_is_not_a_finding(tmp_path: Path) -> None:
    """A Pod's own labels are what a selector sees (it has no template)."""

    def program() -> None:
        exec(BARE_POD, {})

    graph = synthesize(program, stack="pod")
    assert render(graph, tmp_path / "out").directory.is_dir()

    def unselected() -> None:
        exec(BARE_POD.replace('{"app": "web"}, "ports"', '{"app": "api"}, "ports"'), {})

    with pytest.raises(IntegrityRefused) as caught:
        render(synthesize(unselected, stack="pod"), tmp_path / "again")
    assert caught.value.findings == [
        "[selectors-select-pods] Service app/web: "
        "its selector {'matchLabels': {'app': 'api'}} selects no pod in the stack"
    ]


BARE_POD = """\
import pulumi_kubernetes as k8s
k8s.core.v1.Pod(
    "web",
    metadata={"name": "web", "namespace": "app", "labels": {"app": "web"}},
    spec={"containers": [{"name": "web", "image": "nginx:1.27"}]},
)
k8s.core.v1.Service(
    "web",
    metadata={"name": "web", "namespace": "app"},
    spec={"selector": {"app": "web"}, "ports": [{"port": 80}]},
)
"""
