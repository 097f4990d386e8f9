"""The floor: the custom resources a program registered, declared again with the raw SDK.

``declarations(graph)`` takes every custom resource the offline engine recorded (type token,
logical name, inputs, dependencies, provider). ``prepare`` picks the provider SDK's own class
for each token (``kubernetes:core/v1:Service`` -> ``pulumi_kubernetes.core.v1.Service``,
``kubernetes:argoproj.io/v1alpha1:Rollout`` -> ``pulumi_kubernetes.apiextensions.CustomResource``,
``aws:s3/bucket:Bucket`` -> ``pulumi_aws.s3.Bucket``), with the top-level inputs as keyword
arguments (camelCase -> snake_case) and nested values as recorded. ``replay_program`` declares
them in recorded order, with the same dependencies and providers, and exports the same stack
outputs: what a hand-written program with the same resources would do, without components,
configuration models or spec builders.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import rpc

from prodstack.synth import ResourceGraph, Secret, Unknown
from prodstack.synth.engine import Program

Factory = Callable[..., pulumi.CustomResource]

# Kubernetes API groups whose Python module is not the group's first label.
_KUBERNETES_MODULES = {"helm.sh": "helm"}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class ReplayError(Exception):
    """A recorded resource cannot be declared again with the raw SDK; the message says why."""


@dataclass(frozen=True)
class Declaration:
    """One recorded custom resource; ``depends_on`` and ``provider`` index earlier entries."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    depends_on: tuple[int, ...] = ()
    provider: int | None = None
    protect: bool = False
    retain_on_delete: bool = False


@dataclass(frozen=True)
class Replayable:
    """A declaration bound to its SDK class, with keyword arguments ready to pass."""

    factory: Factory
    name: str
    kwargs: Mapping[str, Any]
    has_secrets: bool
    depends_on: tuple[int, ...]
    provider: int | None
    protect: bool
    retain_on_delete: bool


@dataclass(frozen=True)
class Plan:
    """What to replay: the custom resources, and the stack outputs the program exported."""

    declarations: tuple[Declaration, ...]
    outputs: Mapping[str, Any]


def plan(graph: ResourceGraph) -> Plan:
    return Plan(tuple(declarations(graph)), dict(graph.outputs))


def declarations(graph: ResourceGraph) -> list[Declaration]:
    """Every custom resource of ``graph`` (providers included), in registration order."""
    customs = [resource for resource in graph if resource.custom]
    index = {resource.urn: position for position, resource in enumerate(customs)}
    found: list[Declaration] = []
    for resource in customs:
        missing = [urn for urn in resource.dependencies if urn not in index]
        if missing:
            raise ReplayError(f"{resource.urn} depends on {missing}, which are not custom")
        provider_urn = (resource.provider or "").split("::", maxsplit=4)
        provider = index.get("::".join(provider_urn[:4])) if resource.provider else None
        found.append(
            Declaration(
                type=resource.type,
                name=resource.name,
                inputs=resource.inputs,
                depends_on=tuple(sorted(index[urn] for urn in resource.dependencies)),
                provider=provider,
                # Recorded by engines that know these options; absent otherwise.
                protect=bool(getattr(resource, "protect", False)),
                retain_on_delete=bool(getattr(resource, "retain_on_delete", False)),
            )
        )
    return found


def snake_case(key: str) -> str:
    """The Python keyword of a camelCase wire name (``apiVersion`` -> ``api_version``)."""
    return _CAMEL_BOUNDARY.sub("_", key).lower()


def _kubernetes_module(group: str) -> str | None:
    """The ``pulumi_kubernetes`` module of a built-in API group; None for custom resources."""
    if group in _KUBERNETES_MODULES:
        return _KUBERNETES_MODULES[group]
    if group == "core" or "." not in group or group.endswith(".k8s.io"):
        return group.split(".", maxsplit=1)[0]
    return None


def resource_factory(type_: str) -> tuple[Factory, bool]:
    """The SDK class for a type token, and whether it takes snake_case typed arguments."""
    try:
        package, module, name = type_.split(":")
    except ValueError:
        raise ReplayError(f"{type_!r} is not a package:module:Type token") from None
    if type_ == STACK_REFERENCE:
        return _stack_reference, True
    if package == "pulumi" and module == "providers":
        return _attribute(f"pulumi_{name.replace('-', '_')}", "Provider", type_), True
    if package == "kubernetes":
        group, _, version = module.rpartition("/")
        python_module = _kubernetes_module(group)
        if python_module is None:
            custom = _attribute("pulumi_kubernetes.apiextensions", "CustomResource", type_)
            return functools.partial(custom, api_version=module, kind=name), False
        return _attribute(f"pulumi_kubernetes.{python_module}.{version}", name, type_), True
    python_package = f"pulumi_{package.replace('-', '_')}"
    submodule = module.split("/")[0]
    path = python_package if submodule == "index" else f"{python_package}.{submodule}"
    return _attribute(path, name, type_), True


