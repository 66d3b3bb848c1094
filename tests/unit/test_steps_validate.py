"""Validate Request / Check Cluster Status against an in-memory RDS."""

from collections.abc import Callable

import pytest

from pgaudit_archiver.errors import ClusterNotEligibleError, InvalidRequestError, WaitTimeoutError
from pgaudit_archiver.models import Source
from pgaudit_archiver.steps.validate import validate
from tests.unit.fakes import ACCOUNT, FakeLogs, FakeRds, stack_settings

REQUEST = {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "Orders"}


GROUP = "/aws/rds/cluster/orders/postgresql"


def rds_for(rds: FakeRds) -> Callable[[Source], FakeRds]:
    def source_rds(source: Source) -> FakeRds:
        assert source == Source(account_id=ACCOUNT, region="eu-west-1", cluster_id="orders")
        return rds

    return source_rds


def consented_logs() -> Callable[[Source], FakeLogs]:
    logs = FakeLogs()
    logs.add_group(GROUP)
    return lambda source: logs


def test_validate_available_cluster_gives_the_request_with_defaults_and_its_facts() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2, data_api=True)

    result = validate(REQUEST, 0, stack_settings(), rds_for(rds), consented_logs())

    assert result.request.cluster_id == "orders"
    assert (result.request.pgaudit_log, result.request.reboot) == ("ddl,role,write", "deferred")
    assert result.cluster.ready and result.cluster.http_endpoint_enabled
    assert [m.instance_id for m in result.cluster.members if m.is_writer] == ["orders-1"]
    assert result.workflow.max_polls == 3
    assert rds.mutations == []


def test_validate_bad_fields_are_each_named_and_nothing_is_called() -> None:
    rds = FakeRds()
    with pytest.raises(InvalidRequestError) as raised:
        validate({**REQUEST, "account_id": "123", "colour": "red"}, 0, stack_settings(), rds_for(rds), consented_logs())
    assert "account_id has an invalid format ('123')" in str(raised.value)
    assert "colour is not a known field" in str(raised.value)


def test_validate_other_region_says_which_stack_to_use() -> None:
    with pytest.raises(InvalidRequestError, match="start the onboarding in the pgaudit-archiver stack deployed in us"):
        validate({**REQUEST, "region": "us-east-1"}, 0, stack_settings(), rds_for(FakeRds()), consented_logs())


def test_validate_missing_cluster_names_cluster_account_and_region() -> None:
    with pytest.raises(ClusterNotEligibleError) as raised:
        validate(REQUEST, 0, stack_settings(), rds_for(FakeRds()), consented_logs())
    assert "no DB cluster named orders exists in account 111122223333, region eu-west-1" in str(raised.value)
    assert raised.value.aws_error_code == "DBClusterNotFoundFault"


@pytest.mark.parametrize(
    ("engine", "status", "message"),
    [("aurora-mysql", "available", "engine is aurora-mysql"), ("aurora-postgresql", "stopped", "cluster is stopped")],
)
def test_validate_ineligible_cluster_says_why(engine: str, status: str, message: str) -> None:
    rds = FakeRds()
    rds.add_cluster("orders", engine=engine, status=status)
    with pytest.raises(ClusterNotEligibleError, match=message):
        validate(REQUEST, 0, stack_settings(), rds_for(rds), consented_logs())


def test_validate_busy_cluster_is_polled_then_times_out() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", status="modifying")

    first = validate(REQUEST, 0, stack_settings(), rds_for(rds), consented_logs())
    assert (first.cluster.ready, first.cluster.polls) == (False, 1)
    with pytest.raises(WaitTimeoutError, match="the cluster stayed modifying for 3 polls"):
        validate(REQUEST, 3, stack_settings(), rds_for(rds), consented_logs())


def test_validate_instance_group_overriding_pgaudit_stops_before_any_step_runs() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2, data_api=True)
    rds.set_instance_group("orders-2", "owners-reader-group", {"shared_preload_libraries": "pg_stat_statements"})

    with pytest.raises(ClusterNotEligibleError, match="owners-reader-group of instance orders-2"):
        validate(REQUEST, 0, stack_settings(), rds_for(rds), consented_logs())
    assert rds.mutations == []


@pytest.mark.parametrize(
    ("cluster_consent", "log_group", "missing", "command"),
    [
        (False, "consented", "is not tagged pgaudit-archiver=enabled", "aws rds add-tags-to-resource --resource-name "
         f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:orders --tags Key=pgaudit-archiver,Value=enabled"),
        (True, "absent", f"log group {GROUP} does not exist", f"aws logs create-log-group --region eu-west-1 "
         f"--log-group-name {GROUP} --tags pgaudit-archiver=enabled"),
        (True, "unmarked", f"log group {GROUP} is not tagged", f"aws logs tag-resource --resource-arn "
         f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:{GROUP} --tags pgaudit-archiver=enabled"),
    ],
)  # fmt: skip
def test_validate_without_the_owners_consent_changes_nothing_and_names_the_command(
    cluster_consent: bool, log_group: str, missing: str, command: str
) -> None:
    rds, logs = FakeRds(), FakeLogs()
    rds.add_cluster("orders", consent=cluster_consent, tags={"pgaudit-archiver:managed": "true"})
    if log_group != "absent":
        logs.add_group(GROUP, consent=log_group == "consented")

    with pytest.raises(ClusterNotEligibleError) as raised:
        validate(REQUEST, 0, stack_settings(), rds_for(rds), lambda source: logs)

    assert "the owner has not consented" in str(raised.value) and missing in str(raised.value)
    assert command in str(raised.value)
    assert rds.mutations == [] and logs.mutations == []


def test_validate_consent_is_the_value_enabled_only() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", consent=False, tags={"pgaudit-archiver": "Enabled"})

    with pytest.raises(ClusterNotEligibleError, match="not tagged pgaudit-archiver=enabled"):
        validate(REQUEST, 0, stack_settings(), rds_for(rds), consented_logs())


def test_validate_immediate_reboot_needs_the_owners_tag_on_each_instance() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2)
    rds.instances["orders-2"]["TagList"] = []

    with pytest.raises(ClusterNotEligibleError) as raised:
        validate({**REQUEST, "reboot": "immediate"}, 0, stack_settings(), rds_for(rds), consented_logs())

    assert f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:orders-2" in str(raised.value)
    assert "orders-1" not in str(raised.value) and rds.mutations == []
    assert validate(REQUEST, 0, stack_settings(), rds_for(rds), consented_logs()).request.reboot == "deferred"
