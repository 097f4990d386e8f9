"""The shared PromQL builders: they parse, select exactly the labels given (whatever the values
hold), and read only the metric contract."""

from __future__ import annotations

import re

import promql_parser
from hypothesis import given
from hypothesis import strategies as st

from prodstack import metric_contract as mc
from prodstack import queries
from prodstack.config import AnalysisConfig
from prodstack.specs import analysis
from tests.support.promql import metric_names

_label_names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)


def _selector_matchers(expr: str) -> list[list[tuple[str, str, str]]]:
    """Per vector selector: (name, op, value) of its matchers."""
    found: list[list[tuple[str, str, str]]] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append([(m.name, str(m.op), m.value) for m in node.matchers.matchers])
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


@given(st.dictionaries(_label_names, st.text(), min_size=1, max_size=4))
def test_label_values_survive_any_characters(labels: dict[str, str]) -> None:
    (selector,) = _selector_matchers(f"up{queries.matchers(labels)}")
    assert {(name, value) for name, _, value in selector} == set(labels.items())


@given(st.text(min_size=1))
def test_regex_literal_matches_the_text_and_only_it(text: str) -> None:
    pattern = queries.regex_literal(text)
    assert re.fullmatch(pattern, text, flags=re.DOTALL)
    assert not re.fullmatch(pattern, text + "x", flags=re.DOTALL)


def test_every_builder_parses_and_reads_only_the_contract() -> None:
    labels = {"job": "api", "namespace": "shop"}
    expressions = [
        queries.request_rate(labels, "5m"),
        queries.request_rate(labels, "5m", by=("rollouts_pod_template_hash",)),
        queries.error_ratio(labels, "5m", "code"),
        queries.success_ratio(labels, "5m"),
        queries.latency_quantile(labels, "5m"),
        queries.container_restarts("shop", "api-.+", "api", "15m"),
        queries.crash_loop_back_off("shop", "api-.+", "api", "15m"),
        queries.available_replicas("shop", "api"),
        queries.rollout_phase("shop", "api"),
        queries.rollout_events("shop", "api", ("RolloutAborted",), "15m"),
        queries.rollout_events("shop", "api", ("RolloutCompleted", "RolloutAborted"), "7d"),
        queries.backup_overdue("shop", "api-db-backup", 93600, "26h"),
        queries.seconds_since_success("shop", "api-db-backup"),
        queries.failed_jobs("shop", "api-db-restore-check"),
        queries.failed_job_pods("shop", "api-db-restore-check"),
        *(queries.autoscaler_replicas("shop", "api", m) for m in (mc.HPA_CURRENT, mc.HPA_MAX)),
    ]
    for expr in expressions:
        names = metric_names(expr)
        assert names and names <= mc.contract_series(), expr


def test_status_label_is_the_one_configured() -> None:
    expr = queries.error_ratio({"job": "api"}, "5m", "code")
    assert 'code=~"5.."' in expr and "status" not in expr
    check = analysis.checks("api", "shop", AnalysisConfig(), status_label="code")["success-rate"]
    assert 'code!~"5.."' in check.query


def test_every_selector_of_the_app_names_its_job_and_namespace() -> None:
    for expr in (
        queries.error_ratio({"job": "api", "namespace": "shop"}, "5m"),
        queries.latency_quantile({"job": "api", "namespace": "shop"}, "5m"),
    ):
        for selector in _selector_matchers(expr):
            pairs = {(name, value) for name, _, value in selector}
            assert {("job", "api"), ("namespace", "shop")} <= pairs
