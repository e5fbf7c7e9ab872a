"""Pure billing rules: no I/O, no async."""
