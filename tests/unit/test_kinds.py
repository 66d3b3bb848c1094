"""The three kinds of database: names that never collide across namespaces, and onboarding's steps for a Multi-AZ DB
cluster and a DB instance against the in-memory RDS (the Aurora cases are in the test_steps_* modules)."""

from collections.abc import Callable
from typing import Any

import pytest

from pgaudit_archiver.aws.rds import cluster_facts
from pgaudit_archiver.aws.registry import source_key, source_of_item
from pgaudit_archiver.errors import ClusterNotEligibleError
from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import ResolvedRequest, Source, valid_cluster_id
from pgaudit_archiver.naming import (
    delivery_stream_name,
    destination_name,
    execution_name,
    source_destination_role_name,
    source_log_group,
    source_tags,
)
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.adopt import decide as adoption_decide
from pgaudit_archiver.steps.auto_onboard import Decision, decide, source_of_event
from pgaudit_archiver.steps.delivery_stream import archive_prefix, ensure_delivery_stream
from pgaudit_archiver.steps.destination import destination_arn, ensure_destination
from pgaudit_archiver.steps.destination_role import ensure_destination_role
from pgaudit_archiver.steps.extension import ensure_extension
from pgaudit_archiver.steps.log_export import enable_log_export
from pgaudit_archiver.steps.offboard import plan_offboarding, remove_subscription_filter, restore_cluster
from pgaudit_archiver.steps.parameter_group import configure_parameter_group
from pgaudit_archiver.steps.reboot import advance_reboot
from pgaudit_archiver.steps.reconcile import find_drift, reconcile_source
from pgaudit_archiver.steps.subscription_filter import ensure_subscription_filter
from pgaudit_archiver.steps.validate import parse_request, validate
from tests.unit.fakes import (
    ACCOUNT,
    REGION,
    FakeArchiveLogs,
    FakeFirehose,
    FakeIam,
    FakeLogs,
    FakeRds,
    FakeRdsData,
    FakeRegistry,
    FakeRoleHolders,
    FakeStepFunctions,
    owner_secrets,
    stack_settings,
)

INSTANCE = Source(account_id=ACCOUNT, region=REGION, cluster_id="orders", kind=DatabaseKind.DB_INSTANCE)
CLUSTER = Source(account_id=ACCOUNT, region=REGION, cluster_id="orders")
MULTI_AZ = Source(account_id=ACCOUNT, region=REGION, cluster_id="orders", kind=DatabaseKind.MULTI_AZ_CLUSTER)
INSTANCE_GROUP = "/aws/rds/instance/orders/postgresql"
CLUSTER_GROUP = "/aws/rds/cluster/orders/postgresql"
DESTINATION = f"arn:aws:logs:{REGION}:123456789012:destination:pgaudit-{ACCOUNT}-orders"


# ------------------------------------------------------------------------------------------------------- naming
def test_naming_aurora_cluster_keeps_every_name_and_prefix_it_had() -> None:
    # The names every Aurora source got before DB instances were supported: no migration of archived data.
    assert delivery_stream_name(CLUSTER) == destination_name(CLUSTER) == f"pgaudit-{ACCOUNT}-orders"
    assert archive_prefix(CLUSTER) == f"pgaudit/account={ACCOUNT}/region={REGION}/cluster=orders/"
    assert source_key(CLUSTER) == f"{ACCOUNT}#{REGION}#orders"
    assert execution_name(CLUSTER, "abcd1234") == f"{ACCOUNT}-orders-abcd1234"
    assert source_log_group(CLUSTER) == CLUSTER_GROUP


def test_naming_multi_az_cluster_shares_the_db_cluster_namespace() -> None:
    # RDS refuses a second DB cluster named like the first, whichever its kind: the same names are the same cluster.
    assert delivery_stream_name(MULTI_AZ) == delivery_stream_name(CLUSTER)
    assert source_log_group(MULTI_AZ) == CLUSTER_GROUP


