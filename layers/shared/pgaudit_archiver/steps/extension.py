"""Create Extension: CREATE EXTENSION pgaudit through the RDS Data API as the owner's database user, or the exact SQL
for the owner to run. Never as the master user: the secret is the one the owner provides (steps/database_user.py).

The RDS Data API serves Aurora DB clusters only: for a Multi-AZ DB cluster or a DB instance the result is always an
action required, with the exact SQL and how the product verifies it (the audit records that reach the archive), never
a silent skip."""

from __future__ import annotations

from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.aws.secrets import SourceSecrets
from pgaudit_archiver.errors import AwsRequestError
from pgaudit_archiver.kinds import kind_of
from pgaudit_archiver.models import DatabaseFacts, ExtensionResult, ResolvedRequest
from pgaudit_archiver.steps.database_user import find_database_user_secret

CREATE_SQL = "CREATE EXTENSION IF NOT EXISTS pgaudit"
PRESENT_SQL = "SELECT 1 FROM pg_extension WHERE extname = 'pgaudit'"
DEFAULT_DATABASE = "postgres"
# Languages and their privileges belong to each database; template1 passes them on to databases created later.
# rdsadmin is RDS's own database, closed to the master user.
DATABASES_SQL = "SELECT datname FROM pg_database WHERE datallowconn AND datname <> 'rdsadmin' ORDER BY datname"
PUBLIC_USES_PLPGSQL_SQL = (
    "SELECT 1 FROM pg_language AS l, aclexplode(coalesce(l.lanacl, acldefault('l', l.lanowner))) AS a "
    "WHERE l.lanname = 'plpgsql' AND a.grantee = 0 AND a.privilege_type = 'USAGE'"
)
REVOKE_SQL = "REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC"
VERIFIED_BY_ARCHIVE = (
    "without the RDS Data API pgaudit-archiver cannot read pg_extension: it verifies that the database's audit records "
    "reach the archive, and reconciliation reports the source silent when none arrive"
)


def _manual(database: str, reason: str, request: ResolvedRequest) -> ExtensionResult:
    sql = f"{CREATE_SQL};"
    if request.revoke_plpgsql:
        sql += f" and in every database, template1 included: {REVOKE_SQL};"
    return ExtensionResult(status="manual", database=database, reason=reason, sql=sql)


def _revoke_plpgsql(
    rds_data: SourceRdsData, cluster: DatabaseFacts, secret_arn: str, database: str
) -> tuple[list[str], list[str]]:
    """Without USAGE on plpgsql no database user can write `DO $$ BEGIN RAISE LOG 'AUDIT: ...'; END $$`, a line
    byte-identical to pgaudit's. Functions already written keep running; their owners and superusers are unaffected.
    (changes, databases where PUBLIC keeps it): REVOKE by a role that may not revoke only warns, so each is checked."""
    changes, kept = [], []
    for (name,) in rds_data.execute(cluster.arn, secret_arn, database, DATABASES_SQL):
        each = str(name.get("stringValue"))
        try:
            if not rds_data.execute(cluster.arn, secret_arn, each, PUBLIC_USES_PLPGSQL_SQL):
                continue
            rds_data.execute(cluster.arn, secret_arn, each, REVOKE_SQL)
            revoked = not rds_data.execute(cluster.arn, secret_arn, each, PUBLIC_USES_PLPGSQL_SQL)
        except AwsRequestError:  # a database the database user may not connect to: reported, the others still done
            revoked = False
        if revoked:
            changes.append(f"revoked USAGE on plpgsql from PUBLIC in {each}")
        else:
            kept.append(each)
    return changes, kept


def extension_present(rds_data: SourceRdsData, cluster_arn: str, secret_arn: str, database: str) -> bool:
    """Reconciliation's check: is pgaudit's extension in the database (read as the owner's database user)?"""
    return bool(rds_data.execute(cluster_arn, secret_arn, database, PRESENT_SQL))


def ensure_extension(
    rds_data: SourceRdsData,
    secrets: SourceSecrets,
    request: ResolvedRequest,
    cluster: DatabaseFacts,
    pending_reboot: tuple[str, ...],
) -> ExtensionResult:
    database = request.database or cluster.database_name or DEFAULT_DATABASE
    kind = kind_of(cluster.kind)
    if not kind.data_api:
        reason = f"the RDS Data API serves Aurora DB clusters only, not a {kind.noun}"
        if pending_reboot:
            reason += f"; pgaudit is loaded only after {', '.join(pending_reboot)} reboot"
        return _manual(database, reason, request).model_copy(update={"verification": VERIFIED_BY_ARCHIVE})
    if pending_reboot:
        return _manual(database, f"pgaudit is loaded only after {', '.join(pending_reboot)} reboot", request)
    if not cluster.http_endpoint_enabled:
        return _manual(database, "the RDS Data API is not enabled on the cluster", request)
    secret = find_database_user_secret(secrets, request.source, request.secret_arn)
    if secret.arn is None:
        return _manual(database, str(secret.reason), request).model_copy(update={"secret_untagged": secret.untagged})
    secret_arn = secret.arn
    try:
        present = bool(rds_data.execute(cluster.arn, secret_arn, database, PRESENT_SQL))
        if not present:
            rds_data.execute(cluster.arn, secret_arn, database, CREATE_SQL)
        revoked, kept = _revoke_plpgsql(rds_data, cluster, secret_arn, database) if request.revoke_plpgsql else ([], [])
    except AwsRequestError as error:  # throttling and a resuming database are transient: the workflow retries
        # The pipeline does not need the extension; say why it was not created instead of failing.
        code = error.aws_error_code
        reason = f"the Data API refused the statement ({code}) with secret {secret_arn}: {error.message}"
        return _manual(database, reason, request).model_copy(
            update={"secret_arn": secret_arn, "secret_found_by": secret.found_by}
        )
    created = [] if present else [f"created extension pgaudit in {database}"]
    return ExtensionResult(
        status="present" if present else "created",
        database=database,
        changes=(*created, *revoked),
        plpgsql_kept_by_public=tuple(kept),
        resources={"database_user_secret": secret_arn},
        secret_arn=secret_arn,
        secret_found_by=secret.found_by,
    )
