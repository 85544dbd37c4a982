"""Benchmarks run by hand against a throw-away database (docs/performance.md)."""
