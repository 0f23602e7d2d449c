"""Parley's alerts: rules over view changes, the outbox, channels and delivery with a trail.

Knows view rows (`store.records.RowChange`) and outbox messages; never how posts are read.

Public surface:
- `alerts.config`: `parse_alerts(table)`, `load_alerts_config(path)`, `build_channels(config, environ)`.
- `alerts.hook.outbox_hook(store, projection, rules, channels=..., link=...)`: the views runner's
  `outbox_for`, raising alerts in the same transaction as the view change.
- `alerts.rules`: `alerts_for` (pure), `Rule`, `DEFAULT_RULES`, `WATCHED`.
- `alerts.service.AlertsService`: the delivery worker as a daemon service (start/stop).
- `alerts.delivery.DeliveryWorker`, `alerts.policy` (backoff, token bucket, grouping, digests),
  `alerts.lease.Lease` (one worker per database).
- `alerts.channels`: `build_channel`, `channel_types`; one module per channel (slack, email,
  webhook, console, mailbox, apprise).
- `alerts.model`: `Alert`, `Delivery`; `alerts.ports`: `Channel`, `Outbox`.
- `alerts.events`: the trail (`AlertRaised`, `AlertDelivered`, `AlertFailed`); `alerts.trail`
  reads it back. `alerts.secrets.Secret` masks secrets. Errors: `alerts.errors`.
"""
