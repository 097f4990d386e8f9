"""Scraping an app: a metrics Service over all its pods and the ServiceMonitor that selects it.

The stable Service is no use here: Argo Rollouts narrows its selector to the stable revision,
so the canary's pods would never be scraped and canary analysis would have no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodstack import labels as lbl
from prodstack.config.observability import ScrapeConfig
from prodstack.specs.pod import METRICS_PORT_NAME

Manifest = dict[str, Any]

METRICS_COMPONENT = "metrics"
# The Service label whose value becomes the job label of every scraped series.
JOB_LABEL = lbl.NAME


def metrics_service_spec(pod_selector: Mapping[str, str], port: int) -> Manifest:
    """A headless Service on the ``metrics`` port of every pod of the app, stable and canary.

    Headless: Prometheus scrapes each pod through the endpoints, so no virtual IP is needed.
    """
    return {
        "clusterIP": "None",
        "selector": dict(pod_selector),
        "ports": [
            {
                "name": METRICS_PORT_NAME,
                "port": port,
                "targetPort": METRICS_PORT_NAME,
                "protocol": "TCP",
            }
        ],
    }


def service_monitor_selector(pod_selector: Mapping[str, str]) -> dict[str, str]:
    """Labels only the metrics Service carries: the app's selector plus its component."""
    return {**pod_selector, lbl.COMPONENT: METRICS_COMPONENT}


def service_monitor_spec(
    pod_selector: Mapping[str, str], namespace: str, scrape: ScrapeConfig
) -> Manifest:
    """Scrape the metrics Service's ``metrics`` port; series get ``job=<app name>`` (from the
    Service's name label), ``namespace``, and the pods' ``rollouts_pod_template_hash``."""
    return {
        "selector": {"matchLabels": service_monitor_selector(pod_selector)},
        "namespaceSelector": {"matchNames": [namespace]},
        "jobLabel": JOB_LABEL,
        "podTargetLabels": [lbl.POD_TEMPLATE_HASH],
        "endpoints": [
            {
                "port": METRICS_PORT_NAME,
                "path": scrape.path,
                "scheme": "http",
                "interval": scrape.interval,
                "scrapeTimeout": scrape.timeout,
                "honorLabels": False,
            }
        ],
    }
