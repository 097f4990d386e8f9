"""Least-privilege API access for an app: a Role scoped to named objects, and the explicitly
projected, short-lived token a pod needs to use it (the automounted one stays off)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prodstack.config.security import ApiAccessRule

Manifest = dict[str, Any]
TOKEN_VOLUME = "api-token"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def role_rules(rules: Sequence[ApiAccessRule]) -> list[Manifest]:
    return [
        {
            "apiGroups": [rule.api_group],
            "resources": [rule.resource],
            "resourceNames": list(rule.resource_names),
            "verbs": list(rule.verbs),
        }
        for rule in rules
    ]


def api_token_volume(expiration_seconds: int) -> Manifest:
    """What the automounted token gives (token, cluster CA, namespace), but expiring and
    explicit, so only pods that need the API carry a credential."""
    return {
        "name": TOKEN_VOLUME,
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": expiration_seconds}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def api_token_mount() -> Manifest:
    return {"name": TOKEN_VOLUME, "mountPath": TOKEN_PATH, "readOnly": True}
