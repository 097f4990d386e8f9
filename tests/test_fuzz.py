"""The input fuzzer's invariants hold on a bounded, seeded sample (`make fuzz` runs a large one):
no traceback from the CLI or the component API, accepted input renders valid manifests, a
failed run leaves the output untouched."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fuzz import ApiFuzzer, Outcome, StackFuzzer, apiserver_problems, report

STACK_CASES = 40
API_CASES = 60


def test_stack_file_mutations_keep_the_invariants(tmp_path: Path) -> None:
    fuzzer = StackFuzzer(tmp_path)  # renders the three shipped stacks first
    rng = random.Random(1)
    outcome = Outcome()
    for _ in range(STACK_CASES):
        fuzzer.case(rng, outcome)
    assert outcome.clean, report("stack files", outcome)
    assert outcome.cases == STACK_CASES
    assert outcome.accepted > 0 and sum(outcome.refused.values()) > 0


def test_component_api_misuse_keeps_the_invariants() -> None:
    fuzzer = ApiFuzzer()
    rng = random.Random(3)
    outcome = Outcome()
    for _ in range(API_CASES):
        fuzzer.case(rng, outcome)
    assert outcome.clean, report("component API", outcome)
    assert outcome.accepted > 0 and outcome.refused["ArgsError"] > 0


@pytest.mark.parametrize(
    ("document", "finding"),
    [
        (
            {"kind": "CronJob", "metadata": {"name": "x"}, "spec": {"schedule": "0 25 * * *"}},
            "spec.schedule: '0 25 * * *': the hour field '25': 25 is outside 0-23",
        ),
        (
            {"kind": "Service", "metadata": {"name": "s" * 64}},
            "is longer than 63",
        ),
        (
            {"kind": "Rollout", "metadata": {"name": "x"}, "spec": {"replicas": 2**31}},
            "spec.replicas: 2147483648 is beyond int32",
        ),
        (
            {"kind": "ConfigMap", "metadata": {"name": "x", "annotations": {"bad key": "v"}}},
            "metadata.annotations: 'bad key' is not a Kubernetes label or annotation key",
        ),
        (
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": "x"},
                "spec": {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.1"}}]}]},
            },
            "spec.egress[0].to[0].ipBlock.cidr: '10.0.0.1' has no prefix length",
        ),
    ],
)
def test_the_fuzzer_sees_what_the_api_server_would_refuse(
    document: dict[str, object], finding: str
) -> None:
    assert any(finding in problem for problem in apiserver_problems(document))
