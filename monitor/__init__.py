"""Parley's monitor: sources, fetching, posts and revisions, claims, views, the daemon and the CLI."""
