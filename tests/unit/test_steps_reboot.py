"""Reboot Instances against an in-memory RDS: one at a time, readers first, until every member is in sync."""

import pytest

from pgaudit_archiver.errors import ClusterNotEligibleError, WaitTimeoutError
from pgaudit_archiver.models import RebootResult
from pgaudit_archiver.steps.reboot import advance_reboot, writer_reboots_readers
from tests.unit.fakes import SOURCE, FakeRds


def pending_cluster(instances: int = 3, engine_version: str = "16.4") -> FakeRds:
    rds = FakeRds()
    rds.add_cluster("orders", instances=instances, engine_version=engine_version)
    rds.attach_parameter_group("orders", "pgaudit-orders")  # every member now waits for a reboot
    rds.mutations.clear()
    return rds


def run_to_end(rds: FakeRds, max_polls: int = 10, result: RebootResult | None = None) -> RebootResult:
    expected = tuple(rds.instances)
    result = result or advance_reboot(rds, SOURCE, expected, (), 0, max_polls)
    while not result.ready:
        result = advance_reboot(rds, SOURCE, expected, result.rebooted, result.polls, max_polls)
    return result


def test_advance_reboot_reboots_readers_before_the_writer_one_per_call() -> None:
    rds = pending_cluster()

    first = advance_reboot(rds, SOURCE, ("orders-1", "orders-2", "orders-3"), (), 0, 10)

    assert first.changes == ("rebooted orders-2",)  # orders-1 is the writer
    assert not first.ready
    done = run_to_end(rds, result=first)
    assert done.ready
    assert done.rebooted == ("orders-2", "orders-3", "orders-1")
    assert rds.mutations == ["RebootDBInstance orders-2", "RebootDBInstance orders-3", "RebootDBInstance orders-1"]


def test_advance_reboot_waits_while_an_instance_is_rebooting() -> None:
    rds = pending_cluster(instances=2)
    rds.instances["orders-2"]["DBInstanceStatus"] = "rebooting"

    result = advance_reboot(rds, SOURCE, ("orders-1", "orders-2"), (), 0, 10)

    assert (result.ready, result.changes, result.polls) == (False, (), 1)
    assert rds.mutations == []


def test_advance_reboot_second_call_after_the_last_reboot_changes_nothing() -> None:
    rds = pending_cluster(instances=2)
    done = run_to_end(rds)
    rds.mutations.clear()

    again = advance_reboot(rds, SOURCE, ("orders-1", "orders-2"), done.rebooted, done.polls, 10)

    assert again.ready and again.changes == ()
    assert rds.mutations == []


def test_advance_reboot_stuck_instance_times_out_naming_it() -> None:
    rds = pending_cluster(instances=2)
    rds.instances["orders-2"]["DBInstanceStatus"] = "rebooting"
    with pytest.raises(WaitTimeoutError, match="instances orders-2 did not finish rebooting within 2 polls"):
        advance_reboot(rds, SOURCE, ("orders-1", "orders-2"), (), 2, 2)


def test_advance_reboot_missing_cluster_names_it() -> None:
    with pytest.raises(ClusterNotEligibleError, match="the cluster orders disappeared while rebooting"):
        advance_reboot(FakeRds(), SOURCE, (), (), 0, 10)


@pytest.mark.parametrize("version", ["11.21", "12.13", "13.9", "14.6", "13.7"])
def test_advance_reboot_old_version_reboots_only_the_writer_which_takes_the_readers(version: str) -> None:
    rds = pending_cluster(engine_version=version)

    first = advance_reboot(rds, SOURCE, ("orders-1", "orders-2", "orders-3"), (), 0, 10)
    done = run_to_end(rds, result=first)

    assert first.changes == (
        f"rebooted orders-1, the writer; on Aurora PostgreSQL {version} its readers orders-2, orders-3 reboot with it",
    )
    assert rds.mutations == ["RebootDBInstance orders-1"]
    assert sorted(rds.reboots) == ["orders-1", "orders-2", "orders-3"]  # each exactly once
    assert done.ready


@pytest.mark.parametrize("version", ["12.14", "13.10", "14.7", "15.2", "16.4", "17.4"])
def test_advance_reboot_newer_version_reboots_each_instance_once_readers_first(version: str) -> None:
    rds = pending_cluster(engine_version=version)

    run_to_end(rds)

    assert rds.reboots == ["orders-2", "orders-3", "orders-1"]


def test_advance_reboot_instance_whose_status_does_not_clear_stops_after_a_bounded_number_of_reboots() -> None:
    rds = pending_cluster(instances=2)
    rds.stuck.add("orders-2")

    with pytest.raises(WaitTimeoutError, match="instance orders-2 still waits for a reboot after 2 reboots") as raised:
        run_to_end(rds, max_polls=50)

    assert rds.reboots.count("orders-2") == 2
    assert "reboot it yourself" in str(raised.value.remedy)


def test_writer_reboots_readers_follows_the_aurora_user_guide() -> None:
    old = ["10.21", "11.9", "11.21", "12.4", "12.13", "13.9", "14.6", "14.3"]
    new = ["12.14", "12.22", "13.10", "14.7", "15.2", "15.4", "16.1", "17.4", "unknown"]
    assert [version for version in old + new if writer_reboots_readers(version)] == old
