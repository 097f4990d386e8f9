"""The environment as a plan: pure functions from validated configuration to what each
namespace and service gets (tested without Pulumi); ``prodstack.stack`` registers it."""

from prodstack.plan.environment import (
    EnvironmentPlan,
    NamespacePlan,
    ServicePlan,
    plan_environment,
)
from prodstack.plan.network import CallFlows, Endpoint, call_flows, namespace_flows, service_flows

__all__ = [
    "CallFlows",
    "Endpoint",
    "EnvironmentPlan",
    "NamespacePlan",
    "ServicePlan",
    "call_flows",
    "namespace_flows",
    "plan_environment",
    "service_flows",
]
