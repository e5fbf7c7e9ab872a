"""HTTP routes and event consumers: thin, they parse and call one use case."""