STACK_REFERENCE = "pulumi:pulumi:StackReference"
PROVIDER_PREFIX = "pulumi:providers:"


def _provider_input(value: Any) -> Any:
    """The engine passes a provider's non-string inputs JSON-encoded (``"true"``): decode them
    so the replay hands the SDK what the program did."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, (bool, int, float)) else value
    return value


def _stack_reference(
    resource_name: str, /, opts: pulumi.ResourceOptions | None = None, **inputs: Any
) -> pulumi.CustomResource:
    """A StackReference reads the stack its ``name`` input names (its other recorded inputs
    are what the read returns)."""
    return pulumi.StackReference(resource_name, stack_name=inputs["name"], opts=opts)


def _attribute(module: str, name: str, type_: str) -> Factory:
    try:
        value: Factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ReplayError(
            f"no SDK class for {type_} (looked for {module}.{name}: {exc}); "
            "extend benchmarks/replay.py resource_factory"
        ) from None
    return value


def prepare(found: Sequence[Declaration]) -> list[Replayable]:
    """Bind each declaration to its class (importing provider modules) and shape its inputs."""
    prepared: list[Replayable] = []
    for declaration in found:
        factory, typed = resource_factory(declaration.type)
        inputs = dict(declaration.inputs)
        if declaration.type.startswith("kubernetes:") and "kind" in inputs:
            # The class (or the CustomResource partial) sets apiVersion and kind itself.
            inputs.pop("apiVersion", None)
            inputs.pop("kind", None)
            if not typed and set(inputs) - {"metadata", "spec"}:
                raise ReplayError(
                    f"{declaration.type} {declaration.name}: CustomResource takes only metadata "
                    f"and spec, not {sorted(set(inputs) - {'metadata', 'spec'})}"
                )
        if declaration.type.startswith(PROVIDER_PREFIX):
            inputs = {key: _provider_input(value) for key, value in inputs.items()}
        kwargs = {
            (snake_case(key) if typed else key): _plain(value) for key, value in inputs.items()
        }
        prepared.append(
            Replayable(
                factory=factory,
                name=declaration.name,
                kwargs=kwargs,
                has_secrets=_has_secrets(kwargs),
                depends_on=declaration.depends_on,
                provider=declaration.provider,
                protect=declaration.protect,
                retain_on_delete=declaration.retain_on_delete,
            )
        )
    return prepared


def replay_program(
    prepared: Sequence[Replayable], outputs: Mapping[str, Any] | None = None
) -> Program:
    """A program that declares every prepared resource directly, in order, and exports
    ``outputs`` (recorded stack outputs) as plain values."""

    def program() -> None:
        created: list[pulumi.CustomResource] = []
        for item in prepared:
            kwargs = _secrets_as_outputs(item.kwargs) if item.has_secrets else item.kwargs
            opts = None
            if item.depends_on or item.provider is not None or item.protect:
                provider = None if item.provider is None else created[item.provider]
                if provider is not None and not isinstance(provider, pulumi.ProviderResource):
                    raise ReplayError(f"{item.name}: its provider is not a provider resource")
                opts = pulumi.ResourceOptions(
                    depends_on=[created[index] for index in item.depends_on],
                    provider=provider,
                    protect=item.protect or None,
                )
            if item.retain_on_delete:
                opts = pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(retain_on_delete=True)
                )
            created.append(item.factory(item.name, opts=opts, **kwargs))
        for key, value in (outputs or {}).items():
            pulumi.export(key, _secrets_as_outputs(_plain(value)))

    return program


def _plain(value: Any) -> Any:
    """Recorded values as SDK inputs; unknowns become the wire's unknown sentinel."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, Secret):
        return Secret(_plain(value.value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _has_secrets(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, Mapping):
        return any(_has_secrets(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secrets(item) for item in value)
    return False


def _secrets_as_outputs(value: Any) -> Any:
    """Secret outputs need the running program's event loop: made inside the run."""
    if isinstance(value, Secret):
        return pulumi.Output.secret(_secrets_as_outputs(value.value))
    if isinstance(value, Mapping):
        return {key: _secrets_as_outputs(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_secrets_as_outputs(item) for item in value]
    return value
