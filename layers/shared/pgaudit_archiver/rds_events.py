"""The RDS events the product acts on, forwarded by each source account's stack to the archive's event bus.

Each ID is from the RDS User Guide and the Aurora User Guide, "Amazon RDS event categories and event messages":
- a new database: "DB cluster created" (RDS-EVENT-0170, category creation) for either kind of DB cluster; "DB instance
  created" (RDS-EVENT-0005), and a DB instance's restoration events "The DB instance has been restored from a
  point-in-time backup" (RDS-EVENT-0019) and "Restored from snapshot" (RDS-EVENT-0043). The DB cluster events have no
  restoration category and RDS-EVENT-0170 is their only creation event: a restored or cloned DB cluster can come only
  under it (the guides do not say so outright; a cluster no event announced is found by adoption).
- a deleted database: "DB cluster deleted" (RDS-EVENT-0171, in the Aurora User Guide's DB cluster events; the RDS User
  Guide's table lists no deletion event for Multi-AZ DB clusters: their deletion is found by reconciliation, or here
  if RDS sends it) and "The DB instance has been deleted" (RDS-EVENT-0003).

source-account/template.yaml forwards exactly these IDs and template.yaml's rule delivers them to the function
(tests/statemachine/test_event_rules.py holds the three lists equal).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.models import CLUSTER_ID_PATTERN, Source

Meaning = Literal["new", "deleted"]
CLUSTER_EVENT = "RDS DB Cluster Event"  # the detail-type of a DB cluster's events
INSTANCE_EVENT = "RDS DB Instance Event"

CLUSTER_CREATED = "RDS-EVENT-0170"
CLUSTER_DELETED = "RDS-EVENT-0171"
INSTANCE_CREATED = "RDS-EVENT-0005"
INSTANCE_RESTORED_TO_POINT_IN_TIME = "RDS-EVENT-0019"
INSTANCE_RESTORED_FROM_SNAPSHOT = "RDS-EVENT-0043"
INSTANCE_DELETED = "RDS-EVENT-0003"

# detail-type -> EventID -> what it says about the database
EVENTS: dict[str, dict[str, Meaning]] = {
    CLUSTER_EVENT: {CLUSTER_CREATED: "new", CLUSTER_DELETED: "deleted"},
    INSTANCE_EVENT: {
        INSTANCE_CREATED: "new",
        INSTANCE_RESTORED_TO_POINT_IN_TIME: "new",
        INSTANCE_RESTORED_FROM_SNAPSHOT: "new",
        INSTANCE_DELETED: "deleted",
    },
}


def _cluster_of_arn(arn: Any) -> str:
    """The cluster id in a DB cluster ARN (arn:aws:rds:<region>:<account>:cluster:<id>); empty for anything else."""
    return arn.rsplit(":cluster:", 1)[-1] if isinstance(arn, str) and ":cluster:" in arn else ""


def _instance_of_arn(arn: Any) -> str:
    """The instance id in a DB instance ARN (arn:aws:rds:<region>:<account>:db:<id>); empty for anything else."""
    return arn.rsplit(":db:", 1)[-1] if isinstance(arn, str) and ":db:" in arn else ""


def source_in(event: dict[str, Any], kind: DatabaseKind, database_id: str) -> Source | None:
    """The source an event's account and region and a database id name; None unless both are well formed."""
    account, region = str(event.get("account", "")), str(event.get("region", ""))
    if not (account.isdigit() and len(account) == 12 and re.fullmatch(CLUSTER_ID_PATTERN, database_id or "")):
        return None
    return Source(account_id=account, region=region, cluster_id=database_id.lower(), kind=kind)


def rds_event(event: dict[str, Any]) -> tuple[Meaning, Source] | None:
    """What an RDS event the product acts on says, and about which DB cluster or DB instance; None for any other.
    A DB cluster's kind (Aurora or Multi-AZ) is not in the event: it is read from the cluster, or the registry."""
    if event.get("source") != "aws.rds":
        return None
    detail = event.get("detail") or {}
    # The detail-type says what the source is: RDS-EVENT-0043 is also a DB snapshot's event ("RDS DB Snapshot Event").
    detail_type = str(event.get("detail-type") or "")
    meaning = EVENTS.get(detail_type, {}).get(str(detail.get("EventID")))
    if meaning is None:
        return None
    resources = event.get("resources") or [""]
    # AWS's own example of an "RDS DB Cluster Event" has "SourceIdentifier": "rds:my-db-cluster", captures have the
    # bare id: the ARN says which database either way.
    identifier = str(detail.get("SourceIdentifier") or "").removeprefix("rds:")
    if detail_type == CLUSTER_EVENT:
        kind = DatabaseKind.AURORA_CLUSTER
        database_id = _cluster_of_arn(detail.get("SourceArn")) or _cluster_of_arn(resources[0]) or identifier
    else:
        kind = DatabaseKind.DB_INSTANCE
        database_id = _instance_of_arn(detail.get("SourceArn")) or _instance_of_arn(resources[0]) or identifier
    source = source_in(event, kind, database_id)
    return (meaning, source) if source else None


def tag_change_source(event: dict[str, Any]) -> Source | None:
    """The DB cluster or DB instance a "Tag Change on Resource" event is about."""
    detail = event.get("detail") or {}
    if event.get("source") != "aws.tag" or detail.get("service") != "rds":
        return None
    resources = event.get("resources") or [""]
    if detail.get("resource-type") == "cluster":
        return source_in(event, DatabaseKind.AURORA_CLUSTER, _cluster_of_arn(resources[0]))
    if detail.get("resource-type") == "db":
        return source_in(event, DatabaseKind.DB_INSTANCE, _instance_of_arn(resources[0]))
    return None
