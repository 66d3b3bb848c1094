"""What several integration tests set up."""

import io
import zipfile

from local import SOURCE_ACCOUNT, World


def foreign_function(world) -> str:
    """A Lambda function of the source account's own, to stand for somebody else's subscription."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("f.py", "def h(e, c):\n    return None\n")
    iam = world.client("iam", SOURCE_ACCOUNT)
    role = iam.create_role(RoleName="foreign", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return world.client("lambda", SOURCE_ACCOUNT).create_function(
        FunctionName="foreign", Runtime="python3.13", Handler="f.h", Role=role, Code={"ZipFile": buffer.getvalue()}
    )["FunctionArn"]


def resources_once(world: World, cluster: str) -> None:
    """Each resource exists once."""
    streams = world.client("firehose").list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    assert streams.count(f"pgaudit-{SOURCE_ACCOUNT}-{cluster}") <= 1
    roles = [r["RoleName"] for r in world.client("iam").list_roles(PathPrefix="/pgaudit-archiver/")["Roles"]]
    assert len(roles) == len(set(roles))
    logs = world.client("logs", SOURCE_ACCOUNT)
    group = f"/aws/rds/cluster/{cluster}/postgresql"
    if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        filters = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        assert len(filters) <= 1


# A reconciliation run of one source that found nothing to repair (its execution's output).
CLEAN_RUN = {
    "registered": 1,
    "checked": 1,
    "drifted": 0,
    "repairing": 0,
    "unverified": 0,
    "silent": 0,
    "canaries_late": 0,
    "longest_without_delivery_minutes": 0,
    "unfinished_segments": 0,
    "coverage": 100.0,
}


# The settings of a DB (cluster) parameter group that loads pgaudit and audits everything (fidelity tests).
PGAUDIT = {"shared_preload_libraries": "pg_stat_statements,pgaudit", "pgaudit.log": "all"}


def source_rds(world: World):
    """The first source account's RDS client, as its owner uses it."""
    return world.client("rds", SOURCE_ACCOUNT)
