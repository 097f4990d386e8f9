"""A mock monitor that records every registration, and mocks that answer with placeholders."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown as SdkUnknown
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_project, get_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from prodstack import kinds
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
    "aliases",
)
# Fields that RecordingMonitor passes on to the mocks, as MockMonitor.RegisterResource does.
FORWARDED_FIELDS = ("importId", "transforms")
STACK_TYPE = "pulumi:pulumi:Stack"
KUBERNETES_PROVIDER_TYPE = "pulumi:providers:kubernetes"


PROVIDER_PREFIX = "pulumi:providers:"


PLACEHOLDER_PREFIX = "<known after apply:"


def placeholder(type_: str, name: str, prop: str) -> str:
    """A value only the cloud knows, spelled so that nobody mistakes it for a real one."""
    return f"{PLACEHOLDER_PREFIX} {type_}::{name}.{prop}>"


class DuplicateResourceError(RuntimeError):
    """Two registrations produced the same URN: a real deployment would fail the same way."""


class DuplicateObjectError(RuntimeError):
    """Two registrations declare the same Kubernetes object (API group, kind, namespace and
    name): whichever is applied last would silently win on a cluster."""


def engine_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """The URN the Pulumi engine gives a resource: the parent's whole qualified type chain,
    and never the root stack's type (pulumi/pulumi pkg/resource/deploy/deployment.go
    ``generateURN`` and sdk/go/common/resource/urn ``New``). The SDK's mock keeps only the
    parent's last type and prefixes ``pulumi:pulumi:Stack$`` to top-level resources."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def alias_urn(stack: str, project: str, *, parent: str, type_: str, name: str, alias: Any) -> str:
    """One alias as the engine collapses it to a URN (pulumi/pulumi step_generator.go
    ``collapseAliasToUrn``): empty fields default to the resource's own name, type, parent,
    project and stack; ``noParent`` (or the root stack as parent) means no parent."""
    if alias.WhichOneof("alias") == "urn":
        return str(alias.urn)
    spec = alias.spec
    alias_parent = parent
    if spec.WhichOneof("parent") == "noParent" and spec.noParent:
        alias_parent = ""
    elif spec.parentUrn:
        alias_parent = spec.parentUrn
    return engine_urn(
        spec.stack or stack,
        spec.project or project,
        alias_parent,
        spec.type or type_,
        spec.name or name,
    )


def inherited_aliases(
    parent_urn: str, parent_aliases: tuple[str, ...], type_: str, name: str
) -> list[str]:
    """The aliases a child inherits from its parent's (step_generator.go
    ``inheritedChildAlias``): under each of the parent's old URNs, and with the parent's name
    swapped for the old one where the child's name starts with it. The engine uses only the
    alias its parent matched in the state; offline, every candidate is listed."""
    if not parent_urn or not parent_aliases:
        return []
    parent_name = parent_urn.split("::", 3)[3]
    found = []
    for alias in parent_aliases:
        stack, project = alias.split("::")[0].removeprefix("urn:pulumi:"), alias.split("::")[1]
        old_name = alias.split("::", 3)[3]
        child = old_name + name[len(parent_name) :] if name.startswith(parent_name) else name
        found.append(engine_urn(stack, project, alias, type_, child))
    return found


