"""Record Failure: turn whatever a step raised into an Error and Cause that name step, cluster and AWS error."""

from __future__ import annotations

import json
import re
from typing import Any

from pgaudit_archiver import errors
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.models import Model
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.register import source_of

OUR_ERRORS = {cls.__name__ for cls in (*errors.TRANSIENT_ERRORS, *errors.PERMANENT_ERRORS)}


AWS_ERROR_CODE = re.compile(r"\(AWS error code: ([A-Za-z0-9.]+)\)")


class FailureDescription(Model):
    error: str
    cause: str
    step: str
    source: str
    aws_error_code: str | None = None


def _lambda_error(cause: str) -> tuple[str | None, str]:
    """Lambda puts {"errorType", "errorMessage", ...} in the Cause; anything else is passed through."""
    try:
        payload = json.loads(cause)
    except (TypeError, ValueError):
        return None, cause or "no cause given"
    if isinstance(payload, dict) and "errorMessage" in payload:
        return payload.get("errorType"), str(payload["errorMessage"])
    return None, cause


def describe_source(raw_request: Any) -> str:
    if isinstance(raw_request, dict):
        where = f"in account {raw_request.get('account_id', '?')} ({raw_request.get('region', '?')})"
        # A DB instance: named by instance_id in an onboarding's input, by kind once the request is resolved.
        if raw_request.get("instance_id") or raw_request.get("kind") == DatabaseKind.DB_INSTANCE:
            return f"DB instance {raw_request.get('instance_id') or raw_request.get('cluster_id', '?')} {where}"
        return f"cluster {raw_request.get('cluster_id', '?')} {where}"
    return "an unreadable request"


def describe_failure(raw_request: Any, failure: dict[str, Any], failed_step: str | None) -> FailureDescription:
    error = str(failure.get("Error") or "Unknown")
    error_type, message = _lambda_error(str(failure.get("Cause") or ""))
    step = failed_step or "an unknown step"
    source = describe_source(raw_request)
    if error in OUR_ERRORS or error_type in OUR_ERRORS:
        cause = message  # our errors already name the step, the source and the AWS error code
    else:
        kind = f"{error_type}: " if error_type and error_type != error else ""
        cause = (
            f"{step} failed for {source}: unexpected {error}: {kind}{message}. What to do: read the step's "
            "log in CloudWatch Logs, then onboard again; every step is safe to rerun"
        )
    code = AWS_ERROR_CODE.search(cause)
    return FailureDescription(
        error=error, cause=cause, step=step, source=source, aws_error_code=code.group(1) if code else None
    )


def record_failure(registry: Registry, raw_request: Any, failure: FailureDescription) -> None:
    source = source_of(raw_request)
    if source is None:
        return  # the request named no source: nothing to record against
    last_error = {"step": failure.step, "error": failure.error, "aws_error_code": failure.aws_error_code,
                  "message": failure.cause}  # fmt: skip
    registry.finish(source, SourceStatus.FAILED, {"last_error": last_error})
