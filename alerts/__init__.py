"""Webhook alerts: a durable outbox of signed JSON deliveries.

* :mod:`alerts.payload`  builds, serialises and signs payloads
* :mod:`alerts.outbox`   queues alerts in the ``alerts`` table and moves their state
* :mod:`alerts.delivery` sends them, with retries and dead letters
* :mod:`alerts.commands` the ``newswatch alerts`` commands

See ``docs/webhooks.md`` for what receivers get and how to verify it.
"""

from alerts.delivery import DeliveryCounters, DeliveryWorker, send_test_alerts
from alerts.outbox import enqueue_report_alerts, list_alerts, match_webhook, revive_alerts
from alerts.payload import AlertsError, PayloadError, load_payload_schema, sign_body, verify_signature

__all__ = [
    "AlertsError",
    "DeliveryCounters",
    "DeliveryWorker",
    "PayloadError",
    "enqueue_report_alerts",
    "list_alerts",
    "load_payload_schema",
    "match_webhook",
    "revive_alerts",
    "send_test_alerts",
    "sign_body",
    "verify_signature",
]
