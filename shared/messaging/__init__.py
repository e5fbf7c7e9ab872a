"""Kafka plumbing shared by the services: broker factory, outbox relay, inbox consumer."""
