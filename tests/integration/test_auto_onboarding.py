"""Automatic onboarding from the source accounts' forwarded cluster events."""

import pytest

from local import SOURCE_ACCOUNT, World
from local.world import DB_INSTANCE

UNDEPLOYED_ACCOUNT = "777788889999"


def executions(world):
    arn = world.resources["OnboardStateMachine"]
    return world.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]


@pytest.fixture
def tagged_world():
    parameters = {"AutoOnboard": "tagged", "AllowedAccountIds": f"{SOURCE_ACCOUNT},{UNDEPLOYED_ACCOUNT}"}
    with World(parameters=parameters) as world:
        yield world


def test_created_event_onboards_a_tagged_cluster_and_skips_an_untagged_one(tagged_world):
    world = tagged_world
    world.create_cluster("tagged", tags={"pgaudit-archiver": "enabled"})
    world.create_cluster("untagged", consent=False)

    started = world.send_cluster_event(world.cluster_created_event("tagged"))
    skipped = world.send_cluster_event(world.cluster_created_event("untagged"))

    assert started["action"] == "started"
    assert world.wait(started["execution_arn"]).status == "SUCCEEDED"
    assert world.registry_item("tagged")["status"] == "pending-reboot"
    assert skipped == {**skipped, "action": "skipped", "execution_arn": None}
    assert "not tagged pgaudit-archiver=enabled" in skipped["reason"]
    assert world.registry_item("untagged") is None


def test_instance_created_event_onboards_a_consented_db_instance_by_instance_id(tagged_world):
    world = tagged_world
    world.create_instance("tagged-instance", tags={"pgaudit-archiver": "enabled"})
    event = world.database_created_event(DB_INSTANCE, "tagged-instance")

    started = world.send_cluster_event(event)

    assert (event["detail-type"], event["detail"]["EventID"]) == ("RDS DB Instance Event", "RDS-EVENT-0005")
    assert started["action"] == "started"
    assert world.wait(started["execution_arn"]).status == "SUCCEEDED"
    assert world.registry_item("instance--tagged-instance")["kind"] == "db-instance"


def test_tagging_a_cluster_enabled_later_onboards_it(tagged_world):
    world = tagged_world
    world.create_cluster("later", consent=False)
    world.grant_consent("later")
    decision = world.send_cluster_event(world.tag_change_event("later", {"pgaudit-archiver": "enabled"}))
    assert decision["action"] == "started"


def test_duplicate_events_start_one_execution(tagged_world):
    world = tagged_world
    world.create_cluster("tagged", tags={"pgaudit-archiver": "enabled"})
    event = world.cluster_created_event("tagged")

    first = world.send_cluster_event(event)
    second = world.send_cluster_event(event)

    assert second == first
    assert len(executions(world)) == 1


def test_disabled_tag_and_other_engines_are_never_onboarded():
    with World(parameters={"AutoOnboard": "all"}) as world:
        world.create_cluster("opted-out", tags={"pgaudit-archiver": "disabled"})
        world.create_cluster("mysql", engine="aurora-mysql", engine_version="8.0.mysql_aurora.3.05.2")
        world.create_cluster("plain", consent=False)
        world.create_cluster("consented")
        decisions = {name: world.send_cluster_event(world.cluster_created_event(name))
                     for name in ("opted-out", "mysql", "plain", "consented")}  # fmt: skip
        assert decisions["opted-out"]["reason"] == "tagged pgaudit-archiver=disabled"
        assert decisions["mysql"]["reason"] == "engine aurora-mysql is not aurora-postgresql"
        # AutoOnboard all still needs the owner's consent: the source role could change nothing without it
        assert decisions["plain"]["reason"] == "the owner has not consented: not tagged pgaudit-archiver=enabled"
        assert decisions["consented"]["action"] == "started"
        assert len(executions(world)) == 1