class PlaceholderMocks(mocks.Mocks):
    """Echo inputs as outputs; add recognizable placeholders for values that only the cloud
    knows (ids, ARNs, generated names) so that nothing downstream is silently empty."""

    AUTONAMED = ("name", "bucket")
    STACK_REFERENCE = "pulumi:pulumi:StackReference"

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        # What a StackReference reads: the last update's outputs of each referenced stack
        # (none: a stack never deployed, as the engine answers).
        self.stack_outputs = dict(stack_outputs or {})

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == self.STACK_REFERENCE:
            name = str(args.resource_id or state.get("name") or "")
            outputs = dict(self.stack_outputs.get(name, {}))
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        if args.typ.startswith("kubernetes:"):
            metadata = dict(state.get("metadata") or {})
            metadata.setdefault("uid", placeholder(args.typ, args.name, "metadata.uid"))
            state["metadata"] = metadata
            spec = state.get("spec")
            balanced = isinstance(spec, dict) and (
                spec.get("type") == "LoadBalancer" or state.get("kind") == "Ingress"
            )
            if balanced:
                # The cloud's load balancer answers with its DNS name in the Service status.
                hostname = placeholder(
                    args.typ, args.name, "status.loadBalancer.ingress[0].hostname"
                )
                state.setdefault("status", {"loadBalancer": {"ingress": [{"hostname": hostname}]}})
            object_name = metadata.get("name", args.name)
            namespace = metadata.get("namespace")
            return (f"{namespace}/{object_name}" if namespace else str(object_name)), state
        if args.typ.startswith(PROVIDER_PREFIX):
            # The engine gives a provider a UUID; any id without '::' keeps references parseable.
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{args.typ}::{args.name}")), state
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
        self._aliases: dict[str, tuple[str, ...]] = {}
        self._objects: dict[tuple[str, str, str, str], str] = {}
        self._provider_namespaces: dict[str, str] = {}
        # The SDK registers resources from an executor's threads: every check-then-record of
        # the URN and object tables holds this lock, or two duplicates can both pass the check.
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(get_stack(), get_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            if urn in self._urns:
                raise DuplicateResourceError(
                    f"duplicate resource URN {urn}; give one of the resources another name"
                )
            self._urns.add(urn)
        response, received = self._register(request)
        inputs = normalize(received)
        aliases = self._alias_urns(request)
        with self._lock:
            self._aliases[urn] = aliases
        resource = Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            dependencies=tuple(sorted(set(request.dependencies))),
            provider=self._provider_urn(request.provider),
            custom=bool(request.custom),
            inputs=inputs,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            aliases=aliases,
        )
        with self._lock:
            if resource.type == KUBERNETES_PROVIDER_TYPE and isinstance(
                inputs.get("namespace"), str
            ):
                self._provider_namespaces[urn] = inputs["namespace"]
            self._check_object(resource)
        self.recorded.append(resource)
        return response

    def ReadResource(self, request: Any) -> Any:
        """A read (a StackReference, a ``get``) is recorded as what it is: not created."""
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        self.recorded.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                dependencies=tuple(sorted(set(request.dependencies))),
                provider=self._provider_urn(request.provider),
                custom=True,
                inputs=normalize(rpc.deserialize_properties(request.properties)),
                read=True,
            )
        )
        return response

    def _provider_urn(self, reference: str) -> str | None:
        """The URN of the provider a reference ``<urn>::<id>`` names (None: the default)."""
        if not reference:
            return None
        return reference.rsplit("::", 1)[0]

    def _alias_urns(self, request: Any) -> tuple[str, ...]:
        stack, project = get_stack(), get_project()
        own = [
            alias_urn(
                stack,
                project,
                parent=request.parent,
                type_=request.type,
                name=request.name,
                alias=alias,
            )
            for alias in request.aliases
        ]
        inherited = inherited_aliases(
            request.parent, self._aliases.get(request.parent, ()), request.type, request.name
        )
        return tuple(dict.fromkeys(a for a in (*own, *inherited) if a))

    def _check_object(self, resource: Resource) -> None:
        """The same Kubernetes object declared twice is an error naming both declarations
        (called with the lock held)."""
        if not resource.is_kubernetes_object:
            return
        kind = resource.kind
        namespace = ""
        if kinds.is_namespaced(kind):
            default = self._provider_namespaces.get(resource.provider or "", "default")
            namespace = resource.namespace or default
        key = (kinds.api_group(resource.api_version), kind, namespace, resource.object_name)
        first = self._objects.get(key)
        if first is not None:
            where = f"{namespace}/" if namespace else ""
            raise DuplicateObjectError(
                f"{kind} {where}{resource.object_name} is declared twice: by {first} and by "
                f"{resource.urn}; an object has one owner, so rename one or declare it once"
            )
        self._objects[key] = resource.urn

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
