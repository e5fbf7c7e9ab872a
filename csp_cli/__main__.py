"""`python -m csp_cli`: the same as the `csp` script."""

from csp_cli.main import app

app(prog_name="csp")
