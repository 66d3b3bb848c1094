"""Project errors. A class name here is the Step Functions error name that Retry and Catch match.

TransientError subclasses are retried by the state machine; every other ArchiverError is permanent and is
routed to the failure path. A test checks that each Retry and Catch in the ASL names these classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pgaudit_archiver.audit_policy import Rule

# Error codes AWS services use for throttling; each service spells it its own way.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "ServiceFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
        "DatabaseResumingException",  # Aurora Serverless v2 waking up (RDS Data API)
    }
)


class ArchiverError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str, *, aws_error_code: str | None = None, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.aws_error_code = aws_error_code
        self.remedy = remedy
        self.step: str | None = None
        self.source: str | None = None

    def add_context(self, *, step: str, source: str | None) -> ArchiverError:
        self.step = self.step or step
        self.source = self.source or source
        return self

    def __str__(self) -> str:
        parts = []
        if self.step:
            parts.append(f"{self.step} failed")
        if self.source:
            parts.append(f"for {self.source}")
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.aws_error_code:
            text += f" (AWS error code: {self.aws_error_code})"
        if self.remedy:
            text += f". What to do: {self.remedy}"
        return text


class TransientError(ArchiverError):
    """Worth retrying: the same request may succeed in a moment."""


class ThrottledError(TransientError):
    """AWS throttled the call."""


class AwsServiceUnavailableError(TransientError):
    """AWS answered with a server-side failure."""


class RoleNotReadyError(TransientError):
    """A freshly created IAM role is not usable yet (IAM is eventually consistent)."""


class InvalidRequestError(ArchiverError):
    """The onboarding request is malformed; nothing was changed."""


class RegionNotArchivedError(InvalidRequestError):
    """The database is in a region this stack does not archive: a CloudWatch Logs destination must be in the log
    group's region, so each region needs its own stack (each cluster of a global database is a source of its own
    region)."""


class ClusterNotEligibleError(ArchiverError):
    """The cluster cannot be onboarded (missing, wrong engine, wrong region, unusable status)."""


class ConsentRequiredError(ClusterNotEligibleError):
    """The database's owner has not consented (consent.py): the API answers 409 with the commands that grant it.
    Workflows raise ClusterNotEligibleError for the same, the name their Catch matches."""

    def __init__(self, message: str, *, commands: list[str], remedy: str) -> None:
        super().__init__(message, remedy=remedy)
        self.commands = commands


class SourceAccessDeniedError(ArchiverError):
    """The source account's role could not be assumed, or it refused a call."""


class SubscriptionSlotsFullError(ArchiverError):
    """The log group has no free subscription filter slot and none of the filters there is ours."""


class ResourceConflictError(ArchiverError):
    """A resource with the name we need exists and is not ours."""


class WaitTimeoutError(ArchiverError):
    """AWS did not reach the awaited state within the bounded number of polls."""


class ConfigurationError(ArchiverError):
    """The function's environment is wrong: a deployment problem, not a request problem."""


class AwsRequestError(ArchiverError):
    """AWS refused a call for a reason retrying will not fix."""


class QuotaExceededError(ArchiverError):
    """Onboarding would pass an AWS quota (IAM roles, Firehose streams): raise it first."""


# Raised by the API only (functions/api/app.py maps each to its HTTP status); no workflow state raises them.
class ForbiddenError(ArchiverError):
    """The caller may not act on this source."""


class AuditPolicyError(ForbiddenError):
    """The request goes below the archive's minimum audit policy, or reduces auditing, and the caller may not."""

    def __init__(self, message: str, *, rule: Rule, remedy: str) -> None:
        super().__init__(message, remedy=remedy)
        self.rule = rule


class NotFoundError(ArchiverError):
    """No such source in the registry."""


class AdoptionRunningError(ArchiverError):
    """The account has an adoption running already (one at a time: two would race for the same clusters)."""

    def __init__(self, message: str, *, adoption_id: str, status_path: str) -> None:
        super().__init__(message, remedy=f"follow it at {status_path}, and adopt again once it has ended")
        self.adoption_id = adoption_id
        self.status_path = status_path


class AccountRateLimitedError(ArchiverError):
    """The account started its executions of this minute (AccountExecutionsPerMinute)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, remedy=f"retry after {retry_after} s")
        self.retry_after = retry_after


class Refusal(Exception):
    """What the API handler answers before routing: an HTTP status and why (not an ArchiverError: no step)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


TRANSIENT_ERRORS: tuple[type[TransientError], ...] = (ThrottledError, AwsServiceUnavailableError, RoleNotReadyError)
PERMANENT_ERRORS: tuple[type[ArchiverError], ...] = (
    InvalidRequestError,
    RegionNotArchivedError,
    ClusterNotEligibleError,
    SourceAccessDeniedError,
    SubscriptionSlotsFullError,
    ResourceConflictError,
    WaitTimeoutError,
    ConfigurationError,
    AwsRequestError,
    QuotaExceededError,
)


class AwsRefusal(Protocol):
    """What a botocore ClientError carries. Only the data-access layer (aws/) catches ClientError; this module
    reads the error without importing botocore."""

    @property
    def response(self) -> Mapping[str, Any]: ...

    @property
    def operation_name(self) -> str: ...


def error_code(error: AwsRefusal) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def from_client_error(error: AwsRefusal) -> ArchiverError:
    """The project error the state machine understands for AWS's refusal of a call (aws/ translates every one)."""
    code = error_code(error)
    operation = error.operation_name
    detail = error.response.get("Error", {}).get("Message", "")
    message = f"{operation} was refused: {detail}" if detail else f"{operation} was refused"
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    if code in THROTTLING_CODES:
        return ThrottledError(message, aws_error_code=code, remedy="none; the workflow retries with backoff")
    if code in UNAVAILABLE_CODES or status >= 500:
        return AwsServiceUnavailableError(message, aws_error_code=code, remedy="none; the workflow retries")
    if code.startswith("AccessDenied") or code in {"UnauthorizedOperation", "AuthorizationError"}:
        return AwsRequestError(
            message,
            aws_error_code=code,
            remedy="check that the calling role allows this action (deploy the current templates)",
        )
    return AwsRequestError(message, aws_error_code=code)
