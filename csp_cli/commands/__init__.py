"""One module per concern; `csp_cli.main` puts their commands together."""
