"""Use cases: load, call the domain, save, emit, all inside the caller's unit of work."""
