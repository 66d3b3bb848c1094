"""The delivery canary: a marked, harmless statement run on the source, timed until its audit record arrives.

Reconciliation sends one per run to each source that asked for it (`canary: true`) and whose cluster has the
RDS Data API and a database user's secret (the owner's, never the master user's: steps/database_user.py); the
transform notices the marked record on its way to the bucket and records when
it arrived. A canary still missing after the bound counts as drift. pgaudit logs the SELECT only when
pgaudit.log covers the read class.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.secrets import SourceSecrets
from pgaudit_archiver.errors import ArchiverError
from pgaudit_archiver.models import DatabaseFacts, Drift, Source
from pgaudit_archiver.steps.database_user import find_database_user_secret

MARK = "pgaudit-archiver canary "
CANARY_IN_STATEMENT = re.compile(r"pgaudit-archiver canary ([0-9a-f]{32})")
DEFAULT_DATABASE = "postgres"


def read_class_logged(pgaudit_log: str | None) -> bool:
    classes = [item.strip() for item in (pgaudit_log or "").split(",")]
    return "-read" not in classes and ("read" in classes or "all" in classes)


def overdue(canary: dict[str, Any] | None, bound_seconds: int, now: datetime) -> Drift | None:
    """Drift when the last canary was sent longer than the bound ago and has not arrived."""
    if not canary or canary.get("arrived_at"):
        return None
    sent = datetime.fromisoformat(canary["sent_at"])
    waited = (now - sent).total_seconds()
    if waited <= bound_seconds:
        return None
    return Drift(
        kind="canary-late",
        resource=str(canary["id"]),
        expected=f"in the archive within {bound_seconds} s",
        actual=f"{int(waited)} s (sent at {canary['sent_at']})",
    )


def send_canary(
    rds_data: SourceRdsData,
    secrets: SourceSecrets,
    registry: Registry,
    source: Source,
    request: dict[str, Any],
    cluster: DatabaseFacts,
) -> str | None:
    """Run the marked SELECT as the owner's database user; returns why it was not sent, or None."""
    if not read_class_logged(request.get("pgaudit_log")):
        return "pgaudit.log does not cover the read class, so pgaudit would not log the canary's SELECT"
    if not cluster.http_endpoint_enabled:  # never for a DB instance or a Multi-AZ DB cluster: Aurora only
        return "the RDS Data API is not enabled on the cluster"
    found = find_database_user_secret(secrets, source, request.get("secret_arn"))
    if found.arn is None:
        return f"no database user to send it as: {found.reason}"
    secret = found.arn
    canary_id = uuid.uuid4().hex
    sent_at = datetime.now(tz=UTC).isoformat(timespec="milliseconds")
    database = request.get("database") or cluster.database_name or DEFAULT_DATABASE
    try:
        rds_data.execute(cluster.arn, secret, database, f"SELECT '{MARK}{canary_id}'")
    except ArchiverError as error:  # throttled too: the next reconciliation sends the next canary
        return f"the Data API refused the canary ({error.aws_error_code})"
    registry.set_fields(source, {"canary": {"id": canary_id, "sent_at": sent_at}})
    return None


def record_arrivals(registry: Registry, records: list[dict[str, Any]], arrived: datetime) -> list[float]:
    """The transform's part: canary records passing through mark their canary arrived; returns the delays."""
    delays = []
    for record in records:
        match = CANARY_IN_STATEMENT.search(record.get("statement") or "")
        if match is None or not record.get("account"):
            continue
        source = Source(account_id=record["account"], region=record["region"], cluster_id=record["cluster"])
        delay = registry.canary_arrived(source, match.group(1), arrived)
        if delay is not None:
            delays.append(delay)
    return delays
