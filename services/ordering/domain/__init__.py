"""Pure rules of ordering: no I/O, no clock, no wire format (docs/architecture.md)."""
