"""Enable Log Export against in-memory RDS and CloudWatch Logs: the owner's log group's retention, then the export."""

import pytest

from pgaudit_archiver.errors import ClusterNotEligibleError, WaitTimeoutError
from pgaudit_archiver.steps.log_export import enable_log_export
from tests.unit.fakes import FakeLogs, FakeRds, resolved

GROUP = "/aws/rds/cluster/orders/postgresql"


def world() -> tuple[FakeRds, FakeLogs]:
    rds, logs = FakeRds(), FakeLogs()
    rds.add_cluster("orders")
    logs.add_group(GROUP, retention=1)  # the owner created it with their consent (consent.py)
    return rds, logs


def test_enable_log_export_raises_the_retention_before_the_export() -> None:
    rds, logs = world()

    result = enable_log_export(rds, logs, resolved(log_retention_days=90), 0, 3)

    assert result.changes == (
        f"retention of {GROUP} = 90 days",
        "enabled the postgresql log export of orders",
    )
    assert logs.groups[GROUP]["retentionInDays"] == 90
    assert rds.clusters["orders"]["EnabledCloudwatchLogsExports"] == ["postgresql"]


def test_enable_log_export_second_call_changes_nothing() -> None:
    rds, logs = world()
    enable_log_export(rds, logs, resolved(), 0, 3)
    rds.mutations.clear()
    logs.mutations.clear()

    again = enable_log_export(rds, logs, resolved(), 0, 3)

    assert again.ready and again.changes == ()
    assert rds.mutations == [] and logs.mutations == []


@pytest.mark.parametrize("existing", [None, 365])
def test_enable_log_export_never_lowers_a_longer_retention(existing: int | None) -> None:
    rds, logs = world()
    logs.add_group(GROUP, retention=existing)

    result = enable_log_export(rds, logs, resolved(log_retention_days=30), 0, 3)

    assert logs.groups[GROUP].get("retentionInDays") == existing
    assert not any("retention" in change for change in result.changes)


def test_enable_log_export_shorter_retention_is_raised() -> None:
    rds, logs = world()
    logs.add_group(GROUP, retention=7)
    result = enable_log_export(rds, logs, resolved(log_retention_days=30), 0, 3)
    assert result.changes[0] == f"retention of {GROUP} = 30 days"


def test_enable_log_export_waits_while_the_cluster_is_modifying_then_times_out() -> None:
    rds, logs = world()
    rds.clusters["orders"]["Status"] = "modifying"

    waiting = enable_log_export(rds, logs, resolved(), 0, 2)
    assert (waiting.ready, waiting.polls) == (False, 1)
    assert rds.clusters["orders"]["EnabledCloudwatchLogsExports"] == []
    with pytest.raises(WaitTimeoutError, match="the cluster stayed modifying for 2 polls"):
        enable_log_export(rds, logs, resolved(), 2, 2)


def test_enable_log_export_missing_cluster_names_it() -> None:
    _, logs = world()
    with pytest.raises(ClusterNotEligibleError, match="the cluster orders disappeared during onboarding"):
        enable_log_export(FakeRds(), logs, resolved(), 0, 3)


def test_enable_log_export_never_creates_the_owners_log_group() -> None:
    rds = FakeRds()
    rds.add_cluster("orders")
    logs = FakeLogs()

    with pytest.raises(ClusterNotEligibleError, match=f"the log group {GROUP} was deleted during onboarding"):
        enable_log_export(rds, logs, resolved(), 0, 3)

    assert logs.mutations == [] and rds.mutations == []