def test_naming_instance_named_like_a_cluster_shares_no_name_with_it() -> None:
    names = (
        delivery_stream_name, destination_name, source_destination_role_name, archive_prefix, source_key,
        source_log_group, lambda source: execution_name(source, "abcd1234"),
        lambda source: source_tags(source)["pgaudit-archiver:source-cluster"],
    )  # fmt: skip
    for name in names:
        assert name(INSTANCE) != name(CLUSTER)
    assert delivery_stream_name(INSTANCE) == f"pgaudit-{ACCOUNT}-instance--orders"
    assert archive_prefix(INSTANCE) == f"pgaudit/account={ACCOUNT}/region={REGION}/cluster=instance--orders/"
    assert source_log_group(INSTANCE) == INSTANCE_GROUP


def test_naming_no_cluster_identifier_can_take_an_instance_key() -> None:
    # "instance--orders" is no DB cluster identifier: RDS identifiers never hold two consecutive hyphens.
    with pytest.raises(ValueError, match="cannot contain '--'"):
        valid_cluster_id("instance--orders")
    assert Source.from_key(ACCOUNT, REGION, INSTANCE.key) == INSTANCE
    assert Source.from_key(ACCOUNT, REGION, CLUSTER.key) == CLUSTER


def test_registry_item_without_kind_is_an_aurora_cluster() -> None:
    item = {"account_id": ACCOUNT, "region": REGION, "cluster_id": "orders"}
    assert source_of_item(item) == CLUSTER
    assert source_of_item({**item, "kind": "db-instance"}) == INSTANCE


def test_kinds_family_naming_per_engine() -> None:
    assert kind_of(DatabaseKind.AURORA_CLUSTER).family("16.4") == "aurora-postgresql16"
    assert kind_of(DatabaseKind.MULTI_AZ_CLUSTER).family("16.4") == "postgres16"
    assert kind_of(DatabaseKind.DB_INSTANCE).family("15.7") == "postgres15"


# ----------------------------------------------------------------------------------------------------- validate
def logs_with(group: str) -> Callable[[Source], FakeLogs]:
    logs = FakeLogs()
    logs.add_group(group)
    return lambda source: logs


def test_validate_instance_request_reads_the_db_instance() -> None:
    rds = FakeRds()
    rds.add_instance("orders")
    raw = {"account_id": ACCOUNT, "region": REGION, "instance_id": "Orders"}

    result = validate(raw, 0, stack_settings(), lambda source: rds, logs_with(INSTANCE_GROUP))

    assert result.request.source == INSTANCE
    assert (result.cluster.kind, result.cluster.parameter_group) == (DatabaseKind.DB_INSTANCE, "default.postgres16")
    assert result.cluster.resource_id == "db-ORDERS"
    assert [(m.instance_id, m.is_writer) for m in result.cluster.members] == [("orders", True)]
    assert rds.mutations == []


def test_validate_cluster_request_reads_its_kind_from_the_engine() -> None:
    rds = FakeRds()
    rds.add_multi_az_cluster("orders")
    raw = {"account_id": ACCOUNT, "region": REGION, "cluster_id": "orders"}

    result = validate(raw, 0, stack_settings(), lambda source: rds, logs_with(CLUSTER_GROUP))

    assert result.request.kind == result.cluster.kind == DatabaseKind.MULTI_AZ_CLUSTER
    assert result.cluster.family == "postgres16"


@pytest.mark.parametrize(
    ("setup", "raw_id", "message"),
    [
        (lambda rds: rds.add_instance("orders", engine="mysql"), "instance_id", "engine is mysql, not postgres"),
        (lambda rds: rds.add_cluster("orders", engine="aurora-mysql"), "cluster_id", "engine is aurora-mysql"),
        (lambda rds: None, "instance_id", "no DB instance named orders exists"),
        (lambda rds: rds.add_cluster("db", instances=1), "instance_id", "member of DB cluster db"),
    ],
)
def test_validate_refuses_what_is_not_a_postgresql_database_of_its_kind(
    setup: Callable[[FakeRds], Any], raw_id: str, message: str
) -> None:
    rds = FakeRds()
    setup(rds)
    database = "db-1" if "member" in message else "orders"
    raw = {"account_id": ACCOUNT, "region": REGION, raw_id: database}
    with pytest.raises(ClusterNotEligibleError, match=message):
        validate(raw, 0, stack_settings(), lambda source: rds, logs_with(INSTANCE_GROUP))


