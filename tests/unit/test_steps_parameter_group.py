"""Configure Parameter Group against an in-memory RDS: pgaudit in a group of the cluster's own."""

from typing import Any

import pytest

from pgaudit_archiver.aws.rds import cluster_facts
from pgaudit_archiver.errors import ClusterNotEligibleError, ResourceConflictError
from pgaudit_archiver.models import ParameterGroupResult
from pgaudit_archiver.steps.parameter_group import configure_parameter_group, with_library
from tests.unit.fakes import DEFAULT_GROUP, FakeRds, resolved

OURS = "pgaudit-orders"


def configure(rds: FakeRds, **options: Any) -> ParameterGroupResult:
    return configure_parameter_group(rds, resolved(**options), cluster_facts(rds.clusters["orders"], 1))


def test_configure_default_group_creates_our_group_from_the_family_and_attaches_it() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2)

    result = configure(rds)

    assert result.changes == (
        f"created parameter group {OURS} because {DEFAULT_GROUP} cannot be modified",
        f"attached {OURS} to orders",
        f"shared_preload_libraries = pgaudit in {OURS}",
        f"pgaudit.log = ddl,role,write in {OURS}",
    )
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == OURS
    assert rds.groups[OURS]["parameters"] == {"shared_preload_libraries": "pgaudit", "pgaudit.log": "ddl,role,write"}
    assert result.original_parameter_group == DEFAULT_GROUP
    assert result.pending_reboot == ("orders-1", "orders-2")
    assert rds.groups[DEFAULT_GROUP]["parameters"] == {}  # the default group is never modified


def test_configure_custom_group_is_copied_with_its_settings_and_left_as_it_was() -> None:
    rds = FakeRds()
    rds.add_group("owners", {"shared_preload_libraries": "pg_stat_statements", "work_mem": "64MB"})
    rds.add_cluster("orders", group="owners")

    result = configure(rds, pgaudit_log="all")

    assert result.changes[0] == f"created parameter group {OURS} because owners stays as its owner set it"
    assert rds.groups[OURS]["parameters"] == {
        "shared_preload_libraries": "pg_stat_statements,pgaudit",
        "work_mem": "64MB",
        "pgaudit.log": "all",
    }
    assert rds.groups["owners"]["parameters"]["shared_preload_libraries"] == "pg_stat_statements"
    assert result.original_shared_preload_libraries == "pg_stat_statements"
    assert "based on owners" in rds.groups[OURS]["description"]


def test_configure_second_call_changes_nothing() -> None:
    rds = FakeRds()
    rds.add_cluster("orders")
    configure(rds)
    for instance in rds.instances:
        rds.reboot_instance(instance)
    rds.mutations.clear()

    again = configure(rds)

    assert again.changes == ()
    assert rds.mutations == []
    assert again.pending_reboot == ()
    assert not again.reboot_required


def test_configure_rerun_before_the_reboot_still_reports_the_reboot_pending() -> None:
    rds = FakeRds()
    rds.add_cluster("orders")
    configure(rds)

    again = configure(rds)

    assert again.changes == ()
    assert again.pending_reboot == ("orders-1",)


def test_configure_group_with_our_name_not_made_by_us_is_a_conflict_naming_it() -> None:
    rds = FakeRds()
    rds.add_group(OURS, description="someone else's")
    rds.add_cluster("orders")

    with pytest.raises(ResourceConflictError, match=f"parameter group {OURS} exists and was not made by") as raised:
        configure(rds)
    assert raised.value.remedy == f"rename or delete {OURS}, or attach it to orders yourself"
    assert rds.mutations == []


def test_configure_changed_pgaudit_log_is_set_without_a_reboot() -> None:
    rds = FakeRds()
    rds.add_cluster("orders")
    configure(rds)
    rds.reboot_instance("orders-1")

    again = configure(rds, pgaudit_log="ddl,read")

    assert again.changes == (f"pgaudit.log = ddl,read in {OURS}",)
    assert again.pending_reboot == ()


def test_with_library_keeps_every_library_in_order() -> None:
    assert with_library("pg_stat_statements, auto_explain") == "pg_stat_statements,auto_explain,pgaudit"
    assert with_library("pgaudit,pg_cron") == "pgaudit,pg_cron"
    assert with_library(None) == "pgaudit"


