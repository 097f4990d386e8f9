"""Fails loudly when the Pulumi SDK's mock runtime changes under the offline engine."""

from __future__ import annotations

import asyncio
import gc
import inspect
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import mocks
from pulumi.runtime.proto import alias_pb2, resource_pb2

from prodstack.synth import Unknown, engine, synthesize
from prodstack.synth.engine import GEN0_THRESHOLD
from prodstack.synth.manifests import manifests
from prodstack.synth.monitor import (
    FORWARDED_FIELDS,
    RECORDED_FIELDS,
    PlaceholderMocks,
    RecordingMonitor,
    placeholder,
)


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


def test_alias_messages_still_carry_what_the_recorder_collapses() -> None:
    """``alias_urn`` reads an alias as a URN or a spec, and from a spec its name, type, stack,
    project and parent (a URN, or none)."""
    alias = alias_pb2.Alias.DESCRIPTOR
    assert {f.name for f in alias.oneofs_by_name["alias"].fields} == {"urn", "spec"}
    spec = alias_pb2.Alias.Spec.DESCRIPTOR
    assert {"name", "type", "stack", "project"} <= {f.name for f in spec.fields}
    assert {f.name for f in spec.oneofs_by_name["parent"].fields} == {"parentUrn", "noParent"}


def test_the_monitor_still_asks_for_alias_specs() -> None:
    """The SDK sends alias specs only to a monitor that supports them; otherwise it computes
    alias URNs itself, the mock's way, and ``aliases`` arrives empty."""
    monitor = RecordingMonitor(PlaceholderMocks())
    info = monitor.GetDeploymentInfo(None)  # type: ignore[no-untyped-call]
    assert resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS in info.supportedFeatures


def test_aliases_reach_the_record_as_engine_urns() -> None:
    old = "urn:pulumi:contract::prodstack::kubernetes:core/v1:ConfigMap::by-urn"

    def program() -> None:
        k8s.core.v1.ConfigMap(
            "settings",
            metadata={"name": "settings", "namespace": "ns"},
            opts=pulumi.ResourceOptions(
                aliases=[pulumi.Alias(name="renamed"), pulumi.Alias(type_="my:mod:Old"), old]
            ),
        )
        k8s.core.v1.ConfigMap("plain", metadata={"name": "plain", "namespace": "ns"})

    graph = synthesize(program, stack="contract")
    prefix = f"urn:pulumi:contract::{graph.project}::"
    by_name = {r.name: r for r in graph}
    assert by_name["settings"].aliases == (
        f"{prefix}kubernetes:core/v1:ConfigMap::renamed",
        f"{prefix}my:mod:Old::settings",
        old,
    )
    assert by_name["plain"].aliases == ()


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


def test_the_mock_monitor_internals_the_recorder_reuses_are_still_there() -> None:
    # RecordingMonitor._register does MockMonitor.RegisterResource's work with one
    # deserialization instead of two; it relies on these.
    fields = {field.name for field in resource_pb2.RegisterResourceRequest.DESCRIPTOR.fields}
    assert set(FORWARDED_FIELDS) <= fields
    assert callable(mocks._resolve_callbacks)
    parameters = inspect.signature(mocks.MockResourceArgs).parameters
    assert {"typ", "name", "inputs", "provider", "resource_id", "custom", "transforms"} <= set(
        parameters
    )
    assert mocks.MockMonitor.ResourceRegistration._fields == ("urn", "id", "state")


def test_mocks_outputs_reach_the_program() -> None:
    def program() -> None:
        account = k8s.core.v1.ServiceAccount("sa", metadata={"name": "sa", "namespace": "ns"})
        pulumi.export("uid", account.metadata.apply(lambda meta: meta["uid"]))
        pulumi.export("id", account.id)

    outputs = synthesize(program).outputs
    assert outputs["id"] == "ns/sa"
    assert outputs["uid"] == placeholder("kubernetes:core/v1:ServiceAccount", "sa", "metadata.uid")


def test_unknown_inputs_are_recorded_as_unknown_and_reach_the_mocks_as_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []

    class Spy(PlaceholderMocks):
        def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            seen.append(args.inputs)
            return super().new_resource(args)

    def program() -> None:
        unknown: pulumi.Output[str] = pulumi.Output(
            set(), _resolved(None), is_known=_resolved(False), is_secret=_resolved(False)
        )
        k8s.core.v1.ConfigMap(
            "cm", metadata={"name": "cm", "namespace": "ns"}, data={"later": unknown, "now": "1"}
        )

    spy = Spy()
    monkeypatch.setattr(engine, "PlaceholderMocks", lambda *_args, **_kwargs: spy)
    graph = synthesize(program)
    data = graph.one("ConfigMap").inputs["data"]
    assert isinstance(data["later"], Unknown) and data["now"] == "1"
    assert manifests(graph)[0]["data"] == {"later": "<unknown>", "now": "1"}
    assert seen[-1]["data"] == {"later": None, "now": "1"}


def test_collector_settings_are_restored_after_a_run_even_a_failing_one() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())

    def failing() -> None:
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        synthesize(failing)
    synthesize(lambda: None)
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before


def _resolved(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    future.set_result(value)
    return future