def test_validate_instance_without_the_owners_tag_changes_nothing() -> None:
    rds = FakeRds()
    rds.add_instance("orders", consent=False)
    raw = {"account_id": ACCOUNT, "region": REGION, "instance_id": "orders"}
    with pytest.raises(ClusterNotEligibleError, match="arn:aws:rds:eu-west-1:111122223333:db:orders is not tagged"):
        validate(raw, 0, stack_settings(), lambda source: rds, logs_with(INSTANCE_GROUP))
    assert rds.mutations == []


# -------------------------------------------------------------------------------------------- onboarding steps
def onboard_request(source: Source, **options: Any) -> ResolvedRequest:
    field = "instance_id" if source.kind is DatabaseKind.DB_INSTANCE else "cluster_id"
    raw = {"account_id": ACCOUNT, "region": REGION, field: source.cluster_id, **options}
    return parse_request(raw, stack_settings()).model_copy(update={"kind": source.kind})


def test_parameter_group_instance_gets_a_db_parameter_group_of_the_postgres_family() -> None:
    rds = FakeRds()
    rds.add_instance("orders")
    request = onboard_request(INSTANCE)

    result = configure_parameter_group(rds, request, rds.database(INSTANCE))  # type: ignore[arg-type]

    assert rds.instance_groups["pgaudit-orders"]["family"] == "postgres16"
    assert rds.instance_groups["pgaudit-orders"]["parameters"] == {
        "shared_preload_libraries": "pgaudit",
        "pgaudit.log": "ddl,role,write",
    }
    assert "pgaudit-orders" not in rds.groups  # no DB cluster parameter group for a DB instance
    assert "ModifyDBInstance orders group=pgaudit-orders" in rds.mutations
    assert (result.original_parameter_group, result.pending_reboot) == ("default.postgres16", ("orders",))


def test_parameter_group_instance_copies_its_owners_group_and_leaves_it_as_it_was() -> None:
    rds = FakeRds()
    rds.add_instance_group("owners", {"shared_preload_libraries": "pg_stat_statements", "work_mem": "64MB"})
    rds.add_instance("orders", group="owners")

    configure_parameter_group(rds, onboard_request(INSTANCE), rds.database(INSTANCE))  # type: ignore[arg-type]

    assert (
        rds.instance_groups["pgaudit-orders"]["parameters"]["shared_preload_libraries"] == "pg_stat_statements,pgaudit"
    )
    assert rds.instance_groups["pgaudit-orders"]["parameters"]["work_mem"] == "64MB"
    assert rds.instance_groups["owners"]["parameters"]["shared_preload_libraries"] == "pg_stat_statements"


def test_parameter_group_multi_az_gets_a_db_cluster_parameter_group_of_the_postgres_family() -> None:
    rds = FakeRds()
    rds.add_multi_az_cluster("orders")

    result = configure_parameter_group(rds, onboard_request(MULTI_AZ), rds.database(MULTI_AZ))  # type: ignore[arg-type]

    assert rds.groups["pgaudit-orders"]["family"] == "postgres16"
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == "pgaudit-orders"
    assert result.pending_reboot == ("orders-1", "orders-2", "orders-3")


@pytest.mark.parametrize("source", [INSTANCE, MULTI_AZ])
def test_parameter_group_second_run_changes_nothing(source: Source) -> None:
    rds = FakeRds()
    rds.add_instance("orders") if source.kind is DatabaseKind.DB_INSTANCE else rds.add_multi_az_cluster("orders")
    configure_parameter_group(rds, onboard_request(source), rds.database(source))  # type: ignore[arg-type]
    rds.mutations.clear()

    configure_parameter_group(rds, onboard_request(source), rds.database(source))  # type: ignore[arg-type]

    assert rds.mutations == []


