"""What operations see of a service: Prometheus metrics and the log context of each
request and event (docs/observability.md)."""
