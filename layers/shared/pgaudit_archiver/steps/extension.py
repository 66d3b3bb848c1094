"""Create Extension: CREATE EXTENSION pgaudit through the RDS Data API, or the exact SQL for the user to run."""

from __future__ import annotations

from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.errors import AwsRequestError
from pgaudit_archiver.models import ClusterFacts, ExtensionResult, ResolvedRequest

CREATE_SQL = "CREATE EXTENSION IF NOT EXISTS pgaudit"
PRESENT_SQL = "SELECT 1 FROM pg_extension WHERE extname = 'pgaudit'"
DEFAULT_DATABASE = "postgres"


def _manual(database: str, reason: str) -> ExtensionResult:
    return ExtensionResult(status="manual", database=database, reason=reason)


def ensure_extension(
    rds_data: SourceRdsData, request: ResolvedRequest, cluster: ClusterFacts, pending_reboot: tuple[str, ...]
) -> ExtensionResult:
    database = request.database or cluster.database_name or DEFAULT_DATABASE
    if pending_reboot:
        return _manual(database, f"pgaudit is loaded only after {', '.join(pending_reboot)} reboot")
    if not cluster.http_endpoint_enabled:
        return _manual(database, "the RDS Data API is not enabled on the cluster")
    secret_arn = request.secret_arn or cluster.master_secret_arn
    if not secret_arn:
        return _manual(database, "the cluster has no managed master secret and the request names no secret_arn")
    try:
        if rds_data.execute(cluster.arn, secret_arn, database, PRESENT_SQL):
            return ExtensionResult(status="present", database=database)
        rds_data.execute(cluster.arn, secret_arn, database, CREATE_SQL)
    except AwsRequestError as error:  # throttling and a resuming database are transient: the workflow retries
        # The pipeline does not need the extension; say why it was not created instead of failing.
        return _manual(database, f"the Data API refused the statement ({error.aws_error_code}): {error.message}")
    return ExtensionResult(status="created", database=database, changes=(f"created extension pgaudit in {database}",))
