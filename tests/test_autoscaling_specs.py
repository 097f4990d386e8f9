"""Pure spec builders of the autoscaler and the load balancer, and the prometheus-adapter rule
(its PromQL checked by promtool)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import AutoscalingConfig, LoadBalancerConfig, RequestsMetric
from prodstack.specs import load_balancer as lb_spec
from prodstack.specs.autoscaling import adapter_rule, hpa_spec, quantity

ROOT = Path(__file__).resolve().parents[1]
SELECTOR = {"app.kubernetes.io/name": "shop-api", "app.kubernetes.io/instance": "shop-api-x"}


def test_hpa_spec_targets_the_rollout_with_the_reference_metrics() -> None:
    config = AutoscalingConfig(min_replicas=6, max_replicas=100, requests_per_second={})
    spec = hpa_spec(config, "shop-api")
    assert spec["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "shop-api",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (6, 100)
    assert spec["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        },
        {
            "type": "Resource",
            "resource": {
                "name": "memory",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        },
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "http_requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "50"},
            },
        },
    ]
    assert spec["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 60,
            "policies": [
                {"type": "Percent", "value": 50, "periodSeconds": 60},
                {"type": "Pods", "value": 10, "periodSeconds": 60},
            ],
            "selectPolicy": "Max",
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
            "selectPolicy": "Min",
        },
    }


def test_metrics_left_out_are_not_rendered() -> None:
    spec = hpa_spec(AutoscalingConfig(memory_utilization=None), "app")
    assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]


@pytest.mark.parametrize(
    ("value", "expected"), [(50, "50"), (50.0, "50"), (0.5, "500m"), (12.25, "12250m")]
)
def test_quantities(value: float, expected: str) -> None:
    assert quantity(value) == expected


def test_quantity_below_a_milli_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="smallest quantity"):
        quantity(0.0001)


def annotation_values(lb: LoadBalancerConfig) -> dict[str, str]:
    return lb_spec.service_annotations(lb)


load_balancers = st.builds(
    lambda scheme, controller, cross_zone, idle, ranges: LoadBalancerConfig.model_validate(
        {
            "scheme": scheme,
            "controller": controller,
            "crossZone": cross_zone,
            "idleTimeoutSeconds": idle if controller == "aws-load-balancer-controller" else None,
            "sourceRanges": ranges if ranges or scheme == "internal" else ["0.0.0.0/0"],
        }
    ),
    st.sampled_from(["internal", "internet-facing"]),
    st.sampled_from(["aws-load-balancer-controller", "in-tree"]),
    st.booleans(),
    st.none() | st.integers(60, 6000),
    st.lists(st.sampled_from(["10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"]), unique=True),
)


@given(load_balancers)
def test_annotations_state_the_scheme_and_controller_explicitly(lb: LoadBalancerConfig) -> None:
    found = annotation_values(lb)
    assert all(key.startswith(lb_spec.PREFIX) for key in found)
    assert all(isinstance(value, str) for value in found.values())
    if lb.controller == "aws-load-balancer-controller":
        assert found[lb_spec.TYPE] == "external"
        assert found[lb_spec.SCHEME] == lb.scheme
        assert found[lb_spec.TARGET_TYPE] == "ip"
        assert found[lb_spec.ATTRIBUTES] == (
            f"load_balancing.cross_zone.enabled={str(lb.cross_zone).lower()}"
        )
        idle = found.get(lb_spec.listener_attributes_key(lb.port))
        if lb.idle_timeout_seconds is None:
            assert idle is None
        else:
            assert idle == f"tcp.idle_timeout.seconds={lb.idle_timeout_seconds}"
        assert lb_spec.INTERNAL not in found
    else:
        assert found[lb_spec.TYPE] == "nlb"
        assert (found.get(lb_spec.INTERNAL) == "true") == (lb.scheme == "internal")
        assert found[lb_spec.CROSS_ZONE_IN_TREE] == str(lb.cross_zone).lower()
        assert lb_spec.SCHEME not in found


@given(load_balancers)
def test_service_spec_reaches_every_pod_on_the_named_port(lb: LoadBalancerConfig) -> None:
    spec = lb_spec.service_spec(lb, SELECTOR)
    assert spec["type"] == "LoadBalancer"
    assert spec["selector"] == SELECTOR
    assert spec["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert spec.get("loadBalancerSourceRanges", []) == [str(c) for c in lb.source_ranges]
    if lb.scheme == "internet-facing":
        assert spec["loadBalancerSourceRanges"]
    # Node ports only where targets are nodes.
    assert spec.get("allocateLoadBalancerNodePorts", True) == (
        lb.effective_target_type == "instance"
    )


def test_instance_targets_with_the_controller_keep_node_ports() -> None:
    lb = LoadBalancerConfig(target_type="instance")
    assert lb_spec.service_annotations(lb)[lb_spec.TARGET_TYPE] == "instance"
    assert "allocateLoadBalancerNodePorts" not in lb_spec.service_spec(lb, SELECTOR)


def test_adapter_rule_serves_the_metric_the_hpa_asks_for() -> None:
    metric = RequestsMetric(name="http_requests_per_second")
    rule = adapter_rule(metric)
    assert rule["name"]["as"] == metric.name
    assert re.fullmatch(rule["name"]["matches"], "http_requests_total")
    assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}


def documented_rules() -> list[dict[str, Any]]:
    text = (ROOT / "docs/components/autoscaling.md").read_text()
    block = text.split("<!-- adapter-rule -->", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    values = yaml.safe_load(block)
    return list(values["rules"]["custom"])


def test_documented_adapter_rule_is_the_one_prodstack_builds() -> None:
    assert documented_rules() == [adapter_rule(RequestsMetric())]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing on CI: scripts/install-tools.sh installs it")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return path


def test_adapter_query_is_valid_promql(tmp_path: Path) -> None:
    """The adapter's template, filled in as the adapter fills it, passes promtool."""
    rule = adapter_rule(RequestsMetric())
    series = rule["seriesQuery"].split("{", 1)[0]
    query = (
        rule["metricsQuery"]
        .replace("<<.Series>>", series)
        .replace("<<.LabelMatchers>>", 'namespace="shop",pod=~"shop-api-.*"')
        .replace("<<.GroupBy>>", "pod")
    )
    rules: dict[str, Any] = {
        "groups": [
            {
                "name": "adapter",
                "rules": [
                    {"record": "pod:http_requests_per_second:rate", "expr": query},
                    {"record": "series:http_requests_total:present", "expr": rule["seriesQuery"]},
                ],
            }
        ]
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken = path.with_name("broken.yaml")
    rules["groups"][0]["rules"][0]["expr"] = query.replace(")) by", ") by")
    broken.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool(), "check", "rules", str(broken)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
