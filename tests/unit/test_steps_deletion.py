"""RDS's deletion events against in-memory fakes (steps/deletion.py): an onboarded source is marked deleted at once,
only when RDS confirms its database is gone or deleting; and its restoration events are new databases."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pgaudit_archiver.errors import SourceAccessDeniedError
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.models import Source
from pgaudit_archiver.rds_events import rds_event
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.auto_onboard import Decision, decide, source_of_event
from pgaudit_archiver.steps.deletion import record_deletion
from tests.unit.fakes import ACCOUNT, REGION, SOURCE, FakeRds, FakeRegistry, FakeStepFunctions
from tests.unit.test_lifecycle_reconcile import reconcile
from tests.unit.test_steps_reconcile import onboarded

INSTANCE = Source(account_id=ACCOUNT, region=REGION, cluster_id="billing", kind=DatabaseKind.DB_INSTANCE)


def rds_sent(kind: str, database_id: str, event_id: str, **changes: Any) -> dict[str, Any]:
    """An event as RDS sends it to EventBridge ("Amazon RDS event categories and event messages")."""
    instance = kind == "instance"
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:{'db' if instance else 'cluster'}:{database_id}"
    return {
        "version": "0", "id": f"event-{event_id}-{database_id}", "source": "aws.rds", "account": ACCOUNT,
        "region": REGION, "time": "2026-12-07T06:00:00Z", "resources": [arn],
        "detail-type": "RDS DB Instance Event" if instance else "RDS DB Cluster Event",
        "detail": {"EventID": event_id, "SourceArn": arn, "SourceIdentifier": database_id},
        **changes,
    }  # fmt: skip


def cluster_deleted(cluster_id: str = "orders", **changes: Any) -> dict[str, Any]:
    return rds_sent("cluster", cluster_id, "RDS-EVENT-0171", **changes)


def instance_deleted(instance_id: str = "billing") -> dict[str, Any]:
    return rds_sent("instance", instance_id, "RDS-EVENT-0003")


class Registered:
    """An onboarded (active) DB instance source `billing`, its resource id recorded."""

    def __init__(self, status: str = "active") -> None:
        self.rds = FakeRds()
        self.rds.add_instance("billing")
        self.registry = FakeRegistry()
        self.registry.finish(INSTANCE, status, {"resource_id": "db-BILLING"})  # type: ignore[arg-type]

    def deletion(self, event: dict[str, Any]) -> Decision:
        return record_deletion(event, REGION, lambda source: self.rds, self.registry)

    def item(self) -> dict[str, Any]:
        item = self.registry.get(INSTANCE)
        assert item is not None
        return item


def test_deleted_instance_event_marks_its_source_deleted_at_once() -> None:
    given = Registered()
    given.rds.instances.pop("billing")  # RDS-EVENT-0003: "The DB instance has been deleted"

    decision = given.deletion(instance_deleted())

    assert (decision.action, decision.source) == ("deleted", INSTANCE)
    item = given.item()
    assert item["status"] == "deleted"
    assert datetime.fromisoformat(item["deleted_at"]) > datetime.now(tz=UTC) - timedelta(minutes=1)
    assert item["deletion_event"]["event_id"] == "RDS-EVENT-0003"


def test_forged_deletion_event_for_a_live_database_marks_nothing() -> None:
    # Anyone the bus policy admits can put an event that reads like RDS's: RDS is asked, and the database is there.
    given = Registered()

    decision = given.deletion(instance_deleted())

    assert (decision.action, decision.reason) == ("skipped", "RDS says the database is available, not deleted")
    assert given.item()["status"] == "active" and "deleted_at" not in given.item()


def test_deletion_event_while_rds_deletes_the_database_marks_it() -> None:
    given = Registered()
    given.rds.instances["billing"]["DBInstanceStatus"] = "deleting"

    assert given.deletion(instance_deleted()).action == "deleted"
    assert given.item()["status"] == "deleted"


def test_deletion_event_after_a_new_database_took_the_name_marks_the_recorded_one() -> None:
    given = Registered()
    given.rds.instances["billing"]["DbiResourceId"] = "db-NEWCOMER"  # deleted, then another created as `billing`

    assert given.deletion(instance_deleted()).action == "deleted"


def test_deletion_event_for_a_renamed_database_is_left_to_reconciliation() -> None:
    given = Registered()
    given.rds.rename("billing", "billing-2024")  # the resource id lives on under another name

    decision = given.deletion(instance_deleted())

    assert (decision.action, decision.reason) == ("skipped", "RDS finds it renamed: left to reconciliation")
    assert given.item()["status"] == "active"


@pytest.mark.parametrize("status", ["onboarding", "offboarding", "failed", "offboarded"])
def test_deletion_event_changes_no_source_that_reconciliation_does_not_verify(status: str) -> None:
    given = Registered(status)
    given.rds.instances.pop("billing")

    assert given.deletion(instance_deleted()).action == "skipped"
    assert given.item()["status"] == status


def test_deletion_event_of_an_unregistered_database_asks_rds_nothing() -> None:
    # An Aurora cluster's members send RDS-EVENT-0003 too: the cluster's own event is the one that counts.
    given = Registered()
    given.rds.refuse("DescribeDBInstances", SourceAccessDeniedError("must not be asked", aws_error_code="X"))

    decision = given.deletion(instance_deleted("orders-1"))

    assert (decision.action, decision.reason) == ("skipped", "not a registered source")


def test_source_role_refused_is_a_failed_decision_and_the_source_stays_as_it_was() -> None:
    given = Registered()
    given.rds.refuse("DescribeDBInstances", SourceAccessDeniedError("cannot assume", aws_error_code="AccessDenied"))

    assert given.deletion(instance_deleted()).action == "failed"
    assert given.item()["status"] == "active"


def test_deletion_event_of_another_region_is_not_this_stacks() -> None:
    given = Registered()
    given.rds.instances.pop("billing")

    decision = given.deletion({**instance_deleted(), "region": "us-east-1"})

    assert decision.action == "skipped" and given.item()["status"] == "active"


def test_the_grace_period_runs_from_the_event_and_reconciliation_keeps_it() -> None:
    pipeline = onboarded()
    reconcile(pipeline)  # the resource id recorded
    pipeline.rds.clusters.pop("orders")
    marked = record_deletion(cluster_deleted(), REGION, lambda source: pipeline.rds, pipeline.registry)
    deleted_at = pipeline.item()["deleted_at"]

    result = reconcile(pipeline)
    long_ago = (datetime.now(tz=UTC) - timedelta(days=31)).isoformat(timespec="seconds")
    again = record_deletion(cluster_deleted(id="redelivered"), REGION, lambda source: pipeline.rds, pipeline.registry)

    assert (marked.action, marked.source) == ("deleted", SOURCE)
    assert (result.status, pipeline.item()["deleted_at"]) == ("deleted", deleted_at)
    assert again.action == "skipped"
    pipeline.registry.set_fields(SOURCE, {"deleted_at": long_ago})
    assert reconcile(pipeline, DELETED_SOURCE_GRACE_DAYS="30").status == "offboarding"


def test_multi_az_cluster_source_keeps_its_kind_when_its_deletion_is_recorded() -> None:
    rds, registry = FakeRds(), FakeRegistry()
    rds.add_multi_az_cluster("ledger")
    ledger = Source(account_id=ACCOUNT, region=REGION, cluster_id="ledger", kind=DatabaseKind.MULTI_AZ_CLUSTER)
    registry.finish(ledger, "active", {"resource_id": "cluster-LEDGER"})  # type: ignore[arg-type]
    rds.clusters.pop("ledger")

    decision = record_deletion(cluster_deleted("ledger"), REGION, lambda source: rds, registry)

    assert (decision.action, decision.source) == ("deleted", ledger)
    assert registry.get(ledger)["kind"] == "multi-az-cluster"  # type: ignore[index]


# ------------------------------------------------------------------------------------------ restoration events
@pytest.mark.parametrize("event_id", ["RDS-EVENT-0019", "RDS-EVENT-0043"])
def test_restored_instance_is_a_new_database_onboarded_by_the_same_consent_rule(event_id: str) -> None:
    rds, registry, stepfunctions = FakeRds(), FakeRegistry(), FakeStepFunctions()
    rds.add_instance("billing-restored")  # its owner consented (tagged pgaudit-archiver=enabled)
    rds.add_instance("scratch-restored", consent=False)
    service = ClusterService(registry, stepfunctions, "arn:aws:states:eu-west-1:123456789012:stateMachine:onboard",
                             "", ())  # fmt: skip

    started = decide(rds_sent("instance", "billing-restored", event_id), "tagged", REGION, lambda s: rds, registry,
                     service)  # fmt: skip
    skipped = decide(rds_sent("instance", "scratch-restored", event_id), "tagged", REGION, lambda s: rds, registry,
                     service)  # fmt: skip

    assert started.action == "started"
    assert (skipped.action, skipped.reason) == (
        "skipped", "the owner has not consented: not tagged pgaudit-archiver=enabled"
    )  # fmt: skip


def test_a_db_snapshots_event_of_the_same_id_is_no_database() -> None:
    # RDS-EVENT-0043 is also a DB snapshot's event ("RDS DB Snapshot Event"), its source a snapshot.
    snapshot = rds_sent("instance", "billing", "RDS-EVENT-0043", **{"detail-type": "RDS DB Snapshot Event"})
    snapshot["detail"]["SourceArn"] = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:billing-snap"

    assert source_of_event(snapshot) is None and rds_event(snapshot) is None


def test_deletion_events_are_not_creations_and_creations_are_not_deletions() -> None:
    assert source_of_event(instance_deleted()) is None
    assert rds_event(rds_sent("instance", "billing", "RDS-EVENT-0005")) == ("new", INSTANCE)
    assert rds_event(cluster_deleted()) == ("deleted", SOURCE)


def test_a_source_claimed_while_rds_was_asked_is_left_to_the_claiming_workflow() -> None:
    # The item is read (active), RDS is asked; meanwhile an onboarding of a new database under the name claims it.
    given = Registered()
    given.rds.instances.pop("billing")
    claimed_meanwhile = given.rds.describe_instance

    def describe_while_claimed(identifier: str) -> Any:
        given.registry.finish(INSTANCE, "onboarding", {})  # type: ignore[arg-type]
        return claimed_meanwhile(identifier)

    given.rds.describe_instance = describe_while_claimed  # type: ignore[method-assign]

    decision = given.deletion(instance_deleted())

    assert (decision.action, decision.reason) == ("skipped", "claimed by a workflow while RDS was asked: left to it")
    assert given.item()["status"] == "onboarding" and "deleted_at" not in given.item()
