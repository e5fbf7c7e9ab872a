"""Benchmarks: measured figures of the running system (`make bench`); never part of `make test`."""