def test_reboot_multi_az_cluster_reboots_the_cluster_once_never_its_instances() -> None:
    rds = FakeRds()
    rds.add_multi_az_cluster("orders")
    configure_parameter_group(rds, onboard_request(MULTI_AZ), rds.database(MULTI_AZ))  # type: ignore[arg-type]
    rds.mutations.clear()

    first = advance_reboot(rds, MULTI_AZ, ("orders-1", "orders-2", "orders-3"), (), 0, 5)
    second = advance_reboot(rds, MULTI_AZ, ("orders-1", "orders-2", "orders-3"), first.rebooted, first.polls, 5)

    assert rds.mutations == ["RebootDBCluster orders"]
    assert not first.ready and second.ready
    assert not any(mutation.startswith("RebootDBInstance") for mutation in rds.mutations)


def test_reboot_instance_reboots_it_until_its_db_parameter_group_is_in_sync() -> None:
    rds = FakeRds()
    rds.add_instance("orders")
    configure_parameter_group(rds, onboard_request(INSTANCE), rds.database(INSTANCE))  # type: ignore[arg-type]
    rds.mutations.clear()

    first = advance_reboot(rds, INSTANCE, ("orders",), (), 0, 5)
    second = advance_reboot(rds, INSTANCE, ("orders",), first.rebooted, first.polls, 5)

    assert rds.mutations == ["RebootDBInstance orders"]
    assert second.ready
    assert rds.instances["orders"]["DBParameterGroups"][0]["ParameterApplyStatus"] == "in-sync"


@pytest.mark.parametrize("source", [INSTANCE, MULTI_AZ])
def test_extension_without_the_data_api_is_an_action_with_the_sql_and_how_it_is_verified(source: Source) -> None:
    rds = FakeRds()
    rds.add_instance("orders") if source.kind is DatabaseKind.DB_INSTANCE else rds.add_multi_az_cluster("orders")
    rds_data = FakeRdsData()

    result = ensure_extension(rds_data, owner_secrets(), onboard_request(source), rds.database(source), ())  # type: ignore[arg-type]

    assert result.status == "manual"
    assert result.sql == "CREATE EXTENSION IF NOT EXISTS pgaudit;"
    assert "RDS Data API serves Aurora DB clusters only" in str(result.reason)
    assert "audit records reach the archive" in str(result.verification)
    assert result.record()["verification"] == result.verification
    assert rds_data.statements == []  # never a call the kind cannot answer


@pytest.mark.parametrize(("source", "group", "call"), [
    (INSTANCE, INSTANCE_GROUP, "ModifyDBInstance orders enable=postgresql"),
    (MULTI_AZ, CLUSTER_GROUP, "ModifyDBCluster orders enable=postgresql"),
])  # fmt: skip
def test_log_export_uses_the_kinds_modify_call_and_log_group(source: Source, group: str, call: str) -> None:
    rds = FakeRds()
    rds.add_instance("orders") if source.kind is DatabaseKind.DB_INSTANCE else rds.add_multi_az_cluster("orders")
    logs = FakeLogs()
    logs.add_group(group)

    result = enable_log_export(rds, logs, onboard_request(source), 0, 3)

    assert result.resources["log_group"] == group
    assert rds.mutations == [call]
    assert rds.database(source).exported_log_types == ("postgresql",)  # type: ignore[union-attr]


def test_subscription_filter_on_the_instances_log_group() -> None:
    logs = FakeLogs()
    logs.add_group(INSTANCE_GROUP)
    logs.add_group(CLUSTER_GROUP)
    destination = DESTINATION.replace("-orders", "-instance--orders")

    ensure_subscription_filter(logs, onboard_request(INSTANCE), destination)

    assert [f["destinationArn"] for f in logs.filters[INSTANCE_GROUP]] == [destination]
    assert logs.filters[CLUSTER_GROUP] == []  # a cluster named like the instance is someone else's