def test_off_onboards_nothing():
    with World(parameters={"AutoOnboard": "off"}) as world:
        world.create_cluster("orders", tags={"pgaudit-archiver": "enabled"})
        assert world.send_cluster_event(world.cluster_created_event("orders"))["reason"] == "AutoOnboard is off"
        assert executions(world) == []


def test_event_from_an_account_without_the_source_role_ends_failed_in_the_registry(tagged_world):
    decision = tagged_world.send_cluster_event(tagged_world.cluster_created_event("orders", account=UNDEPLOYED_ACCOUNT))
    assert decision["action"] == "failed"
    item = tagged_world.registry_item("orders", account=UNDEPLOYED_ACCOUNT)
    assert item["status"] == "failed"
    assert item["last_error"]["aws_error_code"] == "AccessDenied"
    assert f"deploy source-account/template.yaml in account {UNDEPLOYED_ACCOUNT}" in item["last_error"]["message"]


def test_event_from_an_account_the_bus_does_not_accept_is_refused(tagged_world):
    assert tagged_world.send_cluster_event(tagged_world.cluster_created_event("x", account="123412341234")) is None


def test_created_event_in_aws_s_documented_form_onboards_the_cluster(tagged_world):
    world = tagged_world
    world.create_cluster("documented", tags={"pgaudit-archiver": "enabled"})
    event = world.cluster_created_event("documented")
    event["detail"]["SourceIdentifier"] = "rds:documented"  # as in AWS's example of an RDS DB Cluster Event

    decision = world.send_cluster_event(event)

    assert decision["action"] == "started"
    assert world.wait(decision["execution_arn"]).status == "SUCCEEDED"


# ------------------------------------------------------------------------------------------ restores and deletions
def test_restored_instance_events_are_forwarded_and_onboard_the_consented_copy(tagged_world):
    world = tagged_world
    world.create_instance("billing", consent=False)
    world.restore_database(DB_INSTANCE, "billing", "billing-copy")
    world.restore_database(DB_INSTANCE, "billing", "billing-pitr", point_in_time=True)
    world.grant_instance_consent("billing-copy")

    from_snapshot = world.emit_rds_event(world.database_restored_event(DB_INSTANCE, "billing-copy"))
    to_point_in_time = world.emit_rds_event(
        world.database_restored_event(DB_INSTANCE, "billing-pitr", point_in_time=True)
    )

    assert from_snapshot["action"] == "started"
    assert world.wait(from_snapshot["execution_arn"]).status == "SUCCEEDED"
    # The same consent rule as for a created database: the copy's owner did not consent.
    assert (to_point_in_time["action"], to_point_in_time["reason"]) == (
        "skipped", "the owner has not consented: not tagged pgaudit-archiver=enabled"
    )  # fmt: skip


def test_deletion_event_marks_an_onboarded_instance_deleted_and_a_forged_one_marks_nothing(tagged_world):
    world = tagged_world
    world.create_instance("billing", tags={"pgaudit-archiver": "enabled"})
    onboarded = world.send_cluster_event(world.database_created_event(DB_INSTANCE, "billing"))
    assert world.wait(onboarded["execution_arn"]).status == "SUCCEEDED"
    assert world.registry_item("instance--billing")["resource_id"]  # recorded by onboarding

    # A principal of the source account with PutEvents on the archive bus (its policy admits the whole account) puts
    # RDS's deletion event for the live database, straight on the bus.
    forged = world.send_cluster_event(world.database_deleted_event(DB_INSTANCE, "billing"))

    assert forged["action"] == "skipped" and "not deleted" in forged["reason"]
    assert world.registry_item("instance--billing")["status"] in ("active", "pending-reboot")

    world.delete_database(DB_INSTANCE, "billing")
    deleted = world.emit_rds_event(world.database_deleted_event(DB_INSTANCE, "billing"))

    item = world.registry_item("instance--billing")
    assert deleted["action"] == "deleted"
    assert (item["status"], item["deletion_event"]["event_id"]) == ("deleted", "RDS-EVENT-0003")
    assert item["deleted_at"]