def test_configure_instance_group_without_pgaudit_preloaded_stops_before_any_change_naming_it() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2)
    rds.set_instance_group("orders-2", "owners-instance", {"shared_preload_libraries": "pg_stat_statements"})

    with pytest.raises(ClusterNotEligibleError) as raised:
        configure(rds)

    assert str(raised.value).startswith(
        "DB parameter group owners-instance of instance orders-2 sets shared_preload_libraries to "
        "'pg_stat_statements', which takes precedence over the cluster parameter group. pgaudit-archiver does not "
        "modify parameter groups it did not create, and changed nothing in the source account"
    )
    assert raised.value.remedy == (
        "the group's owner can, in owners-instance, reset shared_preload_libraries so that the instance takes the "
        "cluster's value (aws rds reset-db-parameter-group --db-parameter-group-name owners-instance --parameters "
        "ParameterName=shared_preload_libraries,ApplyMethod=pending-reboot) or set it to a list that includes pgaudit "
        "yourself; then onboard again"
    )
    assert rds.mutations == []
    assert rds.instance_groups["owners-instance"]["parameters"] == {"shared_preload_libraries": "pg_stat_statements"}


def test_configure_instance_group_with_other_pgaudit_log_stops_naming_the_requested_classes() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2)
    rds.set_instance_group("orders-1", "writer-group", {"pgaudit.log": "none"})

    with pytest.raises(ClusterNotEligibleError, match=r"writer-group of instance orders-1 sets pgaudit\.log to 'none'"):
        configure(rds, pgaudit_log="ddl,write")

    assert rds.mutations == []


def test_configure_instance_group_agreeing_with_the_request_is_no_obstacle() -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2)
    rds.set_instance_group(
        "orders-2", "owners-instance", {"shared_preload_libraries": "pg_stat_statements,pgaudit", "pgaudit.log": "ALL"}
    )

    result = configure(rds, pgaudit_log="all")

    assert result.parameter_group == OURS
    assert rds.db_parameter_reads == ["owners-instance"]  # default groups set nothing: not read


@pytest.mark.parametrize(
    ("instance_value", "requested"), [("write,ddl", "ddl,write"), ("all", "ddl,function,misc,read,role,write")]
)
def test_configure_instance_group_auditing_the_same_classes_in_other_words_is_no_obstacle(
    instance_value: str, requested: str
) -> None:
    rds = FakeRds()
    rds.add_cluster("orders", instances=2)
    rds.set_instance_group("orders-2", "owners-instance", {"pgaudit.log": instance_value})

    assert configure(rds, pgaudit_log=requested).parameter_group == OURS


def test_configure_after_a_major_upgrade_makes_a_group_of_the_new_family_with_the_owners_settings() -> None:
    # Onboarded on 16 from the owner's custom group, then upgraded by the owner to 17 with 17's default group.
    rds = FakeRds()
    rds.add_cluster("orders", instances=2, group="owners")
    rds.add_group("owners", {"work_mem": "64MB", "old_only": "1"})
    configure(rds)
    rds.upgrade("orders", "17.2", "default.aurora-postgresql17")
    rds.unknown_parameters["aurora-postgresql17"] = {"old_only"}

    result = configure(rds)

    new = "pgaudit-orders-aurora-postgresql17"
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == new
    assert rds.groups[new]["family"] == "aurora-postgresql17"
    assert rds.groups[new]["parameters"] == {
        "work_mem": "64MB", "shared_preload_libraries": "pgaudit", "pgaudit.log": "ddl,role,write",
    }  # fmt: skip
    assert f"carried 1 setting(s) of {OURS} into {new} (old_only not in aurora-postgresql17: left out)" in (
        result.changes
    )
    assert result.pending_reboot == ("orders-1", "orders-2")
    assert rds.groups[OURS]["family"] == "aurora-postgresql16"  # the old family's group is left as it was


def test_configure_after_a_major_upgrade_to_the_owners_group_copies_that_group() -> None:
    rds = FakeRds()
    rds.add_cluster("orders")
    configure(rds)
    rds.add_group("owners-17", {"work_mem": "1GB"}, family="aurora-postgresql17")
    rds.upgrade("orders", "17.2", "owners-17")

    configure(rds)

    new = "pgaudit-orders-aurora-postgresql17"
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == new
    assert rds.groups[new]["parameters"]["work_mem"] == "1GB"
    assert rds.groups["owners-17"]["parameters"] == {"work_mem": "1GB"}


def test_configure_a_minor_upgrade_changes_nothing() -> None:
    rds = FakeRds()
    rds.add_cluster("orders")
    configure(rds)
    rds.clusters["orders"]["EngineVersion"] = "16.6"
    for member in rds.clusters["orders"]["DBClusterMembers"]:
        member["DBClusterParameterGroupStatus"] = "in-sync"
    rds.mutations.clear()

    result = configure(rds)

    assert result.changes == () and rds.mutations == []
