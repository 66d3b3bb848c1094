"""One destination role per source account and region, on the emulation (IAM policies and delivery enforced).

Sources of one account share the role; a source onboarded by an earlier version, with a role of its own, is moved
to the account's role by reconciliation and its own role deleted; the account's last offboarding deletes the role.
"""

import json
from datetime import UTC, datetime

from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World

ACCOUNT_ROLE = f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"


def send_audit_line(world: World, cluster: str, statement: str) -> None:
    logs = world.client("logs", SOURCE_ACCOUNT)
    group, stream = f"/aws/rds/cluster/{cluster}/postgresql", f"{cluster}-instance-1"
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    message = ("2026-11-26 10:00:00 UTC:10.0.0.5(5):app@appdb:[7]:LOG:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,"
               f"public.t,{statement},<not logged>")  # fmt: skip
    now = int(datetime.now(tz=UTC).timestamp() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": message}])


def statements(world: World) -> list[str]:
    return [record["statement"] for record in world.archived_records()]


def role_names(world: World) -> set[str]:
    return {role["RoleName"] for role in world.client("iam").list_roles(PathPrefix="/pgaudit-archiver/")["Roles"]}


def make_per_source_role(world: World, cluster: str) -> str:
    """What earlier versions left: the destination delivering with a role of the source's own (trusting both
    accounts' CloudWatch Logs of the region, allowed the one stream, tagged with the cluster), no account role."""
    iam, logs = world.client("iam"), world.client("logs")
    account_role = iam.get_role(RoleName=ACCOUNT_ROLE)["Role"]
    [destination] = logs.describe_destinations(DestinationNamePrefix=f"pgaudit-{SOURCE_ACCOUNT}-{cluster}")[
        "destinations"]  # fmt: skip
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringLike": {"aws:SourceArn": [f"arn:aws:logs:eu-west-1:{SOURCE_ACCOUNT}:*",
                                                       f"arn:aws:logs:eu-west-1:{ARCHIVE_ACCOUNT}:*"]}}}]}  # fmt: skip
    name = f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}-{cluster}"
    tags = [*account_role["Tags"], {"Key": "pgaudit-archiver:source-cluster", "Value": cluster}]
    arn = iam.create_role(
        RoleName=name, Path="/pgaudit-archiver/", AssumeRolePolicyDocument=json.dumps(trust),
        PermissionsBoundary=account_role["PermissionsBoundary"]["PermissionsBoundaryArn"], Tags=tags,
    )["Role"]["Arn"]  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": destination["targetArn"]}]}  # fmt: skip
    iam.put_role_policy(RoleName=name, PolicyName="put-records-to-source-stream", PolicyDocument=json.dumps(policy))
    for policy_name in iam.list_role_policies(RoleName=ACCOUNT_ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=ACCOUNT_ROLE, PolicyName=policy_name)
    iam.delete_role(RoleName=ACCOUNT_ROLE)
    logs.put_destination(destinationName=destination["destinationName"], targetArn=destination["targetArn"],
                         roleArn=arn)  # fmt: skip
    return name


def test_sources_of_one_account_share_one_role_until_the_last_is_offboarded():
    with World() as world:
        for cluster in ("orders", "billing"):
            world.create_cluster(cluster)
            assert world.onboard(world.request(cluster)).status == "SUCCEEDED"
        assert role_names(world) == {ACCOUNT_ROLE}
        send_audit_line(world, "orders", "create table o (id int)")
        send_audit_line(world, "billing", "create table b (id int)")
        assert sorted(statements(world)) == ["create table b (id int)", "create table o (id int)"]

        assert world.offboard("orders").status == "SUCCEEDED"
        assert role_names(world) == {ACCOUNT_ROLE}  # billing still delivers with it
        send_audit_line(world, "billing", "create table b2 (id int)")
        assert "create table b2 (id int)" in statements(world)

        assert world.offboard("billing").status == "SUCCEEDED"
        assert role_names(world) == set()
        assert world.fidelity.refused_deliveries == []
        assert world.iam.denials == []


def test_a_source_with_a_role_of_its_own_is_moved_to_the_accounts_role_by_reconciliation():
    with World() as world:
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"
        own = make_per_source_role(world, "orders")
        send_audit_line(world, "orders", "create table before (id int)")

        assert world.reconcile("orders").status == "SUCCEEDED"
        kinds = [d["kind"] for d in world.registry_item("orders")["last_verification"]["drift_details"]]
        assert kinds == ["destination-role", "destination-role-missing"]
        repair = world.wait(world.registry_item("orders")["last_verification"]["repair"])

        assert repair.status == "SUCCEEDED", repair.cause
        assert f"deleted role {own}, the source's own before roles were shared by the account" in repair.output[
            "changes"]  # fmt: skip
        assert role_names(world) == {ACCOUNT_ROLE}
        [destination] = world.client("logs").describe_destinations()["destinations"]
        assert destination["roleArn"] == f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/pgaudit-archiver/{ACCOUNT_ROLE}"
        send_audit_line(world, "orders", "create table after (id int)")
        assert statements(world) == ["create table before (id int)", "create table after (id int)"]
        assert world.iam.denials == []


def test_the_accounts_role_delivers_for_its_own_destinations_only():
    """The trust names the account's destinations: another account's destination cannot deliver with it."""
    with World() as world:
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"
        logs = world.client("logs")
        [destination] = logs.describe_destinations()["destinations"]
        borrowed = logs.put_destination(destinationName="pgaudit-999988887777-orders",
                                        targetArn=destination["targetArn"], roleArn=destination["roleArn"])  # fmt: skip

        refusal = world.iam.delivery_refusal(destination["roleArn"], destination["targetArn"], world.region,
                                             [borrowed["destination"]["arn"]])  # fmt: skip

        assert refusal is not None and "may not assume" in refusal
