"""PromQL for the app's golden signals: the one source of the canary analysis and the alerts.

Every query takes label matchers; canary analysis adds the canary pods' template hash, alerts
use the app's job and namespace alone.
"""

from __future__ import annotations

from collections.abc import Mapping

REQUESTS = "http_requests_total"
DURATION_BUCKETS = "http_request_duration_seconds_bucket"


def matchers(labels: Mapping[str, str], *extra: str) -> str:
    """``{a="1",b="2",<extra>}`` with label values escaped for PromQL string literals."""
    parts = [f'{key}="{_escape(value)}"' for key, value in labels.items()]
    parts.extend(extra)
    return "{" + ",".join(parts) + "}"


def error_ratio(labels: Mapping[str, str], window: str, status_label: str = "status") -> str:
    """Share of requests answered with a 5xx, summed over every matching pod."""
    errors = matchers(labels, f'{status_label}=~"5.."')
    return (
        f"sum(rate({REQUESTS}{errors}[{window}]))\n"
        f"/\nsum(rate({REQUESTS}{matchers(labels)}[{window}]))"
    )


def success_ratio(labels: Mapping[str, str], window: str, status_label: str = "status") -> str:
    """Share of requests not answered with a 5xx, summed over every matching pod."""
    good = matchers(labels, f'{status_label}!~"5.."')
    return (
        f"sum(rate({REQUESTS}{good}[{window}]))\n"
        f"/\nsum(rate({REQUESTS}{matchers(labels)}[{window}]))"
    )


def latency_quantile(labels: Mapping[str, str], window: str, quantile: float = 0.95) -> str:
    """Quantile of request latency in seconds over all matching pods (buckets summed by le)."""
    return (
        f"histogram_quantile({quantile}, sum by (le) "
        f"(rate({DURATION_BUCKETS}{matchers(labels)}[{window}])))"
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
