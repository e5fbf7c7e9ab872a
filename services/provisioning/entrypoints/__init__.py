"""Inbound adapters: the publisher HTTP API and the Kafka consumers."""
