"""What every workflow step's handler shares: errors named for the state machine, with step and source."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from pgaudit_archiver.errors import ArchiverError, from_client_error
from pgaudit_archiver.steps.failure import describe_source

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def workflow_step(step: str) -> Callable[[Handler], Handler]:
    """Raise ArchiverErrors (their class name is the Step Functions error) naming `step` and the source."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return handler(event, context)
            except ArchiverError as error:
                error.add_context(step=step, source=_source_of(event))
                raise
            except ClientError as error:
                raise from_client_error(error).add_context(step=step, source=_source_of(event)) from error

        return wrapper

    return decorate


def _source_of(event: Any) -> str | None:
    request = event.get("request") if isinstance(event, dict) else None
    return describe_source(request) if isinstance(request, dict) else None