# ---------------------------------------------------------------------------------------------------- offboarding
def test_offboarding_plan_for_an_instance_names_it_by_instance_id() -> None:
    registry = FakeRegistry()
    registry.finish(INSTANCE, "active", {}, keep_first={"original": {"parameter_group": "default.postgres16"}})
    raw = {"account_id": ACCOUNT, "region": REGION, "instance_id": "orders", "restore": True}

    plan = plan_offboarding(raw, stack_settings(), registry)

    assert plan.request.source == INSTANCE
    assert plan.original_parameter_group == "default.postgres16"


@pytest.mark.parametrize("source", [INSTANCE, MULTI_AZ])
def test_restore_disables_the_export_reattaches_the_original_and_deletes_ours(source: Source) -> None:
    rds = FakeRds()
    rds.add_instance("orders") if source.kind is DatabaseKind.DB_INSTANCE else rds.add_multi_az_cluster("orders")
    configure_parameter_group(rds, onboard_request(source), rds.database(source))  # type: ignore[arg-type]
    rds.enable_log_export("orders", "postgresql", source.kind)
    store = rds.instance_groups if source.kind is DatabaseKind.DB_INSTANCE else rds.groups

    result = restore_cluster(rds, source, "default.postgres16", (), 0, 10)
    while not result.ready:
        result = restore_cluster(rds, source, "default.postgres16", result.changes, result.polls, 10)

    database = rds.database(source)
    assert database is not None
    assert (database.parameter_group, database.exported_log_types) == ("default.postgres16", ())
    assert "pgaudit-orders" not in store
    modify = "ModifyDBInstance" if source.kind is DatabaseKind.DB_INSTANCE else "ModifyDBCluster"
    assert f"{modify} orders disable=postgresql" in rds.mutations


def test_remove_subscription_filter_of_an_instance_leaves_the_same_named_clusters() -> None:
    logs = FakeLogs()
    logs.add_group(INSTANCE_GROUP)
    logs.add_group(CLUSTER_GROUP)
    settings = stack_settings()
    instance_destination = destination_arn(settings, destination_name(INSTANCE))
    cluster_destination = destination_arn(settings, destination_name(CLUSTER))
    logs.put_subscription_filter(INSTANCE_GROUP, "pgaudit-archiver", "", instance_destination)
    logs.put_subscription_filter(CLUSTER_GROUP, "pgaudit-archiver", "", cluster_destination)

    remove_subscription_filter(logs, settings, INSTANCE)

    assert logs.filters[INSTANCE_GROUP] == []
    assert [f["destinationArn"] for f in logs.filters[CLUSTER_GROUP]] == [cluster_destination]


# ------------------------------------------------------------------------------------------ automatic onboarding
def instance_created(instance_id: str) -> dict[str, Any]:
    # The "RDS DB Instance Event" RDS-EVENT-0005, "DB instance created" (RDS event categories and messages).
    return {
        "source": "aws.rds", "detail-type": "RDS DB Instance Event", "account": ACCOUNT, "region": REGION,
        "detail": {"EventID": "RDS-EVENT-0005", "SourceIdentifier": instance_id,
                   "SourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{instance_id}"},
    }  # fmt: skip


def auto_onboard(rds: FakeRds, event: dict[str, Any]) -> tuple[Decision, FakeStepFunctions]:
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    service = ClusterService(registry, stepfunctions, "arn:aws:states:eu-west-1:123456789012:stateMachine:onboard",
                             "", ())  # fmt: skip
    return decide(event, "tagged", REGION, lambda source: rds, registry, service), stepfunctions


def test_auto_onboard_a_consented_new_instance_starts_its_onboarding_by_instance_id() -> None:
    rds = FakeRds()
    rds.add_instance("orders")

    decision, stepfunctions = auto_onboard(rds, instance_created("orders"))

    assert (decision.action, decision.source) == ("started", INSTANCE)
    [started] = stepfunctions.executions.values()
    assert started["input"] == {"account_id": ACCOUNT, "region": REGION, "instance_id": "orders"}


