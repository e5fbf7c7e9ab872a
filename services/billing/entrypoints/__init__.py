"""Thin HTTP and Kafka entrypoints of the billing service."""
