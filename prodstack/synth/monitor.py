"""A mock monitor that records every registration, and mocks that answer with placeholders."""

from __future__ import annotations

from typing import Any

from pulumi.output import Unknown as SdkUnknown
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from prodstack.synth.graph import Resource
from prodstack.synth.values import normalize

# Request fields the recorder reads; tests/test_mock_monitor_contract.py fails loudly when
# the SDK's RegisterResourceRequest stops carrying any of them.
RECORDED_FIELDS = (
    "type",
    "name",
    "parent",
    "custom",
    "object",
    "dependencies",
    "provider",
    "protect",
    "retainOnDelete",
)
# Fields that RecordingMonitor passes on to the mocks, as MockMonitor.RegisterResource does.
FORWARDED_FIELDS = ("importId", "transforms")
STACK_TYPE = "pulumi:pulumi:Stack"


def placeholder(type_: str, name: str, prop: str) -> str:
    """A value only the cloud knows, spelled so that nobody mistakes it for a real one."""
    return f"<known after apply: {type_}::{name}.{prop}>"


class DuplicateResourceError(RuntimeError):
    """Two registrations produced the same URN: a real deployment would fail the same way."""


class PlaceholderMocks(mocks.Mocks):
    """Echo inputs as outputs; add recognizable placeholders for values that only the cloud
    knows (ids, ARNs, generated names) so that nothing downstream is silently empty."""

    AUTONAMED = ("name", "bucket")

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("kubernetes:"):
            metadata = dict(state.get("metadata") or {})
            metadata.setdefault("uid", placeholder(args.typ, args.name, "metadata.uid"))
            state["metadata"] = metadata
            spec = state.get("spec")
            if isinstance(spec, dict) and spec.get("type") == "LoadBalancer":
                # The cloud's load balancer answers with its DNS name in the Service status.
                hostname = placeholder(
                    args.typ, args.name, "status.loadBalancer.ingress[0].hostname"
                )
                state.setdefault("status", {"loadBalancer": {"ingress": [{"hostname": hostname}]}})
            object_name = metadata.get("name", args.name)
            namespace = metadata.get("namespace")
            return (f"{namespace}/{object_name}" if namespace else str(object_name)), state
        state.setdefault("arn", placeholder(args.typ, args.name, "arn"))
        for prop in self.AUTONAMED:
            state.setdefault(prop, placeholder(args.typ, args.name, prop))
        return placeholder(args.typ, args.name, "id"), state

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        known: dict[str, dict[str, Any]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": "<known after apply: aws account id>",
                "arn": "<known after apply: caller arn>",
                "userId": "<known after apply: caller user id>",
                "id": "<known after apply: aws account id>",
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
            "aws:index/getRegion:getRegion": {
                "name": "<known after apply: aws region>",
                "region": "<known after apply: aws region>",
            },
        }
        return known.get(args.token, {}), None


class RecordingMonitor(mocks.MockMonitor):
    """Sees what ``Mocks.new_resource`` cannot: parents, dependencies and providers."""

    def __init__(self, mocks_: mocks.Mocks) -> None:
        super().__init__(mocks_)
        self.recorded: list[Resource] = []
        self._urns: set[str] = set()

    def RegisterResource(self, request: Any) -> Any:
        response, received = self._register(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        if urn in self._urns:
            raise DuplicateResourceError(f"duplicate resource URN {urn}")
        self._urns.add(urn)
        inputs = normalize(received)
        self.recorded.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                dependencies=tuple(sorted(set(request.dependencies))),
                provider=request.provider or None,
                custom=bool(request.custom),
                inputs=inputs,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
            )
        )
        return response

    def _register(self, request: Any) -> tuple[Any, Any]:
        """``MockMonitor.RegisterResource`` with one deserialization of the inputs instead of
        two (its own, then the recorder's): the record keeps unknowns, and the mocks see them
        as None, as the SDK's deserialization outside a preview gives them."""
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        received = rpc.deserialize_properties(request.object, keep_unknowns=True)
        if request.type == STACK_TYPE:
            return super().RegisterResource(request), received  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        args = mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=_unknowns_as_none(received) if _has_unknowns(received) else received,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=mocks._resolve_callbacks(request.transforms),
        )
        found_id, state = self.mocks.new_resource(args)
        id_ = found_id or ""
        outputs = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=outputs)
        return response, received


def _has_unknowns(value: Any) -> bool:
    if isinstance(value, SdkUnknown):
        return True
    if isinstance(value, dict):
        return any(_has_unknowns(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknowns(item) for item in value)
    return False


def _unknowns_as_none(value: Any) -> Any:
    if isinstance(value, SdkUnknown):
        return None
    if isinstance(value, dict):
        return {key: _unknowns_as_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unknowns_as_none(item) for item in value]
    return value
