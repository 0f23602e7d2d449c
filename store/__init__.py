"""Parley's event store: an append-only, hash-chained log on SQLite or PostgreSQL.

Knows events as typed records, positions, checkpoints and integrity; knows nothing of news.
"""
