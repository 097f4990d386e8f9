"""Running checkov (in its own virtualenv, .tools/checkov) over rendered manifests.

checkov does not look inside Argo Rollouts, so each Rollout is scanned as the Deployment it
mirrors: same metadata (so its skip annotations count), selector, replicas and pod template.
Run as a module to print the counts per stack: ``python -m tests.support.checkov [STACK...]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.stacks import ROOT

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


def available() -> bool:
    return CHECKOV.is_file()


def as_scannable(document: dict[str, Any]) -> dict[str, Any]:
    """The manifest checkov should see: a Rollout becomes the equivalent Deployment."""
    if document.get("kind") != "Rollout":
        return document
    spec = document["spec"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": document["metadata"],
        "spec": {key: spec[key] for key in ("replicas", "selector", "template") if key in spec},
    }


@dataclass
class ScanResult:
    passed: int
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


def scan(documents: list[dict[str, Any]]) -> ScanResult:
    """checkov's Kubernetes checks over the documents, offline."""
    with tempfile.TemporaryDirectory(prefix="checkov-") as folder:
        for index, document in enumerate(documents):
            (Path(folder) / f"{index:03d}.yaml").write_text(yaml.safe_dump(as_scannable(document)))
        completed = subprocess.run(
            [
                str(CHECKOV),
                "-d",
                folder,
                "--framework",
                "kubernetes",
                "--skip-download",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={
                **os.environ,
                "BC_SKIP_MAPPING": "TRUE",
                "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
            },
        )
    if completed.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({completed.returncode}): {completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    results = report["results"]
    return ScanResult(
        passed=report["summary"]["passed"],
        failed=[(c["check_id"], c["resource"]) for c in results["failed_checks"]],
        skipped=[
            (
                c["check_id"],
                c["resource"],
                (c.get("check_result") or {}).get("suppress_comment", ""),
            )
            for c in results["skipped_checks"]
        ],
    )


def main(stacks: list[str]) -> int:
    from prodstack.synth import synthesize_stack
    from prodstack.synth.manifests import manifests
    from tests.support.stacks import PROJECT, STACKS

    worst = 0
    print(f"{'stack':<12}{'passed':>8}{'failed':>8}{'skipped':>9}")
    for stack in stacks or list(STACKS):
        result = scan(manifests(synthesize_stack(stack, PROJECT)))
        print(f"{stack:<12}{result.passed:>8}{len(result.failed):>8}{len(result.skipped):>9}")
        for check, resource in result.failed:
            print(f"  FAILED {check} {resource}")
        worst = max(worst, 1 if result.failed else 0)
    return worst


if __name__ == "__main__":
    if not available():
        sys.exit(f"checkov is not installed at {CHECKOV}; run scripts/install-tools.sh")
    sys.exit(main(sys.argv[1:]))
