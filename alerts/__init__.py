"""Parley's alerts: rules over view changes, the outbox, channels and delivery."""
