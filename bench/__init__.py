"""Parley's benchmarks: `make bench` runs every `bench/*_bench.py` (not tests; no assertions on time)."""
