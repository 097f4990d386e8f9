"""The metric contract: every series prodstack's alerts, analysis, recording rules and dashboard
read, who exposes it, and the labels they rely on. Written once here; the docs and tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["app", "kube-state-metrics", "argo-rollouts"]
MetricType = Literal["counter", "gauge", "histogram"]

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# The labels a Prometheus Operator ServiceMonitor puts on every series from its target
# (pkg/prometheus/promcfg.go: job, instance, namespace, service, pod, container, endpoint). An
# exporter's series that carries one of them itself keeps its own value only when the scrape
# honours labels (``honorLabels: true``); otherwise Prometheus renames it ``exported_<label>``
# and sets the target's (the exporter's namespace, pod and container) in its place.
TARGET_LABELS = ("job", "instance", "namespace", "service", "pod", "container", "endpoint")
RENAMED_PREFIX = "exported_"


@dataclass(frozen=True)
class ContractMetric:
    """One metric family; ``labels`` are the ones prodstack's queries select or group by."""

    name: str
    type: MetricType
    source: Source
    labels: tuple[str, ...]
    meaning: str

    @property
    def target_labels(self) -> tuple[str, ...]:
        """The labels of an exporter's series that collide with the scrape target's: they
        arrive renamed ``exported_<label>`` unless the scrape honours labels. The app's own
        series get these labels from prodstack's ServiceMonitor only, so none collide."""
        if self.source == "app":
            return ()
        return tuple(label for label in self.labels if label in TARGET_LABELS)

    def series_names(self) -> tuple[str, ...]:
        """Names that appear in PromQL: a histogram's ``_bucket``, ``_sum`` and ``_count``."""
        if self.type == "histogram":
            return tuple(self.name + suffix for suffix in HISTOGRAM_SUFFIXES)
        return (self.name,)


HTTP_REQUESTS = ContractMetric(
    "http_requests_total",
    "counter",
    "app",
    ("job", "namespace", "rollouts_pod_template_hash", "<status label>"),
    "requests served, labelled with the HTTP status code (label name configurable, "
    "default `status`)",
)
HTTP_DURATION = ContractMetric(
    "http_request_duration_seconds",
    "histogram",
    "app",
    ("job", "namespace", "rollouts_pod_template_hash", "le"),
    "request latency in seconds",
)
RESTARTS = ContractMetric(
    "kube_pod_container_status_restarts_total",
    "counter",
    "kube-state-metrics",
    ("namespace", "pod", "container"),
    "container restarts",
)
WAITING_REASON = ContractMetric(
    "kube_pod_container_status_waiting_reason",
    "gauge",
    "kube-state-metrics",
    ("namespace", "pod", "container", "reason"),
    "1 while a container waits for the given reason (`CrashLoopBackOff`)",
)
CRONJOB_LAST_SUCCESS = ContractMetric(
    "kube_cronjob_status_last_successful_time",
    "gauge",
    "kube-state-metrics",
    ("namespace", "cronjob"),
    "Unix time of the CronJob's last successful run (absent until the first success)",
)
CRONJOB_CREATED = ContractMetric(
    "kube_cronjob_created",
    "gauge",
    "kube-state-metrics",
    ("namespace", "cronjob"),
    "Unix time the CronJob was created (tells a new CronJob from one that never succeeded)",
)
JOB_STATUS_FAILED = ContractMetric(
    "kube_job_status_failed",
    "gauge",
    "kube-state-metrics",
    ("namespace", "job_name"),
    "pods of a Job that failed (retries included)",
)
JOB_FAILED = ContractMetric(
    "kube_job_failed",
    "gauge",
    "kube-state-metrics",
    ("namespace", "job_name", "condition"),
    '1 with `condition="true"` once a Job has failed for good (retries exhausted)',
)
HPA_CURRENT = ContractMetric(
    "kube_horizontalpodautoscaler_status_current_replicas",
    "gauge",
    "kube-state-metrics",
    ("namespace", "horizontalpodautoscaler"),
    "replicas the autoscaler currently runs",
)
HPA_DESIRED = ContractMetric(
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "gauge",
    "kube-state-metrics",
    ("namespace", "horizontalpodautoscaler"),
    "replicas the autoscaler wants",
)
HPA_MIN = ContractMetric(
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "gauge",
    "kube-state-metrics",
    ("namespace", "horizontalpodautoscaler"),
    "the autoscaler's floor",
)
HPA_MAX = ContractMetric(
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "gauge",
    "kube-state-metrics",
    ("namespace", "horizontalpodautoscaler"),
    "the autoscaler's ceiling",
)
ROLLOUT_AVAILABLE = ContractMetric(
    "rollout_info_replicas_available",
    "gauge",
    "argo-rollouts",
    ("namespace", "name"),
    "available replicas of a Rollout (stable and canary)",
)
ROLLOUT_INFO = ContractMetric(
    "rollout_info",
    "gauge",
    "argo-rollouts",
    ("namespace", "name", "phase"),
    "1 for the Rollout's current phase (`Healthy`, `Progressing`, `Paused`, `Degraded`)",
)
ROLLOUT_EVENTS = ContractMetric(
    "rollout_events_total",
    "counter",
    "argo-rollouts",
    ("namespace", "name", "reason"),
    "Kubernetes events the controller emitted for a Rollout, by reason "
    "(`RolloutCompleted`, `RolloutAborted`, ...)",
)

CONTRACT: tuple[ContractMetric, ...] = (
    HTTP_REQUESTS,
    HTTP_DURATION,
    RESTARTS,
    WAITING_REASON,
    CRONJOB_LAST_SUCCESS,
    CRONJOB_CREATED,
    JOB_STATUS_FAILED,
    JOB_FAILED,
    HPA_CURRENT,
    HPA_DESIRED,
    HPA_MIN,
    HPA_MAX,
    ROLLOUT_AVAILABLE,
    ROLLOUT_INFO,
    ROLLOUT_EVENTS,
)


def contract_series() -> frozenset[str]:
    """Every series name a query may read."""
    return frozenset(name for metric in CONTRACT for name in metric.series_names())
