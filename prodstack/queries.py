"""PromQL over the metric contract: the one source of the canary analysis, the alerts, the DORA
recording rules and the dashboard.

Every query takes label matchers. Canary analysis adds the canary pods' template hash to the
app's job and namespace (and the stable pods' to compare them); alerts and the dashboard use the
job and namespace alone. The exporters' series (kube-state-metrics, the Argo Rollouts
controller) are read whether the scrape kept their ``namespace`` (``pod``, ``container``) or
renamed it ``exported_namespace``: ``either_scrape``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

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


def success_ratio_drop(
    stable: Mapping[str, str],
    canary: Mapping[str, str],
    window: str,
    status_label: str = "status",
) -> str:
    """How much lower the canary's success ratio is than the stable revision's (negative when
    the canary does better), each summed over its own pods."""
    return (
        f"(\n{success_ratio(stable, window, status_label)}\n)\n-\n"
        f"(\n{success_ratio(canary, window, status_label)}\n)"
    )


def with_traffic(
    expr: str, revisions: Sequence[Mapping[str, str]], window: str, minimum: float
) -> str:
    """``expr`` only while the pods of every one of ``revisions`` served at least ``minimum``
    requests per second over ``window``; no result otherwise (too little traffic to tell)."""
    if minimum <= 0:
        return expr
    guards = "".join(
        f"\nand on ()\n({request_rate(labels, window)} >= {minimum:g})" for labels in revisions
    )
    return f"(\n{expr}\n){guards}"


# --- exporters' series, whether the scrape kept their labels or renamed them -------------


@dataclass(frozen=True)
class ExporterSelector:
    """Series of an exporter (kube-state-metrics, the Argo Rollouts controller) that name the
    object they describe in labels the scrape target also sets (``namespace``, and ``pod`` and
    ``container`` for pods; ``metric_contract.TARGET_LABELS``).

    A scrape with ``honorLabels: true`` keeps them (kube-prometheus-stack scrapes
    kube-state-metrics so); one without renames them ``exported_<label>`` and puts the
    exporter's own namespace, pod and container in their place (the argo-rollouts Helm chart's
    ServiceMonitor does). ``renamed`` and ``kept`` select the object's series in either case;
    ``kept`` also requires ``exported_namespace=""``, so that a renamed series of an exporter
    running in the object's own namespace is not read twice.
    """

    metric: mc.ContractMetric
    equal: Mapping[str, str]
    regex: Mapping[str, str] = field(default_factory=dict)

    def _selector(self, rename: bool) -> str:
        def name(label: str) -> str:
            renamed = rename and label in self.metric.target_labels
            return mc.RENAMED_PREFIX + label if renamed else label

        guard = () if rename else (f'{mc.RENAMED_PREFIX}namespace=""',)
        extra = [regex_matcher(name(label), value) for label, value in self.regex.items()]
        equal = {name(label): value for label, value in self.equal.items()}
        return self.metric.name + matchers(equal, *guard, *extra)

    @property
    def renamed(self) -> str:
        return self._selector(rename=True)

    @property
    def kept(self) -> str:
        return self._selector(rename=False)


def _restored(expr: str, labels: tuple[str, ...]) -> str:
    """``expr`` with each of ``labels`` set back from its ``exported_`` copy."""
    for label in labels:
        source = mc.RENAMED_PREFIX + label
        expr = f'label_replace({expr}, "{label}", "$1", "{source}", "(.+)")'
    return expr


def either_scrape(
    selector: ExporterSelector,
    aggregation: str,
    by: tuple[str, ...],
    inner: Callable[[str], str] = lambda series: series,
) -> str:
    """``aggregation by (by) (inner(series))`` over the object's series as the scrape delivers
    them, renamed or kept, labelled with the object's own namespace (pod, container) in both
    cases. Both halves have exactly the ``by`` labels, so where both exist (two scrapes of one
    exporter) ``or`` keeps one of them."""
    grouping = ", ".join(by)
    restored = tuple(label for label in by if label in selector.metric.target_labels)
    renamed = _restored(inner(selector.renamed), restored)
    return (
        f"(\n  {aggregation} by ({grouping}) ({renamed})\n  or\n"
        f"  {aggregation} by ({grouping}) ({inner(selector.kept)})\n)"
    )


# --- pods and containers (kube-state-metrics) ---------------------------------------------

_CONTAINER = ("namespace", "pod", "container")


def _container_selector(
    metric: mc.ContractMetric, namespace: str, pod_pattern: str, container: str, **extra: str
) -> ExporterSelector:
    return ExporterSelector(
        metric, {"namespace": namespace, "container": container, **extra}, {"pod": pod_pattern}
    )


def container_restarts(namespace: str, pod_pattern: str, container: str, window: str) -> str:
    """Restarts per container within ``window``."""
    selector = _container_selector(mc.RESTARTS, namespace, pod_pattern, container)
    return either_scrape(selector, "max", _CONTAINER, lambda s: f"increase({s}[{window}])")


def crash_loop_back_off(namespace: str, pod_pattern: str, container: str, window: str) -> str:
    """1 for containers seen waiting in CrashLoopBackOff within ``window``.

    The container leaves the waiting state each time the kubelet retries it, so a plain
    instant query flickers; ``max_over_time`` holds it for the window.
    """
    selector = _container_selector(
        mc.WAITING_REASON, namespace, pod_pattern, container, reason="CrashLoopBackOff"
    )
    waiting = either_scrape(selector, "max", _CONTAINER, lambda s: f"max_over_time({s}[{window}])")
    return f"{waiting} == 1"


# --- Argo Rollouts controller -------------------------------------------------------------

_ROLLOUT = ("namespace", "name")


def available_replicas(namespace: str, rollout: str) -> str:
    selector = ExporterSelector(mc.ROLLOUT_AVAILABLE, {"namespace": namespace, "name": rollout})
    return either_scrape(selector, "max", _ROLLOUT)


def rollout_phase(namespace: str, rollout: str) -> str:
    selector = ExporterSelector(mc.ROLLOUT_INFO, {"namespace": namespace, "name": rollout})
    return f"{either_scrape(selector, 'max', (*_ROLLOUT, 'phase'))} == 1"


def rollout_events(
    namespace: str,
    rollout: str,
    reasons: tuple[str, ...],
    window: str,
    by: tuple[str, ...] = (),
) -> str:
    """Events of the given reasons the controller emitted for a Rollout within ``window``
    (summed per Rollout, or also per value of ``by``, such as ``reason``).

    The controller creates a counter series on a reason's first event, so that series starts
    at 1 and ``increase`` alone never sees the event that created it (the first abort of a
    Rollout since the controller started, the commonest kind). Series that did not exist a
    window ago count in full; the others count their increase.
    """
    own = {"namespace": namespace, "name": rollout}
    if len(reasons) == 1:
        selector = ExporterSelector(mc.ROLLOUT_EVENTS, {**own, "reason": reasons[0]})
    else:
        pattern = "|".join(map(regex_literal, reasons))
        selector = ExporterSelector(mc.ROLLOUT_EVENTS, own, {"reason": pattern})

    def counted(series: str) -> str:
        return f"({series} unless {series} offset {window}) or increase({series}[{window}])"

    return either_scrape(selector, "sum", (*_ROLLOUT, *by), counted)


# --- CronJobs and Jobs (kube-state-metrics) -----------------------------------------------

_CRONJOB = ("namespace", "cronjob")


def _cronjob(metric: mc.ContractMetric, namespace: str, cronjob: str) -> ExporterSelector:
    return ExporterSelector(metric, {"namespace": namespace, "cronjob": cronjob})


def backup_overdue(namespace: str, cronjob: str, max_age_seconds: int, max_age: str) -> str:
    """The CronJob's newest success is older than the maximum age, or it has none although it
    has existed that long, or it has not been seen at all for that long. Value: seconds since
    the newest success (or since creation), 1 when the CronJob is not seen."""
    last = either_scrape(_cronjob(mc.CRONJOB_LAST_SUCCESS, namespace, cronjob), "max", _CRONJOB)
    created_series = _cronjob(mc.CRONJOB_CREATED, namespace, cronjob)
    created = either_scrape(created_series, "max", _CRONJOB)
    # absent_over_time labels its 1 with the selector's equality matchers: the kept selector's
    # (namespace and cronjob; the empty exported_namespace is no label).
    unseen = (
        f"absent_over_time({created_series.kept}[{max_age}])\n"
        f"and on ()\nabsent_over_time({created_series.renamed}[{max_age}])"
    )
    return (
        f"(time() - {last}) > {max_age_seconds}\n"
        f"or\n"
        f"((time() - {created}) > {max_age_seconds} unless on (namespace, cronjob) {last})\n"
        f"or\n"
        f"({unseen})"
    )


def seconds_since_success(namespace: str, cronjob: str) -> str:
    selector = _cronjob(mc.CRONJOB_LAST_SUCCESS, namespace, cronjob)
    return f"time() - {either_scrape(selector, 'max', _CRONJOB)}"


_JOB = ("namespace", "job_name")


def _cronjob_jobs(
    metric: mc.ContractMetric, namespace: str, cronjob: str, **extra: str
) -> ExporterSelector:
    """Jobs a CronJob created (``<cronjob>-<minutes>``) or that were created from it by hand
    (``kubectl create job --from=cronjob/<cronjob> <cronjob>-<suffix>``)."""
    return ExporterSelector(
        metric, {"namespace": namespace, **extra}, {"job_name": regex_literal(cronjob) + "-.+"}
    )


def failed_jobs(namespace: str, cronjob: str) -> str:
    """1 per Job of the CronJob that failed for good (retries exhausted or deadline passed)."""
    selector = _cronjob_jobs(mc.JOB_FAILED, namespace, cronjob, condition="true")
    return f"{either_scrape(selector, 'max', _JOB)} == 1"


def failed_job_pods(namespace: str, cronjob: str) -> str:
    """Failed pods per Job of the CronJob, retries that later succeeded included."""
    return either_scrape(_cronjob_jobs(mc.JOB_STATUS_FAILED, namespace, cronjob), "sum", _JOB)


# --- HorizontalPodAutoscaler (kube-state-metrics) -----------------------------------------


def autoscaler_replicas(namespace: str, autoscaler: str, metric: mc.ContractMetric) -> str:
    selector = ExporterSelector(
        metric, {"namespace": namespace, "horizontalpodautoscaler": autoscaler}
    )
    return either_scrape(selector, "max", ("namespace", "horizontalpodautoscaler"))


_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _escape(value: str) -> str:
    """``value`` as the inside of a double-quoted PromQL string."""
    return value.translate(_STRING_ESCAPES)
