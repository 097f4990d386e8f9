"""The Pod Security Standards ``restricted`` profile, evaluated on a pod spec.

Used by tests on every rendered pod template (Rollouts, CronJobs, Jobs, whatever holds one),
and by policies that run on users' programs. Returns the reasons a pod would be refused by a
namespace that enforces ``restricted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

ALLOWED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pods(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(metadata, spec) of every pod inside a manifest: a Pod itself, a workload's template, a
    CronJob's job template."""
    spec = document.get("spec") or {}
    if document.get("kind") == "Pod":
        yield document.get("metadata") or {}, spec
        return
    template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        yield template.get("metadata") or {}, template["spec"]


def pod_templates(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every pod spec inside a manifest: a Pod, a workload template, a CronJob's job template."""
    for _, spec in pods(document):
        yield spec


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Why this pod spec breaks the restricted profile; empty when it meets it."""
    problems: list[str] = []
    context = pod.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{flag} is true")
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            problems.append(
                f"volume {volume.get('name')!r} has a type outside the allowed set: {sorted(kinds)}"
            )
    for sysctl in context.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            problems.append(f"unsafe sysctl {sysctl.get('name')!r}")
    pod_non_root = context.get("runAsNonRoot") is True
    pod_seccomp = _seccomp_ok(context)
    if context.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    if context.get("seccompProfile", {}).get("type") == "Unconfined":
        problems.append("pod seccompProfile is Unconfined")
    for field in CONTAINER_LISTS:
        for container in pod.get(field) or []:
            problems.extend(_container_violations(container, pod_non_root, pod_seccomp))
    return problems


def _seccomp_ok(context: dict[str, Any]) -> bool:
    return (context.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost")


def _container_violations(
    container: dict[str, Any], pod_non_root: bool, pod_seccomp: bool
) -> list[str]:
    name = container.get("name", "?")
    context = container.get("securityContext") or {}
    problems = []
    if context.get("privileged"):
        problems.append(f"container {name!r} is privileged")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append(f"container {name!r} must set allowPrivilegeEscalation: false")
    non_root = context.get("runAsNonRoot")
    if non_root is False or (non_root is None and not pod_non_root):
        problems.append(f"container {name!r} must run as non-root (runAsNonRoot: true)")
    if context.get("runAsUser") == 0:
        problems.append(f"container {name!r} runs as uid 0")
    seccomp = (context.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined" or (seccomp is None and not pod_seccomp):
        problems.append(f"container {name!r} needs seccompProfile RuntimeDefault or Localhost")
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        problems.append(f"container {name!r} must drop ALL capabilities")
    added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
    if added:
        problems.append(f"container {name!r} adds capabilities {sorted(added)}")
    if context.get("procMount") not in (None, "Default"):
        problems.append(f"container {name!r} uses procMount {context.get('procMount')}")
    for port in container.get("ports") or []:
        if port.get("hostPort"):
            problems.append(f"container {name!r} uses hostPort {port['hostPort']}")
    return problems
