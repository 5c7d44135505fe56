"""Benchmarks: run the scripts here from the repository root (see bench/README.md)."""
