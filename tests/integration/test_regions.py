"""One account and cluster id onboarded from two regions: IAM names are global, destinations are regional.

The archive stack is deployed in eu-west-1 and us-east-1 (World.in_region); the source account's one role trusts
both regions' archive roles. Each region's destination must deliver with a role of its own.
"""

import json
from datetime import UTC, datetime

from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World

SECOND_REGION = "us-east-1"
LEGACY_ROLE = f"pgaudit-dest-{SOURCE_ACCOUNT}-orders"  # the name before names carried the region


def send_audit_line(world: World, cluster: str, statement: str) -> None:
    logs = world.client("logs", SOURCE_ACCOUNT)
    group, stream = f"/aws/rds/cluster/{cluster}/postgresql", f"{cluster}-instance-1"
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {
                "timestamp": int(datetime.now(tz=UTC).timestamp() * 1000),
                "message": "2026-11-26 10:00:00 UTC:10.0.0.5(5):app@appdb:[7]:LOG:  AUDIT: SESSION,1,1,DDL,"
                f"CREATE TABLE,TABLE,public.t,{statement},<not logged>",
            }
        ],
    )


def statements(world: World) -> list[str]:
    return [record["statement"] for record in world.archived_records()]


def role_names(world: World) -> set[str]:
    return {role["RoleName"] for role in world.client("iam").list_roles(PathPrefix="/pgaudit-archiver/")["Roles"]}


def test_a_cluster_id_onboarded_in_two_regions_delivers_in_both_and_offboarding_one_leaves_the_other():
    with World() as first:
        second = first.in_region(SECOND_REGION)
        for world in (first, second):
            world.create_cluster("orders")
            execution = world.onboard(world.request("orders"))
            assert execution.status == "SUCCEEDED", execution.cause

        assert role_names(first) == {
            f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}",
            f"pgaudit-dest-us-east-1-{SOURCE_ACCOUNT}",
        }
        send_audit_line(first, "orders", "create table eu (id int)")
        send_audit_line(second, "orders", "create table us (id int)")
        assert statements(first) == ["create table eu (id int)"]
        assert statements(second) == ["create table us (id int)"]
        assert first.fidelity.refused_deliveries == []
        for world in (first, second):
            assert world.reconcile("orders").status == "SUCCEEDED"
            assert world.registry_item("orders")["last_verification"]["drift"] == []

        assert second.offboard("orders").status == "SUCCEEDED"

        assert role_names(first) == {f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"}
        send_audit_line(first, "orders", "create table eu2 (id int)")
        assert statements(first) == ["create table eu (id int)", "create table eu2 (id int)"]
        assert first.fidelity.refused_deliveries == []
        assert first.iam.denials == []


def make_legacy(world: World, cluster: str) -> str:
    """What an earlier version left: the destination delivering with a role named without the region."""
    iam, logs = world.client("iam"), world.client("logs")
    current = f"pgaudit-dest-{world.region}-{SOURCE_ACCOUNT}"  # the account's role, moved to the legacy name
    role = iam.get_role(RoleName=current)["Role"]
    legacy = iam.create_role(
        RoleName=LEGACY_ROLE,
        Path="/pgaudit-archiver/",
        AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
        PermissionsBoundary=role["PermissionsBoundary"]["PermissionsBoundaryArn"],
        Tags=role["Tags"],
    )["Role"]["Arn"]
    for name in iam.list_role_policies(RoleName=current)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=current, PolicyName=name)["PolicyDocument"]
        iam.put_role_policy(RoleName=LEGACY_ROLE, PolicyName=name, PolicyDocument=json.dumps(document))
        iam.delete_role_policy(RoleName=current, PolicyName=name)
    iam.delete_role(RoleName=current)
    [destination] = logs.describe_destinations()["destinations"]
    logs.put_destination(
        destinationName=destination["destinationName"], targetArn=destination["targetArn"], roleArn=legacy
    )
    return legacy


def test_a_source_onboarded_with_the_legacy_role_is_moved_to_the_regional_role_by_reconciliation():
    with World() as world:
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"
        legacy = make_legacy(world, "orders")
        send_audit_line(world, "orders", "create table before (id int)")

        assert world.reconcile("orders").status == "SUCCEEDED"
        kinds = [d["kind"] for d in world.registry_item("orders")["last_verification"]["drift_details"]]
        assert kinds == ["destination-role", "destination-role-missing"]
        repair = world.wait(world.registry_item("orders")["last_verification"]["repair"])

        assert repair.status == "SUCCEEDED", repair.cause
        regional = f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"
        assert f"deleted role {LEGACY_ROLE}, named before role names carried the region" in repair.output["changes"]
        assert role_names(world) == {regional}
        [destination] = world.client("logs").describe_destinations()["destinations"]
        assert destination["roleArn"] == f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/pgaudit-archiver/{regional}" != legacy
        send_audit_line(world, "orders", "create table after (id int)")
        assert statements(world) == ["create table before (id int)", "create table after (id int)"]
        assert world.iam.denials == []


def test_offboarding_a_source_onboarded_with_the_legacy_role_deletes_it():
    with World() as world:
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"
        make_legacy(world, "orders")

        execution = world.offboard("orders")

        assert execution.status == "SUCCEEDED", execution.cause
        assert role_names(world) == set()
        assert world.iam.denials == []


def test_a_legacy_role_another_region_rewrote_is_left_to_that_region():
    """Before names carried the region, onboarding from us-east-1 rewrote eu-west-1's role: eu-west-1 stopped
    delivering. Reconciliation in eu-west-1 now says so, and its repair leaves the role us-east-1 delivers with."""
    with World() as first:
        first.create_cluster("orders")
        assert first.onboard(first.request("orders")).status == "SUCCEEDED"
        make_legacy(first, "orders")
        iam = first.client("iam")
        trust = iam.get_role(RoleName=LEGACY_ROLE)["Role"]["AssumeRolePolicyDocument"]
        rewritten = json.loads(json.dumps(trust).replace("eu-west-1", SECOND_REGION))
        iam.update_assume_role_policy(RoleName=LEGACY_ROLE, PolicyDocument=json.dumps(rewritten))
        send_audit_line(first, "orders", "create table lost (id int)")
        assert first.fidelity.refused_deliveries  # the silent loss this fixes

        assert first.reconcile("orders").status == "SUCCEEDED"
        repair = first.wait(first.registry_item("orders")["last_verification"]["repair"])

        assert repair.status == "SUCCEEDED", repair.cause
        assert role_names(first) == {LEGACY_ROLE, f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"}
        assert iam.get_role(RoleName=LEGACY_ROLE)["Role"]["AssumeRolePolicyDocument"] == rewritten
        send_audit_line(first, "orders", "create table kept (id int)")
        assert statements(first) == ["create table kept (id int)"]
        assert first.iam.denials == []
