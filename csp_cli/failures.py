"""What can go wrong in an expected way: each is one line for the operator and an exit
code, never a traceback (`main.CspGroup` prints them)."""

from __future__ import annotations

from typing import Any

# Exit codes (docs/cli.md): click's own usage errors are 2 as well.
FAILED = 1  # the API refused, or a service could not be reached
USAGE = 2  # something the command needs was not given
WAIT_RAN_OUT = 3  # the change was made, but what it waited for did not happen in time


class CliFailure(Exception):
    exit_code = FAILED


class UsageFailure(CliFailure):
    exit_code = USAGE


class WaitRanOut(CliFailure):
    exit_code = WAIT_RAN_OUT


class ApiError(CliFailure):
    """An HTTP error answer, with the API's own `{"error": {code, message, target}}`."""

    def __init__(
        self,
        service: str,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        self.service, self.status, self.code = service, status, code
        self.message, self.target = message, target
        self.body = body or {}  # the whole JSON answer: some add fields beside `error`
        where = f" (target: {target})" if target else ""
        super().__init__(f"{service} answered {status} {code}: {message}{where}")


class Unreachable(CliFailure):
    """A service did not answer at all."""
