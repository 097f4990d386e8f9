"""PromQL over the metric contract: the one source of the canary analysis, the alerts, the DORA
recording rules and the dashboard.

Every query takes label matchers. Canary analysis adds the canary pods' template hash to the
app's job and namespace; alerts and the dashboard use the job and namespace alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from prodstack import metric_contract as mc

REQUESTS = mc.HTTP_REQUESTS.name
DURATION_BUCKETS = mc.HTTP_DURATION.name + "_bucket"
SERVER_ERROR = "5.."

_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def matchers(labels: Mapping[str, str], *extra: str) -> str:
    """``{a="1",b="2",<extra>}`` with label values escaped for PromQL string literals."""
    parts = [f'{key}="{_escape(value)}"' for key, value in labels.items()]
    parts.extend(extra)
    return "{" + ",".join(parts) + "}"


def regex_matcher(label: str, pattern: str) -> str:
    """``label=~"pattern"``; the pattern is RE2 (anchored at both ends by Prometheus)."""
    return f'{label}=~"{_escape(pattern)}"'


def regex_literal(text: str) -> str:
    """``text`` matched literally inside an RE2 pattern."""
    return _RE2_SPECIAL.sub(r"\\\1", text)


# --- the app's golden signals -------------------------------------------------------------


def request_rate(labels: Mapping[str, str], window: str, by: tuple[str, ...] = ()) -> str:
    """Requests per second, summed over every matching pod (or per value of ``by``)."""
    grouping = f" by ({', '.join(by)})" if by else ""
    return f"sum{grouping}(rate({REQUESTS}{matchers(labels)}[{window}]))"


def error_ratio(labels: Mapping[str, str], window: str, status_label: str = "status") -> str:
    """Share of requests answered with a 5xx, summed over every matching pod.

    No 5xx series at all counts as 0 errors; no requests at all gives no result (not 0, not
    NaN), so neither an alert nor an analysis ever judges an idle service.
    """
    errors = matchers(labels, f'{status_label}=~"{SERVER_ERROR}"')
    return (
        f"(sum(rate({REQUESTS}{errors}[{window}])) or vector(0))\n"
        f"/\nsum(rate({REQUESTS}{matchers(labels)}[{window}]))"
    )


def success_ratio(labels: Mapping[str, str], window: str, status_label: str = "status") -> str:
    """Share of requests not answered with a 5xx, summed over every matching pod.

    Pods that answered nothing but 5xx have no success series: they count as 0 successes, so a
    canary that fails every request fails its analysis instead of looking inconclusive.
    """
    good = matchers(labels, f'{status_label}!~"{SERVER_ERROR}"')
    return (
        f"(sum(rate({REQUESTS}{good}[{window}])) or vector(0))\n"
        f"/\nsum(rate({REQUESTS}{matchers(labels)}[{window}]))"
    )


def latency_quantile(labels: Mapping[str, str], window: str, quantile: float = 0.95) -> str:
    """Quantile of request latency in seconds over all matching pods (buckets summed by le)."""
    return (
        f"histogram_quantile({quantile}, sum by (le) "
        f"(rate({DURATION_BUCKETS}{matchers(labels)}[{window}])))"
    )


# --- pods and containers (kube-state-metrics) ---------------------------------------------


def _container_selector(namespace: str, pod_pattern: str, container: str, *extra: str) -> str:
    return matchers(
        {"namespace": namespace, "container": container},
        regex_matcher("pod", pod_pattern),
        *extra,
    )


def container_restarts(namespace: str, pod_pattern: str, container: str, window: str) -> str:
    """Restarts per container within ``window``."""
    selector = _container_selector(namespace, pod_pattern, container)
    return f"max by (namespace, pod, container) (increase({mc.RESTARTS.name}{selector}[{window}]))"


def crash_loop_back_off(namespace: str, pod_pattern: str, container: str, window: str) -> str:
    """1 for containers seen waiting in CrashLoopBackOff within ``window``.

    The container leaves the waiting state each time the kubelet retries it, so a plain
    instant query flickers; ``max_over_time`` holds it for the window.
    """
    selector = _container_selector(namespace, pod_pattern, container, 'reason="CrashLoopBackOff"')
    return (
        f"max by (namespace, pod, container) "
        f"(max_over_time({mc.WAITING_REASON.name}{selector}[{window}])) == 1"
    )


# --- Argo Rollouts controller -------------------------------------------------------------


def available_replicas(namespace: str, rollout: str) -> str:
    labels = {"namespace": namespace, "name": rollout}
    return f"max by (namespace, name) ({mc.ROLLOUT_AVAILABLE.name}{matchers(labels)})"


def rollout_phase(namespace: str, rollout: str) -> str:
    labels = {"namespace": namespace, "name": rollout}
    return f"max by (namespace, name, phase) ({mc.ROLLOUT_INFO.name}{matchers(labels)}) == 1"


def rollout_events(namespace: str, rollout: str, reasons: tuple[str, ...], window: str) -> str:
    """Events of the given reasons the controller emitted for a Rollout within ``window``.

    The controller creates a counter series on a reason's first event, so that series starts
    at 1 and ``increase`` alone never sees the event that created it (the first abort of a
    Rollout since the controller started, the commonest kind). Series that did not exist a
    window ago count in full; the others count their increase.
    """
    own = {"namespace": namespace, "name": rollout}
    if len(reasons) == 1:
        selector = matchers({**own, "reason": reasons[0]})
    else:
        selector = matchers(own, regex_matcher("reason", "|".join(map(regex_literal, reasons))))
    series = mc.ROLLOUT_EVENTS.name + selector
    return (
        "sum by (namespace, name) (\n"
        f"  ({series} unless {series} offset {window})\n"
        "  or\n"
        f"  increase({series}[{window}])\n"
        ")"
    )


# --- CronJobs and Jobs (kube-state-metrics) -----------------------------------------------


def backup_overdue(namespace: str, cronjob: str, max_age_seconds: int, max_age: str) -> str:
    """The CronJob's newest success is older than the maximum age, or it has none although it
    has existed that long, or it has not been seen at all for that long. Value: seconds since
    the newest success (or since creation), 1 when the CronJob is not seen."""
    selector = matchers({"namespace": namespace, "cronjob": cronjob})
    last = f"max by (namespace, cronjob) ({mc.CRONJOB_LAST_SUCCESS.name}{selector})"
    created = f"max by (namespace, cronjob) ({mc.CRONJOB_CREATED.name}{selector})"
    return (
        f"(time() - {last}) > {max_age_seconds}\n"
        f"or\n"
        f"((time() - {created}) > {max_age_seconds} unless on (namespace, cronjob) {last})\n"
        f"or\n"
        f"absent_over_time({mc.CRONJOB_CREATED.name}{selector}[{max_age}])"
    )


def seconds_since_success(namespace: str, cronjob: str) -> str:
    selector = matchers({"namespace": namespace, "cronjob": cronjob})
    return f"time() - max by (namespace, cronjob) ({mc.CRONJOB_LAST_SUCCESS.name}{selector})"


def _cronjob_jobs(namespace: str, cronjob: str, *extra: str) -> str:
    """Jobs a CronJob created (``<cronjob>-<minutes>``) or that were created from it by hand
    (``kubectl create job --from=cronjob/<cronjob> <cronjob>-<suffix>``)."""
    return matchers(
        {"namespace": namespace},
        regex_matcher("job_name", regex_literal(cronjob) + "-.+"),
        *extra,
    )


def failed_jobs(namespace: str, cronjob: str) -> str:
    """1 per Job of the CronJob that failed for good (retries exhausted or deadline passed)."""
    selector = _cronjob_jobs(namespace, cronjob, 'condition="true"')
    return f"max by (namespace, job_name) ({mc.JOB_FAILED.name}{selector}) == 1"


def failed_job_pods(namespace: str, cronjob: str) -> str:
    """Failed pods per Job of the CronJob, retries that later succeeded included."""
    selector = _cronjob_jobs(namespace, cronjob)
    return f"sum by (namespace, job_name) ({mc.JOB_STATUS_FAILED.name}{selector})"


# --- HorizontalPodAutoscaler (kube-state-metrics) -----------------------------------------


def autoscaler_replicas(namespace: str, autoscaler: str, metric: mc.ContractMetric) -> str:
    labels = {"namespace": namespace, "horizontalpodautoscaler": autoscaler}
    return f"max by (namespace, horizontalpodautoscaler) ({metric.name}{matchers(labels)})"


_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _escape(value: str) -> str:
    """``value`` as the inside of a double-quoted PromQL string."""
    return value.translate(_STRING_ESCAPES)
