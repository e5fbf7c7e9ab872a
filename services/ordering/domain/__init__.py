"""Pure rules of ordering: no I/O, no async."""
