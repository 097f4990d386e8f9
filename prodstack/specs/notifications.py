"""Argo Rollouts notification subscriptions of a Rollout.

The controller reads them from the Rollout's own annotations
(``notifications.argoproj.io/subscribe.<trigger>.<service>: <recipient>;<recipient>``,
docs/features/notifications.md) and, on each event it records, sends the trigger's templates
to the recipients through the service. Triggers, templates and services are defined in the
controller's ``argo-rollouts-notification-configmap``: docs/components/canary-app.md says what
it must hold.
"""

from __future__ import annotations

from prodstack.config.canary import SUBSCRIBE_PREFIX, NotificationsConfig


def subscription_annotations(notifications: NotificationsConfig | None) -> dict[str, str]:
    """One annotation per trigger, every recipient in each (empty without notifications)."""
    if notifications is None:
        return {}
    recipients = ";".join(notifications.recipients)
    return {
        f"{SUBSCRIBE_PREFIX}{trigger}.{notifications.service}": recipients
        for trigger in notifications.triggers
    }
