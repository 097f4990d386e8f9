"""Fails loudly when the Pulumi SDK's mock runtime changes under the offline engine."""

from __future__ import annotations

import inspect

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import mocks
from pulumi.runtime.proto import resource_pb2

from prodstack.synth import synthesize
from prodstack.synth.monitor import RECORDED_FIELDS


def test_register_resource_request_still_carries_the_recorded_fields() -> None:
    fields = {field.name for field in resource_pb2.RegisterResourceRequest.DESCRIPTOR.fields}
    missing = set(RECORDED_FIELDS) - fields
    assert not missing, f"RegisterResourceRequest lost {missing}; update prodstack/synth/monitor.py"


def test_set_mocks_still_accepts_a_monitor_and_preview() -> None:
    parameters = inspect.signature(mocks.set_mocks).parameters
    assert {"mocks", "project", "stack", "preview", "monitor"} <= set(parameters)
    assert hasattr(mocks.MockMonitor, "RegisterResource")
    assert hasattr(mocks.MockMonitor, "make_urn")


def test_engine_sees_parents_dependencies_and_types() -> None:
    class Box(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("prodstack:test:Box", name)
            first = k8s.core.v1.ConfigMap(
                f"{name}-a",
                metadata={"name": "a", "namespace": "ns"},
                data={"n": "1"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            k8s.core.v1.ConfigMap(
                f"{name}-b",
                metadata={"name": "b", "namespace": "ns"},
                data={"count": "2"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[first]),
            )
            self.register_outputs({})

    def program() -> None:
        Box("box")

    graph = synthesize(program, stack="contract")
    box = graph.of_type("prodstack:test:Box")[0]
    a, b = sorted(graph.kind("ConfigMap"), key=lambda r: r.object_name)
    assert a.parent == box.urn and b.parent == box.urn
    assert b.dependencies == (a.urn,)
    assert a.inputs["apiVersion"] == "v1" and a.inputs["kind"] == "ConfigMap"
    assert a.inputs["metadata"] == {"name": "a", "namespace": "ns"}
    assert box.parent is not None and graph.by_urn(box.parent).type == "pulumi:pulumi:Stack"


def test_numbers_arrive_as_ints_again() -> None:
    def program() -> None:
        k8s.apiextensions.CustomResource(
            "thing",
            api_version="example.com/v1",
            kind="Thing",
            metadata={"name": "thing"},
            spec={"count": 3, "ratio": 0.5},
        )

    spec = synthesize(program).one("Thing").inputs["spec"]
    assert spec == {"count": 3, "ratio": 0.5}
    assert isinstance(spec["count"], int)