def test_auto_onboard_skips_a_new_member_of_a_cluster_and_an_instance_without_consent() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=1)
    rds.add_instance("hr", consent=False)

    member, _ = auto_onboard(rds, instance_created("orders-1"))
    unconsented, stepfunctions = auto_onboard(rds, instance_created("hr"))

    assert (member.action, member.reason) == ("skipped", "a member of DB cluster orders, onboarded with it")
    assert unconsented.action == "skipped" and "not tagged pgaudit-archiver=enabled" in unconsented.reason
    assert stepfunctions.executions == {}


def test_auto_onboard_a_tag_change_on_a_db_instance_names_the_instance() -> None:
    event = {"source": "aws.tag", "account": ACCOUNT, "region": REGION,
             "resources": [f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders"],
             "detail": {"service": "rds", "resource-type": "db"}}  # fmt: skip
    assert source_of_event(event) == INSTANCE


def test_adoption_decides_multi_az_clusters_like_aurora_ones_and_skips_other_engines() -> None:
    rds = FakeRds()
    rds.add_multi_az_cluster("orders")
    rds.add_cluster("shop", engine="aurora-mysql", engine_version="8.0")
    registry = FakeRegistry()

    onboard = adoption_decide(cluster_facts(rds.clusters["orders"]), "tagged", registry, MULTI_AZ)
    other = adoption_decide(cluster_facts(rds.clusters["shop"]), "tagged", registry, CLUSTER)

    assert onboard is None
    assert other == "engine aurora-mysql is not aurora-postgresql or postgres"


# ------------------------------------------------------------------------------------------------ reconciliation
def onboarded_instance() -> tuple[FakeRds, FakeLogs, FakeArchiveLogs, FakeFirehose, FakeIam, FakeRegistry]:
    """What the onboarding workflow does for the DB instance `orders`, step by step."""
    rds, logs, archive_logs, iam = FakeRds(), FakeLogs(), FakeArchiveLogs(), FakeIam()
    firehose, registry, settings = FakeFirehose(creating_polls=0), FakeRegistry(), stack_settings()
    rds.add_instance("orders")
    logs.add_group(INSTANCE_GROUP)
    request = onboard_request(INSTANCE)
    stream = ensure_delivery_stream(firehose, settings, INSTANCE, 1).resources["delivery_stream_arn"]
    role = ensure_destination_role(iam, FakeRoleHolders(), settings, INSTANCE, stream).resources["destination_role_arn"]
    destination = ensure_destination(archive_logs, settings, INSTANCE, stream, role, False)
    configure_parameter_group(rds, request, rds.database(INSTANCE))  # type: ignore[arg-type]
    rds.reboot_instance("orders")
    enable_log_export(rds, logs, request, 0, 3)
    ensure_subscription_filter(logs, request, destination.resources["destination_arn"])
    registry.finish(INSTANCE, "active", {"request": request.model_dump(mode="json")})
    return rds, logs, archive_logs, firehose, iam, registry


def test_reconcile_an_onboarded_instance_finds_no_drift_then_its_export_off_and_repairs_by_instance_id() -> None:
    rds, logs, archive_logs, firehose, iam, registry = onboarded_instance()
    stepfunctions = FakeStepFunctions()
    service = ClusterService(registry, stepfunctions, "arn:aws:states:::stateMachine:onboard", "", ())

    def find(source: Source, request: dict[str, Any], full: bool = True) -> list[Any]:
        return find_drift(source, request, stack_settings(), rds, logs, archive_logs, firehose, iam, full)

    [item] = registry.items.values()
    assert find(source_of_item(item), item["request"]) == []
    rds.disable_log_export("orders", "postgresql", DatabaseKind.DB_INSTANCE)  # the owner turns it off

    result = reconcile_source(source_of_item(item), stack_settings(), registry, service, find, True)

    assert [drift.kind for drift in result.drift] == ["log-export-off"]
    [started] = stepfunctions.executions.values()
    assert started["input"]["instance_id"] == "orders" and "cluster_id" not in started["input"]
